import { execFileSync } from "child_process";
import { generateKeyPairSync, randomBytes, randomInt } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { isSecretValue, mask } from "../../cli/mock-engine";

/**
 * Real values for the computed outputs of random, tls and docker image resources, made on this
 * machine (Node's crypto, the openssl CLI, the Docker engine), so the program's rendered files
 * hold real keys, certificates and image ids. Stands in for the plugins the module proxy
 * refuses (docs/toolchain.md); the containers, configs and programs they feed are the real ones.
 */
export function localOutputs(
  type: string,
  _name: string,
  rawInputs: Record<string, unknown>,
): Record<string, unknown> {
  const inputs = mask(rawInputs, true) as Record<string, any>;
  switch (type) {
    case "random:index/randomPassword:RandomPassword": {
      const alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" +
        (inputs.special ? (inputs.overrideSpecial ?? "-_") : "");
      const value = Array.from(
        { length: inputs.length ?? 16 },
        () => alphabet[randomInt(alphabet.length)],
      ).join("");
      return { result: pulumi.secret(value) };
    }
    case "random:index/randomBytes:RandomBytes": {
      const b = randomBytes(inputs.length ?? 16);
      return { base64: pulumi.secret(b.toString("base64")), hex: pulumi.secret(b.toString("hex")) };
    }
    case "tls:index/privateKey:PrivateKey": {
      const { privateKey, publicKey } =
        inputs.algorithm === "RSA"
          ? generateKeyPairSync("rsa", { modulusLength: inputs.rsaBits ?? 2048 })
          : generateKeyPairSync("ec", { namedCurve: "prime256v1" });
      const pem = privateKey
        .export({ type: inputs.algorithm === "RSA" ? "pkcs1" : "sec1", format: "pem" })
        .toString();
      return {
        privateKeyPem: pulumi.secret(pem),
        privateKeyPemPkcs8: pulumi.secret(
          privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
        ),
        publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
      };
    }
    case "tls:index/selfSignedCert:SelfSignedCert":
      return {
        certPem: openssl(inputs, (f) => [
          "req",
          "-x509",
          "-new",
          "-key",
          f.key,
          "-subj",
          subject(inputs.subject),
          "-days",
          days(inputs),
          "-addext",
          "basicConstraints=critical,CA:TRUE",
          "-addext",
          "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
        ]),
      };
    case "tls:index/certRequest:CertRequest":
      return {
        certRequestPem: openssl(inputs, (f) => [
          "req",
          "-new",
          "-key",
          f.key,
          "-subj",
          subject(inputs.subject),
          "-addext",
          `subjectAltName=${(inputs.dnsNames ?? []).map((d: string) => `DNS:${d}`).join(",")}`,
        ]),
      };
    case "tls:index/locallySignedCert:LocallySignedCert":
      return {
        certPem: openssl(inputs, (f) => [
          "x509",
          "-req",
          "-in",
          f.csr,
          "-CA",
          f.ca,
          "-CAkey",
          f.caKey,
          "-set_serial",
          String(randomInt(1, 2 ** 31)),
          "-days",
          days(inputs),
          "-copy_extensions",
          "copy",
          "-extfile",
          f.ext,
        ]),
      };
    case "docker:index/remoteImage:RemoteImage":
      return {
        imageId: execFileSync("docker", ["image", "inspect", "--format", "{{.Id}}", inputs.name], {
          encoding: "utf8",
        }).trim(),
      };
    default:
      return {};
  }
}

const subject = (s: { commonName?: string; organization?: string } = {}) =>
  `/${[s.commonName && `CN=${s.commonName}`, s.organization && `O=${s.organization}`].filter(Boolean).join("/")}`;
const days = (i: { validityPeriodHours?: number }) =>
  String(Math.max(1, Math.ceil((i.validityPeriodHours ?? 24) / 24)));

/** Runs openssl with the inputs' PEMs in files; returns what it prints. */
function openssl(
  inputs: Record<string, any>,
  args: (f: Record<string, string>) => string[],
): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-tls-"));
  const put = (name: string, content: unknown) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, String(isSecretValue(content) ? content.value : (content ?? "")), {
      mode: 0o600,
    });
    return file;
  };
  const files = {
    key: put("key.pem", inputs.privateKeyPem),
    csr: put("csr.pem", inputs.certRequestPem),
    ca: put("ca.pem", inputs.caCertPem),
    caKey: put("ca-key.pem", inputs.caPrivateKeyPem),
    ext: put(
      "ext.cnf",
      "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    ),
  };
  try {
    return execFileSync("openssl", args(files), {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
