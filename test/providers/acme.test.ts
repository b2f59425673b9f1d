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
import { liveCertificates, liveCommand } from "../../providers/proxy/nginx-component";
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
import {
  ACME_PATHS,
  acmeEnv,
  acmeFiles,
  rfc2136Credentials,
} from "../../providers/ssl/acme-component";
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
    (raw.providers as any).proxy = { use: "ingress" };
    (raw.services as any).mail = {
      image: "example/mail:1.0",
      needs: { ssl: { domain: "*.mail.psf.test" } },
    };
    const issues = issuesOf(raw);
    const paths = issues.map((i) => i.path).sort();
    assert.deepEqual(paths, [
      // ingress itself needs the kubernetes target: its own issue, beside acme's three.
      "providers.proxy.use",
      "providers.ssl.challenge",
      "providers.ssl.use",
      "services.mail.needs.ssl",
    ]);
    assert.match(issues.find((i) => i.path === "providers.ssl.use")!.message, /ingress/);
    assert.match(
      issues.find((i) => i.path === "providers.ssl.challenge")!.message,
      /\*\.mail\.psf\.test/,
    );
    for (const i of issues) assert.ok(i.hint);
  });

  it("refuses the kubernetes target, where certbot and nginx could not share volumes", () => {
    const issues = issuesOf(
      stackConfig({}, { target: { kind: "kubernetes", namespace: "psf" } } as any),
    );
    const acmeIssue = issues.find((i) => i.path === "providers.ssl.use");
    assert.ok(acmeIssue, JSON.stringify(issues));
    assert.match(acmeIssue.hint!, /cert-manager/);
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

// ---------------------------------------------------------------- nginx -t over live files

describe("nginx config over acme's live files, checked by the real nginx (nginx -t)", function () {
  let dir: string;
  before(function () {
    for (const p of ["nginx", "openssl"]) requireProgram(this, p);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-acme-t-"));
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  it("accepts the placeholders the client writes before the first issuance, and refuses a key that does not match", () => {
    const plan = planned(stackConfig());
    const { certificates, byRequester } = acmeCertificates(plan.ssl, plan.settings, ZONE);
    const root = path.join(dir, "live");
    const live = liveCertificates(plan.routes, root, (r) =>
      acmeFiles(byRequester[`nginx:${r}`], plan.settings.challenge),
    );
    // The volume as the client leaves it on its first pass: placeholders (the CA is not asked yet).
    const script = path.join(dir, "run.sh");
    fs.writeFileSync(script, ACME_SCRIPT);
    fs.writeFileSync(
      path.join(dir, "certificates"),
      certificates.map((c) => `${c.name} ${c.domains.join(",")}\n`).join(""),
    );
    const env = acmeEnv(plan.settings, "https://127.0.0.1:9/unreachable", {
      ...ACME_PATHS,
      certs: path.join(dir, "certificates"),
      config: path.join(dir, "state"),
      work: path.join(dir, "work"),
      live: path.join(root, "acme-live"),
      webroot: path.join(dir, "challenges"),
    });
    const first = spawnSync("sh", [script], {
      env: { ...process.env, ...env, PSF_ACME_ONCE: "1" },
      encoding: "utf8",
    });
    assert.equal(first.status, 2, `fresh placeholders, the CA not asked yet: ${first.stderr}`);
    const paths: NginxPaths = {
      config: path.join(dir, "nginx.conf"),
      certDir: path.join(dir, "certs"),
      pid: path.join(dir, "nginx.pid"),
      acmeRoot: path.join(dir, "challenges"),
      errorLog: path.join(dir, "error.log"),
      accessLog: path.join(dir, "access.log"),
      tempDir: path.join(dir, "tmp"),
    };
    const settings = {
      ...(check({}, nginx.settings, "providers.proxy", []) as NginxSettings),
      resolver: "127.0.0.11",
    };
    const conf = renderNginxConfig(plan.routes, settings, {
      paths,
      listen: { address: "127.0.0.1", http: 8081, https: 8444, health: 8082 },
      user: "root",
      version: localNginxVersion(),
      certFiles: live.certFiles,
    });
    fs.writeFileSync(paths.config, conf);
    fs.mkdirSync(paths.tempDir!);
    assert.match(conf, new RegExp(`ssl_certificate ${root}/acme-live/whoami\\.psf\\.test\\.crt;`));
    const nginxT = () =>
      spawnSync("nginx", ["-t", "-p", dir, "-e", paths.errorLog, "-c", paths.config], {
        encoding: "utf8",
      });
    const ok = nginxT();
    assert.equal(ok.status, 0, ok.stderr);
    // Half a renewal (the new key beside the old certificate): the watcher's test refuses it.
    fs.copyFileSync(live.certFiles["blog.psf.test"].key, live.certFiles["whoami.psf.test"].key);
    const bad = nginxT();
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /key values mismatch|KEY_VALUES_MISMATCH/);
  });
});

// ---------------------------------------------------------------- the real programs

/** The installed nginx's version, so the config uses syntax it knows. */
function localNginxVersion(): string {
  const out = spawnSync("nginx", ["-v"], { encoding: "utf8" });
  return /nginx\/([0-9.]+)/.exec(out.stderr)?.[1] ?? "1.22.0";
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

/** The certificate served for `host`, verified against `rootPem` (Pebble's root); throws when it does not verify. */
function servedCertificate(port: number, host: string, rootPem: string) {
  return new Promise<tls.PeerCertificate>((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, servername: host, ca: rootPem }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.on("error", reject);
  });
}

/** Polls until `f` resolves truthy; the last error says why not. */
async function eventually<T>(
  what: string,
  seconds: number,
  f: () => Promise<T | undefined>,
  log: () => string,
): Promise<T> {
  let last: unknown;
  for (const end = Date.now() + seconds * 1000; Date.now() < end;) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(500);
  }
  throw new Error(`${what} within ${seconds} s (last: ${String(last)})\n${log()}`);
}

/** A process we started, with its output in a file. */
function started(cmd: string, args: string[], env: NodeJS.ProcessEnv, logFile: string) {
  const out = fs.openSync(logFile, "a");
  const child: ChildProcess = spawn(cmd, args, { env, stdio: ["ignore", out, out] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    child,
    log: () => fs.readFileSync(logFile, "utf8"),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const t = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

describe("acme with the real certbot, Pebble as the CA, BIND and nginx", function () {
  this.timeout(300_000);
  let dir: string;
  let bind: TestBind;
  let pebble: TestPebble;
  let httpPort: number;
  const running: Array<{ stop(): Promise<void> }> = [];

  before(async function () {
    for (const p of ["certbot", "named", "dig", "nginx", "openssl"]) requireProgram(this, p);
    if (!fs.existsSync(PEBBLE)) {
      const reason = `SKIPPED: Pebble is not built (${PEBBLE}; bash scripts/pebble.sh builds it)`;
      if (process.env.PSF_REQUIRE_PEBBLE === "1") throw new Error(reason);
      console.warn(`  ${reason}`);
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-acme-"));
    httpPort = await freePort();
    bind = await startBind(path.join(dir, "bind"), ZONE);
    // Certificates live an hour: a client told to renew within 3590 s renews ~10 s after issuance.
    pebble = await startPebble(path.join(dir, "pebble"), {
      dnsPort: bind.port,
      httpPort,
      validitySeconds: 3600,
    });
  });

  after(async () => {
    for (const r of running.reverse()) await r.stop();
    await pebble?.stop();
    await bind?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The client loop as its workload runs it, on host paths, against Pebble. */
  function client(
    name: string,
    settings: AcmeSettings,
    certificates: Array<{ name: string; domains: string[] }>,
    over: Record<string, string> = {},
  ) {
    const base = path.join(dir, name);
    const paths = {
      ...ACME_PATHS,
      script: path.join(base, "run.sh"),
      certs: path.join(base, "certificates"),
      credentials: path.join(base, "rfc2136.ini"),
      ca: path.join(base, "ca.pem"),
      config: path.join(base, "state"),
      work: path.join(base, "work"),
      live: path.join(base, "live"),
      webroot: path.join(base, "challenges"),
    };
    fs.mkdirSync(base, { recursive: true });
    fs.writeFileSync(paths.script, ACME_SCRIPT, { mode: 0o755 });
    fs.writeFileSync(
      paths.certs,
      certificates.map((c) => `${c.name} ${c.domains.join(",")}\n`).join(""),
    );
    fs.writeFileSync(paths.ca, pebble.tlsCaPem);
    if (settings.dns)
      fs.writeFileSync(paths.credentials, rfc2136Credentials(settings.dns, bind.secret), {
        mode: 0o600,
      });
    const env = {
      ...process.env,
      ...acmeEnv({ ...settings, caPem: pebble.tlsCaPem }, pebble.directoryUrl, paths),
      PSF_ACME_INTERVAL: "2",
      PSF_ACME_SETTLE: "2",
      ...over,
    };
    let runs = 0;
    return {
      paths,
      run: (more: Record<string, string> = {}) => {
        const log = path.join(base, `client-${++runs}.log`);
        const p = started("sh", [paths.script], { ...env, ...more }, log);
        running.push(p);
        return p;
      },
      once: (more: Record<string, string> = {}) =>
        spawnSync("sh", [paths.script], {
          env: { ...env, ...more, PSF_ACME_ONCE: "1" },
          encoding: "utf8",
        }),
    };
  }

  /** nginx on loopback over the live files, behind the watcher its container runs. */
  async function startNginx(
    name: string,
    routes: Record<string, ProxyRoute>,
    live: string,
    webroot: string,
    files: (host: string) => string,
    http = httpPort,
  ) {
    const base = path.join(dir, name);
    const paths: NginxPaths = {
      config: path.join(base, "nginx.conf"),
      certDir: path.join(base, "certs"),
      pid: path.join(base, "nginx.pid"),
      acmeRoot: webroot,
      errorLog: path.join(base, "error.log"),
      accessLog: path.join(base, "access.log"),
      tempDir: path.join(base, "tmp"),
    };
    fs.mkdirSync(paths.tempDir!, { recursive: true });
    const httpsPort = await freePort();
    const settings: NginxSettings = {
      ...(check({}, nginx.settings, "providers.proxy", []) as NginxSettings),
      httpPort: http,
      httpsPort,
      // Upstream names are looked up per request (none is made here), not at start.
      resolver: "127.0.0.1",
    };
    const certFiles = Object.fromEntries(
      Object.values(routes).map((r) => [
        r.host,
        { cert: `${live}/${files(r.host)}.crt`, key: `${live}/${files(r.host)}.key` },
      ]),
    );
    fs.writeFileSync(
      paths.config,
      renderNginxConfig(routes, settings, {
        paths,
        listen: {
          address: "127.0.0.1",
          http,
          https: httpsPort,
          health: await freePort(),
        },
        user: "root",
        version: localNginxVersion(),
        certFiles,
      }),
    );
    const watched = Object.values(certFiles).flatMap((f) => [f.cert, f.key]);
    const cmd = `nginx -p ${base} -e ${paths.errorLog} -c ${paths.config}`;
    const p = started(
      "sh",
      ["-c", liveCommand([...new Set(watched)], cmd, 1)],
      process.env,
      path.join(base, "watcher.log"),
    );
    running.push(p);
    return {
      ...p,
      httpsPort,
      paths,
      log: () =>
        `${p.log()}\n${fs.existsSync(paths.errorLog) ? fs.readFileSync(paths.errorLog, "utf8") : ""}`,
    };
  }

  const serial = (c: tls.PeerCertificate) => c.serialNumber;
  const isPebble = (c: tls.PeerCertificate) => /Pebble/i.test(JSON.stringify(c.issuer));

  let http: {
    client: ReturnType<typeof client>;
    nginx: Awaited<ReturnType<typeof startNginx>>;
    loop: ReturnType<ReturnType<typeof client>["run"]>;
    firstSerial: string;
  };

  it("HTTP-01: nginx starts on the placeholder, serves the challenge, then serves Pebble's certificate", async () => {
    const plan = planned(stackConfig({ directoryUrl: pebble.directoryUrl }));
    const { certificates } = acmeCertificates(plan.ssl, plan.settings, ZONE);
    assert.deepEqual(
      certificates.map((c) => c.name),
      ["blog.psf.test", "whoami.psf.test"],
    );
    const c = client("http01", plan.settings, certificates, { PSF_ACME_RENEW_BEFORE: "60" });
    const loop = c.run();
    const ng = await startNginx(
      "nginx-http01",
      plan.routes,
      c.paths.live,
      c.paths.webroot,
      (h) => h,
    );
    const log = () =>
      `client:\n${loop.log()}\nnginx:\n${ng.log()}\npebble:\n${pebble.log().slice(-3000)}`;
    // The placeholder first (self-signed: it does not verify against Pebble's root).
    const placeholder = await eventually(
      "nginx serves the placeholder",
      30,
      async () => {
        const s = tls.connect({
          host: "127.0.0.1",
          port: ng.httpsPort,
          servername: "whoami.psf.test",
          rejectUnauthorized: false,
        });
        return await new Promise<tls.PeerCertificate>((res, rej) => {
          s.once("secureConnect", () => {
            const x = s.getPeerCertificate();
            s.end();
            res(x);
          });
          s.once("error", rej);
        });
      },
      log,
    );
    assert.equal(placeholder.subject.CN, "whoami.psf.test");
    const served = await eventually(
      "nginx serves a certificate from Pebble",
      90,
      async () => {
        const x = await servedCertificate(ng.httpsPort, "whoami.psf.test", pebble.rootPem);
        return isPebble(x) ? x : undefined;
      },
      log,
    );
    assert.match(served.subjectaltname ?? "", /DNS:whoami\.psf\.test/);
    const blog = await eventually(
      "blog's certificate",
      30,
      async () => {
        const x = await servedCertificate(ng.httpsPort, "blog.psf.test", pebble.rootPem);
        return isPebble(x) ? x : undefined;
      },
      log,
    );
    assert.match(blog.subjectaltname ?? "", /DNS:blog\.psf\.test/);
    assert.match(loop.log(), /placeholder certificate until the first is issued/);
    // Plain HTTP still redirects; challenges were served before the redirect.
    const redirect = await httpCall({
      host: "127.0.0.1",
      port: httpPort,
      path: "/x",
      headers: { host: "whoami.psf.test" },
    } as any);
    assert.equal(redirect.status, 301);
    assert.match(
      fs.readFileSync(ng.paths.accessLog, "utf8"),
      /GET \/\.well-known\/acme-challenge\/\S+ HTTP\/1\.1" 200/,
    );
    http = { client: c, nginx: ng, loop, firstSerial: serial(served) };
  });

  it("renews a certificate near expiry while running; the same nginx process serves the new one", async function () {
    if (!http) this.skip();
    const pid = Number(fs.readFileSync(http.nginx.paths.pid, "utf8"));
    assert.equal(
      pid,
      http.nginx.child.pid,
      "the watcher execs nginx: the started process is its master",
    );
    await http.loop.stop();
    // Certificates live an hour: within 3590 s of expiry, ten seconds after issuance.
    const loop = http.client.run({ PSF_ACME_RENEW_BEFORE: "3590" });
    const log = () => `client:\n${loop.log()}\nnginx:\n${http.nginx.log()}`;
    const renewed = await eventually(
      "nginx serves a renewed certificate",
      90,
      async () => {
        const x = await servedCertificate(http.nginx.httpsPort, "whoami.psf.test", pebble.rootPem);
        return isPebble(x) && serial(x) !== http.firstSerial ? x : undefined;
      },
      log,
    );
    assert.match(renewed.subjectaltname ?? "", /DNS:whoami\.psf\.test/);
    assert.match(loop.log(), /whoami\.psf\.test: issuing \(expires within 3590 s\)/);
    // Reloaded, not restarted: the same master process, still running.
    assert.equal(http.nginx.child.exitCode, null);
    assert.equal(Number(fs.readFileSync(http.nginx.paths.pid, "utf8")), pid);
    assert.match(http.nginx.log(), /certificate files changed; reloaded/);
    await loop.stop();
  });

  it("a second run keeps the account and the certificates it has", async function () {
    if (!http) this.skip();
    const accounts = () => {
      const server = path.join(http.client.paths.config, "accounts");
      return spawnSync("find", [server, "-name", "regr.json"], { encoding: "utf8" })
        .stdout.split("\n")
        .filter(Boolean);
    };
    const before = accounts();
    assert.equal(before.length, 1, "one account registered");
    const crt = path.join(http.client.paths.live, "whoami.psf.test.crt");
    const served = fs.readFileSync(crt, "utf8");
    const archived = fs.readdirSync(
      path.join(http.client.paths.config, "archive", "whoami.psf.test"),
    );
    const out = http.client.once({ PSF_ACME_RENEW_BEFORE: "60" });
    assert.equal(out.status, 0, `${out.stdout}${out.stderr}`);
    assert.doesNotMatch(out.stderr, /issuing/);
    assert.deepEqual(accounts(), before, "the same account, no new registration");
    assert.equal(fs.readFileSync(crt, "utf8"), served, "the same certificate");
    assert.deepEqual(
      fs.readdirSync(path.join(http.client.paths.config, "archive", "whoami.psf.test")),
      archived,
    );
  });

  it("backs off after failures: the retry doubles, capped by the interval", async () => {
    const certificates = [{ name: "down.psf.test", domains: ["down.psf.test"] }];
    const c = client("backoff", acmeSettings({ challenge: "dns-01" }), certificates, {
      PSF_ACME_SERVER: "https://127.0.0.1:9/dir",
      PSF_ACME_RETRY: "1",
      PSF_ACME_INTERVAL: "3",
    });
    const loop = c.run();
    await eventually(
      "three failures",
      60,
      async () => (loop.log().match(/next try in/g)?.length ?? 0) >= 3,
      loop.log,
    );
    await loop.stop();
    assert.deepEqual(
      loop
        .log()
        .match(/next try in \d+ s/g)!
        .slice(0, 3),
      ["next try in 1 s", "next try in 2 s", "next try in 3 s"],
    );
    assert.match(loop.log(), /down\.psf\.test: issuance failed/);
  });

  it("DNS-01 over RFC 2136 to BIND: one wildcard certificate serves every route", async () => {
    const plan = planned(
      stackConfig(
        {
          directoryUrl: pebble.directoryUrl,
          challenge: "dns-01",
          wildcard: true,
          dns: {
            nameserver: "127.0.0.1",
            port: bind.port,
            tsigKeyName: bind.keyName,
            tsigAlgorithm: bind.algorithm,
            tsigSecret: "tsig",
            propagationSeconds: 0,
          },
        },
        { secrets: { tsig: new SecureValue(bind.secret) } } as any,
      ),
    );
    const { certificates, byRequester } = acmeCertificates(plan.ssl, plan.settings, ZONE);
    assert.deepEqual(certificates, [
      { name: "wildcard.psf.test", domains: ["*.psf.test", "psf.test"] },
    ]);
    const c = client("dns01", plan.settings, certificates, { PSF_ACME_RENEW_BEFORE: "60" });
    const loop = c.run();
    const ng = await startNginx(
      "nginx-dns01",
      plan.routes,
      c.paths.live,
      c.paths.webroot,
      (h) =>
        byRequester[
          Object.keys(plan.routes)
            .map((r) => `nginx:${r}`)
            .find((r) => plan.ssl[r].domain === h)!
        ],
      // Its own HTTP port: the HTTP-01 nginx keeps Pebble's.
      await freePort(),
    );
    const log = () =>
      `client:\n${loop.log()}\nnginx:\n${ng.log()}\npebble:\n${pebble.log().slice(-3000)}`;
    for (const host of ["whoami.psf.test", "blog.psf.test"]) {
      const x = await eventually(
        `nginx serves Pebble's wildcard for ${host}`,
        90,
        async () => {
          const y = await servedCertificate(ng.httpsPort, host, pebble.rootPem);
          return isPebble(y) ? y : undefined;
        },
        log,
      );
      assert.match(x.subjectaltname ?? "", /DNS:\*\.psf\.test/);
    }
    // certbot cleaned its TXT records up from the zone.
    assert.deepEqual(bind.txt("_acme-challenge.psf.test"), []);
    assert.match(loop.log(), /wildcard\.psf\.test: serving the certificate/);
  });
});
