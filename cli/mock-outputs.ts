import { secretValue } from "./secret-value";

/**
 * Plausible values for the computed outputs our own code reads back (generated passwords,
 * keys, image ids), shared by `psf plan` and the unit tests so both see the same program.
 * Values derive from the resource name: evaluating twice gives the same result. Secrets are
 * in their wire form, which any mock monitor resolves into secret Outputs: the plan engine
 * takes them as they are, with no Output to create and serialize per resource.
 */
export function computedOutputs(type: string, name: string): Record<string, unknown> {
  if (type === "random:index/randomPassword:RandomPassword")
    return { result: secretValue(`mock-password-${name}`) };
  if (type === "random:index/randomString:RandomString") return { result: `mock-string-${name}` };
  if (type === "random:index/randomBytes:RandomBytes") {
    const bytes = Buffer.alloc(16, Buffer.from(name));
    return { base64: bytes.toString("base64"), hex: bytes.toString("hex") };
  }
  if (type.startsWith("tls:"))
    return {
      privateKeyPem: secretValue(
        `-----BEGIN PRIVATE KEY-----\nmock-${name}\n-----END PRIVATE KEY-----\n`,
      ),
      privateKeyPemPkcs8: secretValue(
        `-----BEGIN PRIVATE KEY-----\nmock-${name}\n-----END PRIVATE KEY-----\n`,
      ),
      publicKeyPem: `-----BEGIN PUBLIC KEY-----\nmock-${name}\n-----END PUBLIC KEY-----\n`,
      certPem: `-----BEGIN CERTIFICATE-----\nmock-${name}\n-----END CERTIFICATE-----\n`,
      certRequestPem: `-----BEGIN CERTIFICATE REQUEST-----\nmock-${name}\n-----END CERTIFICATE REQUEST-----\n`,
    };
  if (type === "docker:index/remoteImage:RemoteImage") return { imageId: `sha256:mock-${name}` };
  return {};
}
