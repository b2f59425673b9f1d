import { strict as assert } from "assert";
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import * as dgram from "dgram";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { gunzipSync } from "zlib";
import * as pulumi from "@pulumi/pulumi";
import { evaluate, isSecretValue, mask } from "../../cli/mock-engine";
import { readStackFile } from "../../components/stack-file";
import { ProviderDefinition, ProviderInstance } from "../../components/provider";
import { runProgram, validateConfig } from "../../components/program";
import { Registry } from "../../components/registry";
import { Target } from "../../components/targets/target";
import { check } from "../../components/validate/schema";
import { Workload } from "../../components/workload";
import { registry } from "../../providers";
import { ProxyRoute } from "../../providers/proxy/contract";
import { NginxSettings, nginx } from "../../providers/proxy/nginx";
import type { Nginx } from "../../providers/proxy/nginx-component";
import {
  HEALTH_PATH,
  NginxPaths,
  certFiles,
  renderNginxConfig,
} from "../../providers/proxy/nginx-config";
import {
  ProxyFixture,
  RunningProxy,
  SSO_LOCATION_MARKER,
  SSO_LOGIN_LOCATION,
  TestCa,
  freePort,
  httpCall,
  httpsCall,
  peerCertificate,
  proxyContractSuite,
  startEcho,
  startFakeSso,
  websocketEcho,
} from "../contracts/proxy";
import { isSecret, valueOf } from "../support/mocks";
import { requireProgram } from "../support/real";

// ---------------------------------------------------------------- helpers

/** Settings as a user gets them: the provider's own defaults, then overrides. */
/** The default settings as nginx runs them on Docker, whose embedded DNS is at 127.0.0.11. */
function settingsWith(over: Partial<NginxSettings> = {}): NginxSettings {
  return {
    ...(check({}, nginx.settings, "providers.proxy", []) as NginxSettings),
    resolver: "127.0.0.11",
    ...over,
  };
}

/** The installed nginx's version, so the config uses syntax it knows (`http2 on` is 1.25.1+). */
function localNginxVersion(): string {
  const out = spawnSync("nginx", ["-v"], { encoding: "utf8" });
  return /nginx\/([0-9.]+)/.exec(out.stderr)?.[1] ?? "1.22.0";
}

function tempPaths(dir: string): NginxPaths {
  return {
    config: path.join(dir, "nginx.conf"),
    certDir: path.join(dir, "certs"),
    pid: path.join(dir, "nginx.pid"),
    acmeRoot: path.join(dir, "acme"),
    errorLog: path.join(dir, "error.log"),
    accessLog: path.join(dir, "access.log"),
    tempDir: path.join(dir, "tmp"),
  };
}

interface Rendered {
  dir: string;
  paths: NginxPaths;
  healthPort: number;
}

/** Renders routes into `dir` with their certificates, as the container would have them. */
function renderInto(
  dir: string,
  routes: Record<string, ProxyRoute>,
  settings: NginxSettings,
  certs: (requester: string, host: string) => { certPem: string; keyPem: string },
  listen: { http: number; https: number; health: number },
  sso?: ProxyFixture["sso"],
  version: string | null = localNginxVersion(),
): Rendered {
  const paths = tempPaths(dir);
  for (const d of [paths.certDir, paths.acmeRoot, paths.tempDir!])
    fs.mkdirSync(d, { recursive: true });
  for (const [requester, r] of Object.entries(routes)) {
    const files = certFiles(paths, r.host);
    const c = certs(requester, r.host);
    fs.writeFileSync(files.cert, c.certPem);
    fs.writeFileSync(files.key, c.keyPem, { mode: 0o600 });
  }
  const conf = renderNginxConfig(routes, settings, {
    paths,
    listen: { address: "127.0.0.1", ...listen },
    sso: sso && {
      forwardAuthUrl: sso.forwardAuthUrl,
      portalUrl: sso.portalUrl,
      forwardAuthUrls: sso.forwardAuthUrls,
    },
    ssoSessionCookie: sso?.sessionCookie,
    user: "root",
    version: version ?? undefined,
  });
  fs.writeFileSync(paths.config, conf);
  return { dir, paths, healthPort: listen.health };
}

/** `nginx -t` on a rendered config: the real parser and every file it names. */
function nginxTest(r: Rendered): { ok: boolean; output: string } {
  const res = spawnSync(
    "nginx",
    ["-t", "-p", r.dir, "-e", r.paths.errorLog, "-c", r.paths.config],
    { encoding: "utf8" },
  );
  return { ok: res.status === 0, output: `${res.stdout}${res.stderr}` };
}

/** Starts nginx in the foreground on the rendered config; resolves when its health server answers. */
async function runNginx(r: Rendered): Promise<RunningProxy> {
  const tested = nginxTest(r);
  if (!tested.ok) throw new Error(`nginx -t failed:\n${tested.output}`);
  const child: ChildProcess = spawn(
    "nginx",
    ["-p", r.dir, "-e", r.paths.errorLog, "-c", r.paths.config, "-g", "daemon off;"],
    { stdio: "ignore" },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
  };
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    const up = await httpCall({ host: "127.0.0.1", port: r.healthPort, path: "/psf-health" }).then(
      (x) => x.status === 200,
      () => false,
    );
    if (up) return { stop, health: { port: r.healthPort, path: HEALTH_PATH } };
    await new Promise((res) => setTimeout(res, 100));
  }
  await stop();
  const log = fs.existsSync(r.paths.errorLog) ? fs.readFileSync(r.paths.errorLog, "utf8") : "";
  throw new Error(`nginx did not start:\n${log}`);
}

/** A DNS server that says every name does not exist (NXDOMAIN), on a loopback UDP port. */
async function startNxdomainDns(): Promise<{ port: number; queries: number; stop(): void }> {
  const socket = dgram.createSocket("udp4");
  const state = { port: 0, queries: 0, stop: () => socket.close() };
  socket.on("message", (msg, rinfo) => {
    state.queries++;
    const reply = Buffer.from(msg);
    reply.writeUInt16BE(0x8183, 2); // response, recursion available, NXDOMAIN
    reply.writeUInt16BE(0, 6); // no answers, authority or additional records
    reply.writeUInt16BE(0, 8);
    reply.writeUInt16BE(0, 10);
    socket.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
  state.port = socket.address().port;
  return state;
}

/** The adapter the proxy contract suite drives: nginx on loopback with its defaults. */
function nginxAdapter(over: Partial<NginxSettings> = {}) {
  return {
    program: "nginx",
    start: async (f: ProxyFixture) => {
      const settings = settingsWith({ httpsPort: f.ports.https, resolver: "", ...over });
      const rendered = renderInto(
        f.dir,
        f.routes,
        settings,
        (req) => f.certs[req],
        { ...f.ports, health: await freePort() },
        f.sso,
      );
      return runNginx(rendered);
    },
  };
}

/** An sso provider standing in for authelia: shares the facts nginx reads. */
class StubSso extends pulumi.ComponentResource implements ProviderInstance {
  readonly results = {};
  readonly shared = {
    forwardAuthUrl: pulumi.output("http://authelia:9091/api/authz/auth-request"),
    portalUrl: pulumi.output("https://auth.example.org"),
  };
  constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
    super("psf:test:StubSso", name, {}, opts);
    this.registerOutputs({});
  }
}
const stubSso: ProviderDefinition = {
  contract: "sso",
  name: "stub",
  description: "test stand-in",
  settings: { type: "object", fields: {} },
  create: (name, _args, opts) => new StubSso(name, opts),
};
const testRegistry: Registry = {
  contracts: registry.contracts,
  providers: [...registry.providers, stubSso],
};

const fixture = () =>
  structuredClone(readStackFile(path.join(__dirname, "fixtures", "Pulumi.nginx.yaml")).raw) as any;

function fixtureRoutes(raw = fixture()): Record<string, ProxyRoute> {
  const { plan, issues } = validateConfig(raw, "test", testRegistry);
  assert.deepEqual(issues, []);
  return plan!.providers.find((p) => p.contract === "proxy")!.requests;
}

// ---------------------------------------------------------------- the contract

proxyContractSuite("nginx", nginxAdapter());

// ---------------------------------------------------------------- nginx -t

describe("nginx config accepted by the real nginx (nginx -t)", function () {
  let dir: string;
  let cert: { certPem: string; keyPem: string };
  const sso = {
    forwardAuthUrl: "http://authelia:9091/api/authz/auth-request",
    portalUrl: "https://auth.example.org",
  };
  const listen = { http: 18080, https: 18443, health: 18081 };

  before(function () {
    requireProgram(this, "nginx");
    requireProgram(this, "openssl");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-nginx-t-"));
    cert = new TestCa(path.join(dir, "ca")).issue("example.org");
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  const accepts = (
    name: string,
    routes: Record<string, ProxyRoute>,
    settings: NginxSettings,
    s = sso,
  ) => {
    const r = renderInto(path.join(dir, name), routes, settings, () => cert, listen, s);
    const result = nginxTest(r);
    assert.ok(result.ok, result.output);
  };

  it("accepts the fixture's routes with the default settings", () =>
    accepts("defaults", fixtureRoutes(), settingsWith()));

  it("accepts the config rendered for no particular version (the default) on this nginx too", () => {
    const r = renderInto(
      path.join(dir, "versionless"),
      fixtureRoutes(),
      settingsWith(),
      () => cert,
      listen,
      sso,
      null,
    );
    assert.match(fs.readFileSync(r.paths.config, "utf8"), / ssl http2;/);
    const result = nginxTest(r);
    assert.ok(result.ok, result.output);
  });

  it("accepts a rate limit per route", () =>
    accepts(
      "ratelimit",
      fixtureRoutes(),
      settingsWith({ rateLimit: { requestsPerSecond: 10, burst: 20 } }),
    ));

  it("accepts resolver off, when upstream names resolve at start", () => {
    // Without a resolver nginx resolves names while loading; localhost is one it can.
    const routes = Object.fromEntries(
      Object.entries(fixtureRoutes()).map(([k, r]) => [
        k,
        { ...r, upstream: { ...r.upstream, host: "localhost" } },
      ]),
    );
    accepts("no-resolver", routes, settingsWith({ resolver: "" }), {
      ...sso,
      forwardAuthUrl: "http://localhost:9091/api/verify",
    });
  });

  it("accepts HSTS off, a content security policy with $ and quotes, and no frame options", () =>
    accepts(
      "headers",
      fixtureRoutes(),
      settingsWith({
        hstsMaxAge: 0,
        contentSecurityPolicy: `default-src 'self'; script-src 'nonce-$x' "y"`,
        frameOptions: "off",
      }),
    ));

  it("accepts HSTS with subdomains, gzip off and other public ports", () =>
    accepts(
      "ports",
      fixtureRoutes(),
      settingsWith({ hstsIncludeSubdomains: true, gzip: false, httpPort: 8080, httpsPort: 8443 }),
    ));

  it("accepts a single route without auth, with no SSO known", () => {
    const raw = fixture();
    raw.services = { blog: raw.services.blog };
    delete raw.providers.sso;
    accepts("single", fixtureRoutes(raw), settingsWith(), undefined);
  });

  it("accepts a stack with no routes at all", () =>
    accepts("empty", {}, settingsWith(), undefined));

  it("is checked for real: nginx -t refuses a config with a certificate file missing", () => {
    const r = renderInto(
      path.join(dir, "broken"),
      fixtureRoutes(),
      settingsWith(),
      () => cert,
      listen,
      sso,
    );
    fs.rmSync(certFiles(r.paths, "notes.example.org").cert);
    assert.equal(nginxTest(r).ok, false);
  });
});

// ---------------------------------------------------------------- beyond the contract

describe("nginx beyond the proxy contract, with the real nginx", function () {
  let dir: string;
  let ca: TestCa;
  let echo: Awaited<ReturnType<typeof startEcho>>;
  let sso: Awaited<ReturnType<typeof startFakeSso>>;
  let proxy: RunningProxy | undefined;
  let rendered: Rendered;
  let ports: { http: number; https: number };
  let dns: Awaited<ReturnType<typeof startNxdomainDns>> | undefined;
  const host = (n: string) => `${n}.psf.test`;

  before(async function () {
    requireProgram(this, "nginx");
    requireProgram(this, "openssl");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-nginx-extra-"));
    ca = new TestCa(path.join(dir, "ca"));
    [echo, sso] = await Promise.all([startEcho(), startFakeSso()]);
    ports = { http: await freePort(), https: await freePort() };
    const up = { host: "127.0.0.1", port: echo.port, scheme: "http" as const };
    const base = { auth: "none" as const, websockets: false, extraHeaders: {} };
    const routes: Record<string, ProxyRoute> = {
      open: {
        ...base,
        host: host("open"),
        upstream: up,
        extraHeaders: { "X-Frame-Options": "DENY" },
      },
      down: {
        ...base,
        host: host("down"),
        upstream: { host: "down.invalid", port: 80, scheme: "http" },
      },
      guarded: { ...base, host: host("guarded"), upstream: up, auth: "two_factor" },
    };
    // Upstreams by IP need no lookup; names are looked up per request, here to NXDOMAIN.
    dns = await startNxdomainDns();
    const settings = settingsWith({ httpsPort: ports.https, resolver: `127.0.0.1:${dns.port}` });
    const certs = (_req: string, h: string) => ca.issue(h);
    rendered = renderInto(
      path.join(dir, "nginx"),
      routes,
      settings,
      certs,
      { ...ports, health: await freePort() },
      {
        forwardAuthUrl: sso.forwardAuthUrl,
        portalUrl: "https://auth.psf.test/",
      },
    );
    proxy = await runNginx(rendered);
  });
  after(async () => {
    await proxy?.stop();
    await Promise.all([echo?.stop(), sso?.stop()]);
    dns?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const get = (name: string, p = "/", extra: Record<string, any> = {}) =>
    httpsCall({ host: host(name), port: ports.https, path: p, ...extra }, ca.certPem);

  it("starts and serves while an upstream name does not resolve, answering 502 for that route only", async () => {
    assert.equal(
      (await httpCall({ host: "127.0.0.1", port: rendered.healthPort, path: "/psf-health" }))
        .status,
      200,
    );
    assert.equal((await get("open")).status, 200);
    assert.equal((await get("down")).status, 502);
    assert.ok(
      dns!.queries > 0,
      "the name was looked up at request time, through the resolver setting",
    );
  });

  it("lets a route's extra header replace the security header of the same name, sent once", async () => {
    const r = await get("open");
    assert.equal(r.headers["x-frame-options"], "DENY");
  });

  it("replaces the app's own copy of a header it sets, so each is sent once", async () => {
    const r = await get(
      "open",
      "/?set=Referrer-Policy:unsafe-url&set=X-Content-Type-Options:sniff-me",
    );
    assert.equal(r.headers["referrer-policy"], "strict-origin-when-cross-origin");
    assert.equal(r.headers["x-content-type-options"], "nosniff");
  });

  it("follows the SSO's own login URL when its 401 carries one, with HSTS on the redirect", async () => {
    const r = await get("guarded", `${SSO_LOCATION_MARKER}?x=1`);
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, SSO_LOGIN_LOCATION);
    assert.match(String(r.headers["strict-transport-security"]), /^max-age=31536000$/);
  });

  it("keeps an upgrade request from the app on a route without websockets", async () => {
    const r = await websocketEcho(
      { host: host("open"), port: ports.https, path: "/no-ws" },
      ca.certPem,
      "ping",
    );
    assert.equal(r.upgraded, false);
    assert.equal(r.status, 200);
    const seen = echo.seen.filter((s) => s.url === "/no-ws").at(-1)!;
    assert.equal(seen.headers.upgrade, undefined);
  });

  it("compresses large text responses for clients that accept gzip", async () => {
    const zipped = await get("open", "/big", { headers: { "Accept-Encoding": "gzip" } });
    assert.equal(zipped.headers["content-encoding"], "gzip");
    assert.equal(gunzipSync(zipped.body).toString(), "psf ".repeat(2048));
    const plain = await get("open", "/big");
    assert.equal(plain.headers["content-encoding"], undefined);
    assert.equal(plain.body.toString(), "psf ".repeat(2048));
  });

  it("serves ACME challenges over plain HTTP from the webroot and redirects everything else", async () => {
    const challenge = path.join(rendered.paths.acmeRoot, ".well-known", "acme-challenge");
    fs.mkdirSync(challenge, { recursive: true });
    fs.writeFileSync(path.join(challenge, "token-123"), "token-123.thumbprint");
    const r = await httpCall({
      host: host("open"),
      port: ports.http,
      path: "/.well-known/acme-challenge/token-123",
    });
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), "token-123.thumbprint");
    const missing = await httpCall({
      host: host("open"),
      port: ports.http,
      path: "/.well-known/acme-challenge/nope",
    });
    assert.equal(missing.status, 404);
    const other = await httpCall({
      host: host("open"),
      port: ports.http,
      path: "/.well-known/other",
    });
    assert.equal(other.status, 301);
  });

  it("refuses the TLS handshake for a host it has no route for", async () => {
    await assert.rejects(peerCertificate(ports.https, host("unknown"), ca.certPem));
  });

  it("closes plain HTTP connections for a host it has no route for", async () => {
    await assert.rejects(httpCall({ host: host("unknown"), port: ports.http }));
  });
});

describe("nginx rate limit, with the real nginx", function () {
  let dir: string;
  let echo: Awaited<ReturnType<typeof startEcho>>;
  let proxy: RunningProxy | undefined;
  let ca: TestCa;
  let port: number;

  before(async function () {
    requireProgram(this, "nginx");
    requireProgram(this, "openssl");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-nginx-rl-"));
    ca = new TestCa(path.join(dir, "ca"));
    echo = await startEcho();
    const ports = { http: await freePort(), https: await freePort(), health: await freePort() };
    port = ports.https;
    const routes: Record<string, ProxyRoute> = {
      api: {
        host: "api.psf.test",
        upstream: { host: "127.0.0.1", port: echo.port, scheme: "http" },
        auth: "none",
        websockets: false,
        extraHeaders: {},
      },
    };
    const settings = settingsWith({
      httpsPort: port,
      resolver: "",
      rateLimit: { requestsPerSecond: 1, burst: 2 },
    });
    proxy = await runNginx(renderInto(dir, routes, settings, (_r, h) => ca.issue(h), ports));
  });
  after(async () => {
    await proxy?.stop();
    await echo?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("answers 429 once a client exceeds the rate and its burst", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push((await httpsCall({ host: "api.psf.test", port }, ca.certPem)).status);
    assert.deepEqual(statuses, [200, 200, 200, 429, 429, 429]);
  });
});

// ---------------------------------------------------------------- Pulumi (mocked engine)

describe("nginx provider in a Pulumi program (mocked engine)", () => {
  it("declares one reloadable nginx with the config, each certificate, and each key as a secret 0600 file", async () => {
    const routes = fixtureRoutes();
    let workload: Workload | undefined;
    const images: string[] = [];
    const target: Target = {
      kind: "docker",
      deploy: (w) => {
        workload = w;
        return { address: w.name, resources: [], exec: () => pulumi.output("") };
      },
      address: (n) => n,
      volume: () => {
        throw new Error("not used");
      },
    };
    let instance: Nginx | undefined;
    const settings = settingsWith({ httpsPort: 8443, listenAddress: "192.0.2.10" });
    await evaluate(testRegistry, {}, "test", () => {
      // Through the definition, which loads the class and declares the default image.
      instance = nginx.create(
        "nginx",
        {
          settings,
          requests: routes,
          stack: validateConfig(fixture(), "test", testRegistry).plan!.stack,
          target,
          result: (contract, requester) =>
            contract.name === "ssl"
              ? ({
                  certPem: pulumi.output(`CERT ${requester}\n`),
                  keyPem: pulumi.secret(`KEY ${requester}`),
                  caPem: pulumi.output("CA\n"),
                } as any)
              : undefined,
          shared: (contract) => (contract === "sso" ? new StubSso("sso").shared : undefined),
          // What the framework gives every provider: the proxy's own public URL of a host.
          publicUrl: (host) => nginx.publicUrl!(settings, host),
          configSecret: () => undefined,
          image: (key, fallback) => (
            images.push(`${key}=${fallback}`),
            `registry.local/${fallback}`
          ),
        },
        {},
      ) as Nginx;
    });
    const w = workload!;
    assert.deepEqual(images, ["nginx=nginx:1.27-bookworm"]);
    assert.equal(w.image, "registry.local/nginx:1.27-bookworm");
    assert.deepEqual(w.reloadCommand, ["sh", "-c", "nginx -t && nginx -s reload"]);
    assert.equal(w.stateful, false);
    // nginx listens on the public ports inside too, so workloads in the stack reach public URLs.
    assert.deepEqual(
      w.ports!.map((p) => [p.containerPort, p.hostPort, p.hostAddress]),
      [
        [80, 80, "192.0.2.10"],
        [8443, 8443, "192.0.2.10"],
      ],
    );
    // It answers to every public host inside the stack as well.
    assert.deepEqual(w.aliases, [...new Set(Object.values(routes).map((r) => r.host))].sort());
    assert.ok(w.aliases!.length >= 2);

    const byPath = new Map(w.files!.map((f) => [f.path, f]));
    assert.equal(byPath.size, 1 + 2 * Object.keys(routes).length);
    for (const [requester, route] of Object.entries(routes)) {
      const crt = byPath.get(`/etc/nginx/psf/certs/${route.host}.crt`)!;
      const key = byPath.get(`/etc/nginx/psf/certs/${route.host}.key`)!;
      assert.equal(await valueOf(crt.content), `CERT nginx:${requester}\nCA\n`, "leaf then issuer");
      assert.equal(await isSecret(crt.content), false);
      assert.equal(key.secret, true);
      assert.equal(key.mode, 0o600);
      assert.equal(await isSecret(key.content), true);
      assert.equal(await valueOf(key.content), `KEY nginx:${requester}`);
    }
    const conf = byPath.get("/etc/nginx/nginx.conf")!;
    const text = (await valueOf(conf.content)) as string;
    assert.equal(await isSecret(conf.content), false, "config diffs stay readable in a preview");
    assert.doesNotMatch(text, /KEY nginx:/);
    // The health check probes what the config serves, on every address: inside the container
    // (Docker) or at the pod's IP (a Kubernetes probe).
    assert.ok(text.includes(`listen ${w.healthcheck!.http!.port};`));
    assert.ok(text.includes(`location = ${w.healthcheck!.http!.path} `));
    assert.ok(
      text.includes("proxy_pass http://authelia:9091/api/authz/auth-request") ||
        text.includes('"http://authelia:9091/api/authz/auth-request"'),
    );

    assert.equal(await valueOf(instance!.results.admin.url), "https://console.example.org:8443");
    assert.equal(await valueOf(instance!.results.admin.internalUrl), "http://admin:9000");
    assert.equal(await valueOf(instance!.results.blog.url), "https://blog.example.org:8443");
  });

  it("shows no private key in the planned Docker resources; key files are 0600", async () => {
    const declared = await evaluate(testRegistry, fixture(), "test", (raw, stackName) =>
      runProgram(testRegistry, { raw, stackName }),
    );
    const container = declared.find(
      (r) => r.type === "docker:index/container:Container" && r.name === "nginx",
    )!;
    const reload = declared.find(
      (r) => r.type === "command:local:Command" && r.name === "nginx-reload",
    )!;
    assert.ok(container && reload, declared.map((r) => `${r.type} ${r.name}`).join("\n"));
    // The mocked engine's generated keys read "mock-<name>" inside PEM armour; nothing around nginx may show it.
    for (const r of [container, reload])
      assert.doesNotMatch(JSON.stringify(mask(r.inputs)), /PRIVATE KEY-----\\nmock-/);
    assert.match(
      JSON.stringify(mask(container.inputs, true)),
      /PRIVATE KEY-----\\nmock-/,
      "the key is there, only masked",
    );
    const uploads = mask(container.inputs.uploads, true) as Array<{
      file: string;
      content: string;
      permissions: string;
    }>;
    const keys = uploads.filter((u) => u.file.endsWith(".key"));
    assert.deepEqual(
      keys.map((k) => `${k.file} ${k.permissions}`).sort(),
      ["blog", "chat", "console", "files", "notes"].map(
        (h) => `/etc/nginx/psf/certs/${h}.example.org.key 0600`,
      ),
    );
    assert.match(
      uploads.find((u) => u.file === "/etc/nginx/nginx.conf")!.content,
      /server_name console\.example\.org;/,
    );
    assert.match(JSON.stringify(reload.inputs.create), /nginx -t && nginx -s reload/);
  });
});

// ---------------------------------------------------------------- validation

describe("nginx provider validation", () => {
  it("accepts the fixture and asks the ssl provider for one certificate per route host", () => {
    const { plan, issues } = validateConfig(fixture(), "test", testRegistry);
    assert.deepEqual(issues, []);
    const ssl = plan!.providers.find((p) => p.contract === "ssl")!;
    assert.deepEqual(ssl.requests["nginx:admin"], { domain: "console.example.org", sans: [] });
    assert.deepEqual(Object.keys(ssl.requests).sort(), [
      "nginx:admin",
      "nginx:blog",
      "nginx:chat",
      "nginx:files",
      "nginx:notes",
    ]);
  });

  it("builds the SSO and the certificates before nginx when a route has auth", () => {
    const order = validateConfig(fixture(), "test", testRegistry).plan!.providers.map(
      (p) => p.contract,
    );
    assert.ok(order.indexOf("sso") < order.indexOf("proxy"), order.join(","));
    assert.ok(order.indexOf("ssl") < order.indexOf("proxy"), order.join(","));
  });

  it("reports a route with auth and no sso provider", () => {
    const raw = fixture();
    delete raw.providers.sso;
    const { issues } = validateConfig(raw, "test", testRegistry);
    assert.equal(issues.length, 1, JSON.stringify(issues));
    assert.equal(issues[0].path, "providers.proxy.use");
    assert.match(issues[0].message, /nginx needs a sso provider/);
    assert.match(issues[0].hint!, /providers\.sso/);
  });

  it("needs no sso provider when no route has auth", () => {
    const raw = fixture();
    delete raw.providers.sso;
    for (const svc of Object.values(raw.services) as any[]) delete svc.needs.proxy.auth;
    const { plan, issues } = validateConfig(raw, "test", testRegistry);
    assert.deepEqual(issues, []);
    assert.deepEqual(plan!.providers.find((p) => p.contract === "proxy")!.dependsOn, ["ssl"]);
  });

  it("reports a missing ssl provider", () => {
    const raw = fixture();
    delete raw.providers.ssl;
    const { issues } = validateConfig(raw, "test", testRegistry);
    assert.ok(
      issues.some(
        (i) => i.path === "providers.proxy.use" && /needs a ssl provider/.test(i.message),
      ),
      JSON.stringify(issues),
    );
  });

  it("reports a listenAddress that is not an IP address at its path", () => {
    const raw = fixture();
    raw.providers.proxy.listenAddress = "localhost";
    const { issues } = validateConfig(raw, "test", testRegistry);
    assert.deepEqual(
      issues.map((i) => i.path),
      ["providers.proxy.listenAddress"],
    );
  });

  it("reports a resolver that is not a list of addresses at its path", () => {
    const raw = fixture();
    raw.providers.proxy.resolver = "8.8.8.8; include /etc/passwd";
    const { issues } = validateConfig(raw, "test", testRegistry);
    assert.deepEqual(
      issues.map((i) => i.path),
      ["providers.proxy.resolver"],
    );
  });

  it("reports HTTP and HTTPS on the same host port", () => {
    const raw = fixture();
    raw.providers.proxy.httpPort = 443;
    const { issues } = validateConfig(raw, "test", testRegistry);
    assert.equal(issues.length, 1, JSON.stringify(issues));
    assert.equal(issues[0].path, "providers.proxy");
    assert.match(issues[0].message, /host port 443 is already used by nginx \(http\)/);
  });

  it("reports a host port another service publishes", () => {
    const raw = fixture();
    raw.services.blog.publish = [{ host: 80, container: 2368 }];
    const { issues } = validateConfig(raw, "test", testRegistry);
    assert.deepEqual(
      issues.map((i) => i.path),
      ["services.blog.publish[0].host"],
    );
  });

  it("rejects an unknown setting with a suggestion", () => {
    const raw = fixture();
    raw.providers.proxy.httpsPorts = 8443;
    const { issues } = validateConfig(raw, "test", testRegistry);
    assert.equal(issues[0].path, "providers.proxy.httpsPorts");
    assert.match(issues[0].hint!, /did you mean "httpsPort"/);
  });
});
