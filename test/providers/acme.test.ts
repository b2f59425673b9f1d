import { strict as assert } from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tls from "tls";
import { evaluate, mask } from "../../cli/mock-engine";
import { RawConfig } from "../../components/config";
import { runProgram, validateConfig } from "../../components/program";
import { SecureValue, check } from "../../components/validate/schema";
import { registry } from "../../providers";
import { ProxyRoute } from "../../providers/proxy/contract";
import { NginxSettings, nginx } from "../../providers/proxy/nginx";
import { liveCommand } from "../../providers/proxy/nginx-component";
import { NginxPaths, renderNginxConfig } from "../../providers/proxy/nginx-config";
import { SslRequest } from "../../providers/ssl/contract";
import {
  AcmeSettings,
  LETS_ENCRYPT,
  LETS_ENCRYPT_STAGING,
  acme,
  acmeCertificates,
  directoryUrl,
} from "../../providers/ssl/acme";
import { ACME_PATHS, acmeEnv, rfc2136Credentials } from "../../providers/ssl/acme-component";
import { ACME_SCRIPT } from "../../providers/ssl/acme-script";
import { freePort, httpCall } from "../contracts/proxy";
import { PEBBLE, TestBind, TestPebble, startBind, startPebble } from "../support/acme";
import { requireProgram } from "../support/real";

const ZONE = "psf.test";

/** A stack with the acme provider in front of nginx; `ssl` overrides its settings. */
function stackConfig(ssl: Record<string, unknown> = {}, extra: Partial<RawConfig> = {}): RawConfig {
  return {
    environment: "development",
    domain: ZONE,
    providers: {
      ssl: { use: "acme", email: "admin@psf.test", ...ssl },
      proxy: { use: "nginx" },
    },
    services: {
      whoami: { image: "example/whoami:1.0", port: 80, needs: { proxy: {} } },
      blog: { image: "example/blog:1.0", port: 2368, needs: { proxy: {} } },
    },
    ...extra,
  } as RawConfig;
}

/** The validated plan's proxy routes and ssl requests (and the issues, which must be none). */
function planned(raw: RawConfig) {
  const { plan, issues } = validateConfig(raw, "test", registry);
  assert.deepEqual(issues, []);
  const of = (c: string) => plan!.providers.find((p) => p.contract === c)!;
  return {
    routes: of("proxy").requests as Record<string, ProxyRoute>,
    ssl: of("ssl").requests as Record<string, SslRequest>,
    settings: of("ssl").settings as AcmeSettings,
  };
}

function acmeSettings(over: Record<string, unknown>): AcmeSettings {
  return check(
    { email: "admin@psf.test", ...over },
    acme.settings,
    "providers.ssl",
    [],
  ) as AcmeSettings;
}

// ---------------------------------------------------------------- validation

describe("acme provider validation", () => {
  const issuesOf = (raw: RawConfig) => validateConfig(raw, "test", registry).issues;

  it("accepts HTTP-01 with Let's Encrypt's defaults and asks nothing of services", () => {
    assert.deepEqual(issuesOf(stackConfig()), []);
  });

  it("reports every problem at once, each with its path and a hint", () => {
    const issues = issuesOf(
      stackConfig({
        wildcard: true,
        staging: true,
        directoryUrl: "https://ca.example.org/directory",
        caPem: "not a pem",
        dns: { nameserver: "ns1.example.org", tsigKeyName: "acme", tsigSecret: "tsig" },
      }),
    );
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i]));
    assert.deepEqual(Object.keys(byPath).sort(), [
      "providers.ssl.caPem",
      "providers.ssl.dns",
      "providers.ssl.dns.nameserver",
      "providers.ssl.dns.tsigSecret",
      "providers.ssl.staging",
      "providers.ssl.wildcard",
    ]);
    for (const i of issues) assert.ok(i.hint, `${i.path} has a hint`);
    assert.match(byPath["providers.ssl.wildcard"].hint!, /challenge: dns-01/);
    assert.match(byPath["providers.ssl.dns.tsigSecret"].hint!, /pulumi config set --secret/);
  });

  it("requires dns with dns-01, and an email", () => {
    assert.deepEqual(
      issuesOf(stackConfig({ challenge: "dns-01" })).map((i) => i.path),
      ["providers.ssl.dns"],
    );
    const raw = stackConfig();
    delete (raw.providers as any).ssl.email;
    assert.deepEqual(
      issuesOf(raw).map((i) => i.path),
      ["providers.ssl.email"],
    );
  });

  it("refuses a wildcard request over http-01, a proxy that cannot serve live files, and a service's own ssl need", () => {
    const raw = stackConfig({}, {});
    (raw.providers as any).proxy = { use: "caddy" };
    (raw.services as any).mail = {
      image: "example/mail:1.0",
      needs: { ssl: { domain: "*.mail.psf.test" } },
    };
    const issues = issuesOf(raw);
    const paths = issues.map((i) => i.path).sort();
    assert.deepEqual(paths, [
      "providers.ssl.challenge",
      "providers.ssl.use",
      "services.mail.needs.ssl",
    ]);
    assert.match(
      issues.find((i) => i.path === "providers.ssl.challenge")!.message,
      /\*\.mail\.psf\.test/,
    );
    for (const i of issues) assert.ok(i.hint);
  });

  it("takes Let's Encrypt's staging CA outside production, unless told", () => {
    const s = acmeSettings({});
    assert.equal(directoryUrl(s, { environment: "development" }), LETS_ENCRYPT_STAGING);
    assert.equal(directoryUrl(s, { environment: "staging" }), LETS_ENCRYPT_STAGING);
    assert.equal(directoryUrl(s, { environment: "production" }), LETS_ENCRYPT);
    assert.equal(
      directoryUrl(acmeSettings({ staging: false }), { environment: "development" }),
      LETS_ENCRYPT,
    );
    assert.equal(
      directoryUrl(acmeSettings({ staging: true }), { environment: "production" }),
      LETS_ENCRYPT_STAGING,
    );
    const own = "https://ca.example.org/acme/directory";
    assert.equal(
      directoryUrl(acmeSettings({ directoryUrl: own }), { environment: "production" }),
      own,
    );
  });

  it("serves the routes under the stack domain from one wildcard with wildcard: true", () => {
    const reqs = {
      "nginx:a": { domain: "a.psf.test", sans: [] },
      "nginx:b": { domain: "b.psf.test", sans: [] },
      "nginx:deep": { domain: "x.y.psf.test", sans: [] },
    };
    const { certificates, byRequester } = acmeCertificates(reqs, { wildcard: true }, ZONE);
    assert.deepEqual(certificates, [
      { name: "wildcard.psf.test", domains: ["*.psf.test", "psf.test"] },
      { name: "x.y.psf.test", domains: ["x.y.psf.test"] },
    ]);
    assert.equal(byRequester["nginx:a"], "wildcard.psf.test");
    assert.equal(byRequester["nginx:b"], "wildcard.psf.test");
    assert.equal(
      acmeCertificates(reqs, { wildcard: false }, ZONE).certificates.length,
      3,
      "one per host without wildcard",
    );
  });
});

// ---------------------------------------------------------------- the planned workloads

describe("acme in a stack (planned resources)", () => {
  const declaredOf = (raw: RawConfig) =>
    evaluate(registry, raw, "test", (r, s) => runProgram(registry, { raw: r, stackName: s }));

  it("runs certbot beside nginx; nginx mounts the live files read-only and watches them", async () => {
    const declared = await declaredOf(stackConfig());
    const container = (name: string) =>
      declared.find((r) => r.type === "docker:index/container:Container" && r.name === name)!;
    const nginxC = container("nginx");
    const acmeC = container("acme");
    assert.ok(nginxC && acmeC, declared.map((r) => `${r.type} ${r.name}`).join("\n"));
    const mounts = (c: typeof nginxC) =>
      (c.inputs.mounts as Array<{ source: string; target: string; readOnly: boolean }>).map(
        (m) => `${m.source} ${m.target}${m.readOnly ? " ro" : ""}`,
      );
    assert.deepEqual(mounts(nginxC), [
      "psf-test-acme-challenges /var/www/acme ro",
      "psf-test-acme-live /etc/nginx/psf/live/acme-live ro",
    ]);
    assert.deepEqual(mounts(acmeC), [
      "psf-test-acme-state /etc/letsencrypt",
      "psf-test-acme-live /var/lib/psf-acme/live",
      "psf-test-acme-challenges /var/www/acme",
    ]);
    // No certificate in nginx's uploads or in the state: the files live in the volume.
    const uploads = nginxC.inputs.uploads as Array<{ file: string; content: string }>;
    assert.deepEqual(
      uploads.map((u) => u.file).filter((f) => f !== "/.psf/probe"),
      ["/etc/nginx/nginx.conf"],
    );
    const conf = uploads.find((u) => u.file === "/etc/nginx/nginx.conf")!.content;
    assert.match(
      conf,
      /ssl_certificate \/etc\/nginx\/psf\/live\/acme-live\/whoami\.psf\.test\.crt;/,
    );
    assert.match(
      conf,
      /ssl_certificate_key \/etc\/nginx\/psf\/live\/acme-live\/blog\.psf\.test\.key;/,
    );
    const entry = (nginxC.inputs.entrypoints as string[]).join(" ");
    assert.match(entry, /^sh -c /);
    assert.match(entry, /nginx -s reload/);
    const acmeUploads = acmeC.inputs.uploads as Array<{ file: string; content: string }>;
    assert.equal(
      acmeUploads.find((u) => u.file === ACME_PATHS.certs)!.content,
      "blog.psf.test blog.psf.test\nwhoami.psf.test whoami.psf.test\n",
    );
    const env = acmeC.inputs.envs as string[];
    assert.ok(env.includes(`PSF_ACME_SERVER=${LETS_ENCRYPT_STAGING}`), env.join("\n"));
    assert.ok(env.includes("PSF_ACME_RENEW_BEFORE=2592000"));
    assert.ok(env.includes("PSF_ACME_INTERVAL=43200"));
  });

  it("keeps the TSIG secret a secret: the credentials file is masked", async () => {
    const raw = stackConfig({
      challenge: "dns-01",
      wildcard: true,
      dns: { nameserver: "192.0.2.53", tsigKeyName: "acme", tsigSecret: "tsig" },
    });
    (raw as any).secrets = { tsig: new SecureValue("c2VjcmV0LXRzaWctdmFsdWU=") };
    const declared = await declaredOf(raw);
    const acmeC = declared.find(
      (r) => r.type === "docker:index/container:Container" && r.name === "acme",
    )!;
    assert.ok(acmeC, declared.map((r) => `${r.type} ${r.name}`).join("\n"));
    const masked = JSON.stringify(mask(acmeC.inputs));
    assert.doesNotMatch(masked, /dns_rfc2136_secret/);
    const uploads = mask(acmeC.inputs.uploads, true) as Array<{
      file: string;
      content: string;
      permissions: string;
    }>;
    const cred = uploads.find((u) => u.file === ACME_PATHS.credentials)!;
    assert.equal(cred.permissions, "0600");
    assert.match(cred.content, /dns_rfc2136_server = 192\.0\.2\.53/);
    assert.match(cred.content, /dns_rfc2136_algorithm = HMAC-SHA256/);
    assert.equal(
      uploads.find((u) => u.file === ACME_PATHS.certs)!.content,
      "wildcard.psf.test *.psf.test,psf.test\n",
    );
  });
});
