import { strict as assert } from "assert";
import { PlannedResource, evaluate, isSecretValue } from "../../cli/mock-engine";
import { RawConfig } from "../../components/config";
import { runProgram } from "../../components/program";
import { registry } from "../../providers";

const raw = (wildcard?: boolean): RawConfig => ({
  environment: "development",
  domain: "example.org",
  providers: {
    ssl: { use: "selfsigned", ...(wildcard === undefined ? {} : { wildcard }) },
    proxy: { use: "nginx" },
  },
  services: {
    blog: { image: "example/blog:1.0", port: 2368, needs: { proxy: {} } },
    notes: { image: "example/notes:1.0", port: 8080, needs: { proxy: {} } },
    mail: { image: "example/mail:1.0", needs: { ssl: { domain: "mail.other.net" } } },
    deep: { image: "example/deep:1.0", needs: { ssl: { domain: "a.b.example.org" } } },
  },
});

const plan = (config: RawConfig) =>
  evaluate(registry, config, "test", (r, s) => runProgram(registry, { raw: r, stackName: s }));
const csrs = (rs: PlannedResource[]) =>
  rs.filter((r) => r.type === "tls:index/certRequest:CertRequest");

describe("selfsigned (ssl)", () => {
  it("serves every service under the stack domain from one wildcard certificate", async () => {
    const requests = csrs(await plan(raw()));
    const names = Object.fromEntries(requests.map((r) => [r.name, r.inputs.dnsNames]));
    assert.deepEqual(names["selfsigned-wildcard-csr"], ["*.example.org", "example.org"]);
    // Hosts that are not one label under the domain get their own certificate.
    assert.deepEqual(names["selfsigned-mail-csr"], ["mail.other.net"]);
    assert.deepEqual(names["selfsigned-deep-csr"], ["a.b.example.org"]);
    assert.equal(requests.length, 3, Object.keys(names).join(", "));
  });

  it("issues one certificate per request with wildcard: false", async () => {
    const requests = csrs(await plan(raw(false)));
    assert.equal(requests.length, 4, requests.map((r) => r.name).join(", "));
    for (const r of requests)
      assert.ok(!(r.inputs.dnsNames as string[]).some((n) => n.startsWith("*")), r.name);
  });

  it("keeps every private key secret wherever it is used", async () => {
    const rs = await plan(raw());
    const signed = rs.filter((r) => r.type === "tls:index/locallySignedCert:LocallySignedCert");
    assert.ok(signed.length > 0);
    for (const r of signed)
      assert.ok(isSecretValue(r.inputs.caPrivateKeyPem), `${r.name}: CA key in plain state`);
    for (const r of csrs(rs))
      assert.ok(isSecretValue(r.inputs.privateKeyPem), `${r.name}: key in plain state`);
  });
});
