import { strict as assert } from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as https from "https";
import * as YAML from "yaml";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { evaluate, mask } from "../../cli/mock-engine";
import { shellQuote } from "../../components/shell";
import { readStackFile } from "../../components/stack-file";
import { ProviderDefinition, ProviderInstance } from "../../components/provider";
import { runProgram, validateConfig } from "../../components/program";
import { Registry } from "../../components/registry";
import { Target } from "../../components/targets/target";
import { check } from "../../components/validate/schema";
import { Workload } from "../../components/workload";
import { registry } from "../../providers";
import { CaddySettings, caddy } from "../../providers/proxy/caddy";
import type { Caddy } from "../../providers/proxy/caddy-component";
import { RELOAD_COMMAND } from "../../providers/proxy/caddy-component";
import {
  CONTAINER_PATHS,
  HEALTH_PATH,
  CaddyPaths,
  certFiles,
  renderCaddyConfig,
} from "../../providers/proxy/caddy-config";
import { ProxyRoute } from "../../providers/proxy/contract";
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
} from "../contracts/proxy";
import { RunningAuthelia, autheliaCli, renderAuthelia, startAuthelia } from "../support/authelia";
import { isSecret, valueOf } from "../support/mocks";
import { PG_BIN, TestPostgres, requireProgram, startPostgres } from "../support/real";

// ---------------------------------------------------------------- helpers

/** Text Caddy's replacer would change: placeholders it knows, and its own brace escapes. */
const CADDY_LITERAL = "{http.request.uri} {host} \\{x\\} {$HOME}";

// scripts/go-host-binary.sh caddy builds it into the toolchain's bin; the tests find it on PATH.
const toolchainBin = path.join(
  process.env.PSF_TOOLCHAIN_DIR ?? path.join(os.homedir(), ".cache", "psf", "toolchain"),
  "bin",
);
if (fs.existsSync(path.join(toolchainBin, "caddy")))
  process.env.PATH = `${toolchainBin}${path.delimiter}${process.env.PATH}`;

/** Settings as a user gets them: the provider's own defaults, then overrides. */
function settingsWith(over: Partial<CaddySettings> = {}): CaddySettings {
  return { ...(check({}, caddy.settings, "providers.proxy", []) as CaddySettings), ...over };
}

interface Rendered {
  dir: string;
  paths: CaddyPaths;
  healthPort: number;
  write(routes: Record<string, ProxyRoute>, settings: CaddySettings): void;
}

/** Renders routes into `dir` with their certificates, as the container would have them. */
async function renderInto(
  dir: string,
  routes: Record<string, ProxyRoute>,
  settings: CaddySettings,
  certs: (requester: string, host: string) => { certPem: string; keyPem: string },
  listen: { http: number; https: number; health?: number },
  sso?: ProxyFixture["sso"],
): Promise<Rendered> {
  const paths: CaddyPaths = {
    config: path.join(dir, "caddy.json"),
    certDir: path.join(dir, "certs"),
    acmeRoot: path.join(dir, "acme"),
  };
  for (const d of [paths.certDir, paths.acmeRoot]) fs.mkdirSync(d, { recursive: true });
  const healthPort = listen.health ?? (await freePort());
  const admin = `127.0.0.1:${await freePort()}`;
  const write = (rs: Record<string, ProxyRoute>, s: CaddySettings) => {
    for (const [requester, r] of Object.entries(rs)) {
      const files = certFiles(paths, r.host);
      if (fs.existsSync(files.cert)) continue;
      const c = certs(requester, r.host);
      fs.writeFileSync(files.cert, c.certPem);
      fs.writeFileSync(files.key, c.keyPem, { mode: 0o600 });
    }
    const conf = renderCaddyConfig(rs, s, {
      paths,
      listen: { address: "127.0.0.1", http: listen.http, https: listen.https, health: healthPort },
      admin,
      sso: sso && {
        forwardAuthUrl: sso.forwardAuthUrl,
        portalUrl: sso.portalUrl,
        forwardAuthUrls: sso.forwardAuthUrls,
      },
      ssoSessionCookie: sso?.sessionCookie,
    });
    fs.writeFileSync(paths.config, conf);
  };
  write(routes, settings);
  return { dir, paths, healthPort, write };
}

/** Caddy's own files (autosave, storage) stay in the test's directory. */
const caddyEnv = (dir: string) => ({
  ...process.env,
  HOME: dir,
  XDG_CONFIG_HOME: path.join(dir, "xdg-config"),
  XDG_DATA_HOME: path.join(dir, "xdg-data"),
});

/** `caddy validate` on a rendered config: the real loader, provisioning every module and file. */
function caddyValidate(r: Rendered): { ok: boolean; output: string } {
  const res = spawnSync("caddy", ["validate", "--config", r.paths.config], {
    encoding: "utf8",
    env: caddyEnv(r.dir),
  });
  return { ok: res.status === 0, output: `${res.stdout}${res.stderr}` };
}

/** The provider's reload command, pointed at the test's config. */
function caddyReload(r: Rendered): { ok: boolean; output: string } {
  const [program, ...rest] = RELOAD_COMMAND.map((a) =>
    a === CONTAINER_PATHS.config ? r.paths.config : a,
  );
  const res = spawnSync(program, rest, { encoding: "utf8", env: caddyEnv(r.dir) });
  return { ok: res.status === 0, output: `${res.stdout}${res.stderr}` };
}

/** Starts caddy in the foreground on the rendered config; resolves when its health server answers. */
async function runCaddy(r: Rendered): Promise<RunningProxy> {
  const log = path.join(r.dir, "caddy.log");
  const out = fs.openSync(log, "a");
  const child: ChildProcess = spawn("caddy", ["run", "--config", r.paths.config], {
    stdio: ["ignore", out, out],
    env: caddyEnv(r.dir),
  });
  fs.closeSync(out);
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
  throw new Error(`caddy did not start:\n${fs.readFileSync(log, "utf8")}`);
}

/** The adapter the proxy contract suite drives: caddy on loopback with its defaults. */
function caddyAdapter(over: Partial<CaddySettings> = {}) {
  return {
    program: "caddy",
    start: async (f: ProxyFixture) => {
      const settings = settingsWith({ httpsPort: f.ports.https, ...over });
      const rendered = await renderInto(
        f.dir,
        f.routes,
        settings,
        (req) => f.certs[req],
        f.ports,
        f.sso,
      );
      const valid = caddyValidate(rendered);
      if (!valid.ok) throw new Error(`caddy validate failed:\n${valid.output}`);
      return runCaddy(rendered);
    },
  };
}

/** An sso provider standing in for authelia: shares the facts caddy reads. */
class StubSso extends pulumi.ComponentResource implements ProviderInstance {
  readonly results = {};
  readonly shared = {
    forwardAuthUrl: pulumi.output("http://authelia:9091/api/authz/auth-request"),
    portalUrl: pulumi.output("https://auth.example.org"),
    sessionCookie: pulumi.output("authelia_session"),
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

/** The nginx fixture's stack (every proxy request field), served by caddy. */
const fixture = () => {
  const raw = structuredClone(
    readStackFile(path.join(__dirname, "fixtures", "Pulumi.nginx.yaml")).raw,
  ) as any;
  raw.providers.proxy = { use: "caddy" };
  return raw;
};

function fixtureRoutes(raw = fixture()): Record<string, ProxyRoute> {
  const { plan, issues } = validateConfig(raw, "test", testRegistry);
  assert.deepEqual(issues, []);
  return plan!.providers.find((p) => p.contract === "proxy")!.requests;
}

// ---------------------------------------------------------------- the contract

proxyContractSuite("caddy", caddyAdapter());

// ---------------------------------------------------------------- caddy validate

describe("caddy config accepted by the real caddy (caddy validate)", function () {
  let dir: string;
  let cert: { certPem: string; keyPem: string };
  const sso = {
    forwardAuthUrl: "http://authelia:9091/api/authz/auth-request",
    portalUrl: "https://auth.example.org",
    sessionCookie: "authelia_session",
  };
  const listen = { http: 18080, https: 18443 };

  before(function () {
    requireProgram(this, "caddy");
    requireProgram(this, "openssl");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-caddy-validate-"));
    cert = new TestCa(path.join(dir, "ca")).issue("example.org");
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  const render = (
    name: string,
    routes: Record<string, ProxyRoute>,
    settings: CaddySettings,
    s: ProxyFixture["sso"] | undefined = sso,
  ) => renderInto(path.join(dir, name), routes, settings, () => cert, listen, s);
  const accepts = async (...args: Parameters<typeof render>) => {
    const result = caddyValidate(await render(...args));
    assert.ok(result.ok, result.output);
  };

  it("accepts the fixture's routes with the default settings", () =>
    accepts("defaults", fixtureRoutes(), settingsWith()));

  it("accepts HSTS off, a content security policy with braces and quotes, no frame options, gzip off", () =>
    accepts(
      "headers",
      fixtureRoutes(),
      settingsWith({
        hstsMaxAge: 0,
        contentSecurityPolicy: `default-src 'self'; script-src 'nonce-{x}' "y"`,
        frameOptions: "off",
        gzip: false,
        websocketReloadGrace: 0,
      }),
    ));

  it("accepts an SSO reached over HTTPS with a per-route forward-auth URL", () =>
    accepts("https-sso", fixtureRoutes(), settingsWith(), {
      ...sso,
      forwardAuthUrl: "https://sso.example.org/oauth2/auth",
      forwardAuthUrls: { admin: "https://sso.example.org/oauth2/auth?allowed_groups=admins" },
    }));

  it("accepts a stack with no routes at all", () =>
    accepts("empty", {}, settingsWith(), undefined));

  it("is checked for real: caddy validate refuses a config with a certificate file missing", async () => {
    const r = await render("broken", fixtureRoutes(), settingsWith());
    fs.rmSync(certFiles(r.paths, "notes.example.org").cert);
    assert.equal(caddyValidate(r).ok, false);
  });
});

// ---------------------------------------------------------------- beyond the contract

describe("caddy beyond the proxy contract, with the real caddy", function () {
  let dir: string;
  let ca: TestCa;
  let echo: Awaited<ReturnType<typeof startEcho>>;
  let sso: Awaited<ReturnType<typeof startFakeSso>>;
  let proxy: RunningProxy | undefined;
  let rendered: Rendered;
  let ports: { http: number; https: number };
  let routes: Record<string, ProxyRoute>;
  let settings: CaddySettings;
  const host = (n: string) => `${n}.psf.test`;

  before(async function () {
    requireProgram(this, "caddy");
    requireProgram(this, "openssl");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-caddy-extra-"));
    ca = new TestCa(path.join(dir, "ca"));
    [echo, sso] = await Promise.all([startEcho(), startFakeSso()]);
    ports = { http: await freePort(), https: await freePort() };
    const up = { host: "127.0.0.1", port: echo.port, scheme: "http" as const };
    const base = { auth: "none" as const, websockets: false, extraHeaders: {} };
    routes = {
      open: {
        ...base,
        host: host("open"),
        upstream: up,
        extraHeaders: { "X-Frame-Options": "DENY", "X-Psf-Literal": CADDY_LITERAL },
      },
      guarded: { ...base, host: host("guarded"), upstream: up, auth: "two_factor" },
      live: { ...base, host: host("live"), upstream: up, websockets: true },
    };
    settings = settingsWith({ httpsPort: ports.https });
    rendered = await renderInto(
      path.join(dir, "caddy"),
      routes,
      settings,
      (_req, h) => ca.issue(h),
      ports,
      { forwardAuthUrl: sso.forwardAuthUrl, portalUrl: "https://auth.psf.test/" },
    );
    proxy = await runCaddy(rendered);
  });
  after(async () => {
    await proxy?.stop();
    await Promise.all([echo?.stop(), sso?.stop()]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const get = (name: string, p = "/", extra: Record<string, any> = {}) =>
    httpsCall({ host: host(name), port: ports.https, path: p, ...extra }, ca.certPem);

  it("lets a route's extra header replace the security header of the same name, sent once", async () => {
    const r = await get("open");
    assert.equal(r.headers["x-frame-options"], "DENY");
  });

  it("sends Caddy placeholders and escaped braces in an extra header literally", async () => {
    const r = await get("open", "/expanded?no");
    assert.equal(r.headers["x-psf-literal"], CADDY_LITERAL);
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

  it("escapes the original URL in rd=, so its own query survives", async () => {
    const r = await get("guarded", "/a?x=1&y=2");
    const location = new URL(String(r.headers.location));
    assert.equal(
      location.searchParams.get("rd"),
      `https://${host("guarded")}:${ports.https}/a?x=1&y=2`,
    );
  });

  it("keeps an upgrade request from the app on a route without websockets", async () => {
    const seenBefore = echo.seen.length;
    const r = await new Promise<number>((resolve, reject) => {
      const req = https.request({
        host: "127.0.0.1",
        port: ports.https,
        servername: host("open"),
        ca: ca.certPem,
        agent: false,
        path: "/no-ws",
        headers: {
          Host: `${host("open")}:${ports.https}`,
          Connection: "Upgrade",
          Upgrade: "websocket",
          "Sec-WebSocket-Version": "13",
          "Sec-WebSocket-Key": randomBytes(16).toString("base64"),
        },
      });
      req.on("upgrade", () => reject(new Error("upgraded")));
      req.on("response", (res) => (res.resume(), resolve(res.statusCode!)));
      req.on("error", reject);
      req.end();
    });
    assert.equal(r, 200);
    const seen = echo.seen.slice(seenBefore).find((s) => s.url === "/no-ws")!;
    assert.equal(seen.headers.upgrade, undefined);
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
    const other = await httpCall({ host: host("open"), port: ports.http, path: "/x" });
    assert.equal(other.status, 301);
  });

  it("refuses the TLS handshake for a host it has no route for", async () => {
    await assert.rejects(peerCertificate(ports.https, host("unknown"), ca.certPem));
  });

  it("closes plain HTTP connections for a host it has no route for", async () => {
    await assert.rejects(httpCall({ host: host("unknown"), port: ports.http }));
  });

  it("reloads a changed config with caddy reload while a websocket stays open", async () => {
    // A websocket through the proxy, held open across the reload.
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const req = https.request({
        host: "127.0.0.1",
        port: ports.https,
        servername: host("live"),
        ca: ca.certPem,
        agent: false,
        path: "/held",
        headers: {
          Host: `${host("live")}:${ports.https}`,
          Connection: "Upgrade",
          Upgrade: "websocket",
          "Sec-WebSocket-Version": "13",
          "Sec-WebSocket-Key": randomBytes(16).toString("base64"),
        },
      });
      req.on("upgrade", (_res, s) => resolve(s));
      req.on("response", (res) => reject(new Error(`not upgraded: ${res.statusCode}`)));
      req.on("error", reject);
      req.end();
    });
    let closed = false;
    socket.on("close", () => (closed = true));
    const echoed = (payload: string) =>
      new Promise<string>((resolve, reject) => {
        let got = "";
        const onData = (d: Buffer) => {
          got += d.toString();
          if (got.length >= payload.length) {
            socket.off("data", onData);
            resolve(got);
          }
        };
        socket.on("data", onData);
        socket.once("close", () => reject(new Error("the websocket was closed")));
        socket.write(payload);
      });
    try {
      assert.equal(await echoed("before"), "before");
      rendered.write(
        { ...routes, open: { ...routes.open, extraHeaders: { "X-Psf-Reloaded": "yes" } } },
        settings,
      );
      const reloaded = caddyReload(rendered);
      assert.ok(reloaded.ok, reloaded.output);
      assert.equal((await get("open")).headers["x-psf-reloaded"], "yes", "the new config serves");
      await new Promise((res) => setTimeout(res, 300));
      assert.equal(closed, false, "the reload closed the websocket");
      assert.equal(await echoed("after"), "after");
    } finally {
      socket.destroy();
    }
  });
});

// ---------------------------------------------------------------- a real Authelia

describe("caddy forward auth against a real Authelia (real PostgreSQL storage)", function () {
  let dir = "";
  let pg: TestPostgres | undefined;
  let authelia: RunningAuthelia | undefined;
  let echo: Awaited<ReturnType<typeof startEcho>> | undefined;
  let proxy: RunningProxy | undefined;
  let ca: TestCa;
  let port = 0;
  let accounts: Record<string, { password: string }>;
  // The authelia fixture: wiki is one_factor for the group admins (alice, not bob).
  const wiki = "wiki.home.example.org";
  const portal = "https://login.home.example.org:8443";

  before(async function () {
    this.timeout(120_000);
    requireProgram(this, "caddy");
    requireProgram(this, "openssl");
    const cli = autheliaCli(this);
    requireProgram(this, `${PG_BIN}/initdb`);
    const rendered = await renderAuthelia(
      readStackFile(path.join(__dirname, "fixtures", "Pulumi.authelia.yaml")).raw,
    );
    accounts = (await valueOf(rendered.stack.outputs.accounts)) as typeof accounts;
    const config = YAML.parse(rendered.config);
    pg = startPostgres();
    const db = config.storage.postgres;
    pg.query(`CREATE ROLE ${db.username} LOGIN PASSWORD '${db.password}'`);
    pg.query(`CREATE DATABASE ${db.database} OWNER ${db.username}`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-caddy-authelia-"));
    config.storage.postgres.address = `tcp://${pg.host}:${pg.port}`;
    config.authentication_backend.file.path = path.join(dir, "users_database.yml");
    config.notifier.filesystem.filename = path.join(dir, "notification.txt");
    fs.writeFileSync(path.join(dir, "users_database.yml"), rendered.users!, { mode: 0o600 });
    const forwarded = { "X-Forwarded-Proto": "https", "X-Forwarded-Host": new URL(portal).host };
    authelia = await startAuthelia(cli, dir, config, forwarded);

    echo = await startEcho();
    ca = new TestCa(path.join(dir, "ca"));
    const ports = { http: await freePort(), https: await freePort() };
    port = ports.https;
    const routes: Record<string, ProxyRoute> = {
      wiki: {
        host: wiki,
        upstream: { host: "127.0.0.1", port: echo.port, scheme: "http" },
        auth: "one_factor",
        websockets: false,
        extraHeaders: {},
      },
    };
    const r = await renderInto(
      path.join(dir, "caddy"),
      routes,
      settingsWith({ httpsPort: port }),
      (_req, h) => ca.issue(h),
      ports,
      {
        forwardAuthUrl: `${authelia.base}/api/authz/auth-request`,
        portalUrl: portal,
        sessionCookie: "authelia_session",
      },
    );
    proxy = await runCaddy(r);
  });
  after(async () => {
    await proxy?.stop();
    await echo?.stop();
    authelia?.stop();
    pg?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const get = (p: string, cookie?: string) =>
    httpsCall({ host: wiki, port, path: p, headers: cookie ? { Cookie: cookie } : {} }, ca.certPem);

  it("sends a visitor without a session to Authelia's portal with the return URL", async () => {
    const r = await get("/page?x=1");
    assert.equal(r.status, 302);
    const location = new URL(String(r.headers.location));
    assert.equal(location.origin, portal);
    assert.equal(location.searchParams.get("rd"), `https://${wiki}:${port}/page?x=1`);
  });

  it("passes a signed-in member of the allowed group with Authelia's identity headers, without its session cookie", async () => {
    const session = await authelia!.signIn("alice", accounts.alice.password);
    assert.ok(session, authelia!.log());
    const r = await get("/me", `theme=dark; ${session}`);
    assert.equal(r.status, 200);
    const h = r.json().headers;
    assert.equal(h["remote-user"], "alice");
    assert.match(h["remote-groups"], /(^|,)admins(,|$)/);
    assert.equal(h["remote-email"], "alice@example.org");
    assert.equal(h.cookie, "theme=dark");
  });

  it("answers 403 to a signed-in person outside the allowed group, and the app never sees the request", async () => {
    const session = await authelia!.signIn("bob", accounts.bob.password);
    assert.ok(session);
    const before = echo!.seen.length;
    const r = await get("/me", session);
    assert.equal(r.status, 403);
    assert.equal(echo!.seen.length, before);
  });
});

// ---------------------------------------------------------------- Pulumi (mocked engine)

describe("caddy provider in a Pulumi program (mocked engine)", () => {
  it("declares one reloadable caddy with the config, each certificate, and each key as a secret 0600 file", async () => {
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
    let instance: Caddy | undefined;
    await evaluate(testRegistry, {}, "test", () => {
      const caddySettings = settingsWith({ httpsPort: 8443, listenAddress: "192.0.2.10" });
      instance = caddy.create(
        "caddy",
        {
          settings: caddySettings,
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
          // As the program gives it: the proxy provider's own publicUrl.
          publicUrl: (host) => caddy.publicUrl!(caddySettings, host),
          configSecret: () => undefined,
          image: (key, fallback) => (
            images.push(`${key}=${fallback}`),
            `registry.local/${fallback}`
          ),
        },
        {},
      ) as Caddy;
    });
    const w = workload!;
    assert.deepEqual(images, ["caddy=caddy:2.11.9"]);
    assert.equal(w.image, "registry.local/caddy:2.11.9");
    assert.deepEqual(w.reloadCommand, ["caddy", "reload", "--config", "/etc/caddy/caddy.json"]);
    assert.deepEqual(w.command, ["caddy", "run", "--config", "/etc/caddy/caddy.json"]);
    assert.equal(w.stateful, false);
    assert.deepEqual(
      w.ports!.map((p) => [p.containerPort, p.hostPort, p.hostAddress]),
      [
        [80, 80, "192.0.2.10"],
        [8443, 8443, "192.0.2.10"],
      ],
    );
    assert.deepEqual(w.aliases, [...new Set(Object.values(routes).map((r) => r.host))].sort());

    const byPath = new Map(w.files!.map((f) => [f.path, f]));
    assert.equal(byPath.size, 1 + 2 * Object.keys(routes).length);
    for (const [requester, route] of Object.entries(routes)) {
      const crt = byPath.get(`/etc/caddy/psf/certs/${route.host}.crt`)!;
      const key = byPath.get(`/etc/caddy/psf/certs/${route.host}.key`)!;
      assert.equal(await valueOf(crt.content), `CERT caddy:${requester}\nCA\n`, "leaf then issuer");
      assert.equal(key.secret, true);
      assert.equal(key.mode, 0o600);
      assert.equal(await isSecret(key.content), true);
    }
    const conf = byPath.get("/etc/caddy/caddy.json")!;
    const text = (await valueOf(conf.content)) as string;
    assert.equal(await isSecret(conf.content), false, "config diffs stay readable in a preview");
    assert.doesNotMatch(text, /KEY caddy:/);
    const json = JSON.parse(text);
    // The health check probes what the config serves, on every address: inside the container
    // (Docker) or at the pod's IP (a Kubernetes probe).
    assert.deepEqual(json.apps.http.servers.psf_health.listen, [`:${w.healthcheck!.http!.port}`]);
    assert.equal(
      json.apps.http.servers.psf_health.routes[0].match[0].path[0],
      w.healthcheck!.http!.path,
    );
    // `caddy reload` finds the admin endpoint in the config; it stays on loopback.
    assert.equal(json.admin.listen, "localhost:2019");
    assert.match(text, /"dial": "authelia:9091"/);
    assert.match(text, /authelia_session/);

    assert.equal(await valueOf(instance!.results.admin.url), "https://console.example.org:8443");
    assert.equal(await valueOf(instance!.results.admin.internalUrl), "http://admin:9000");
  });
});

describe("caddy provider on the Docker target (mocked engine)", () => {
  it("plans the container with the config and 0600 key files, reloaded in place by caddy reload", async () => {
    const declared = await evaluate(testRegistry, fixture(), "test", (raw, stackName) =>
      runProgram(testRegistry, { raw, stackName }),
    );
    const container = declared.find(
      (r) => r.type === "docker:index/container:Container" && r.name === "caddy",
    )!;
    const reload = declared.find(
      (r) => r.type === "command:local:Command" && r.name === "caddy-reload",
    )!;
    assert.ok(container && reload, declared.map((r) => `${r.type} ${r.name}`).join("\n"));
    for (const r of [container, reload])
      assert.doesNotMatch(JSON.stringify(mask(r.inputs)), /PRIVATE KEY-----\\nmock-/);
    const uploads = mask(container.inputs.uploads, true) as Array<{
      file: string;
      content: string;
      permissions: string;
    }>;
    assert.deepEqual(
      uploads
        .filter((u) => u.file.endsWith(".key"))
        .map((k) => `${k.file} ${k.permissions}`)
        .sort(),
      ["blog", "chat", "console", "files", "notes"].map(
        (h) => `/etc/caddy/psf/certs/${h}.example.org.key 0600`,
      ),
    );
    const config = JSON.parse(uploads.find((u) => u.file === "/etc/caddy/caddy.json")!.content);
    assert.deepEqual(
      config.apps.tls.certificates.load_files.map((f: any) => f.tags[0]),
      ["blog", "chat", "console", "files", "notes"].map((h) => `${h}.example.org`),
    );
    // The reload step runs the provider's command in the container, words quoted as they are.
    assert.ok(
      String(reload.inputs.create).includes(RELOAD_COMMAND.map(shellQuote).join(" ")),
      String(reload.inputs.create),
    );
  });
});

// ---------------------------------------------------------------- validation

describe("caddy provider validation", () => {
  it("accepts the fixture and asks the ssl provider for one certificate per route host", () => {
    const { plan, issues } = validateConfig(fixture(), "test", testRegistry);
    assert.deepEqual(issues, []);
    const ssl = plan!.providers.find((p) => p.contract === "ssl")!;
    assert.deepEqual(ssl.requests["caddy:admin"], { domain: "console.example.org", sans: [] });
    assert.equal(Object.keys(ssl.requests).length, 5);
  });

  it("refuses a rate limit, naming nginx as the provider that has one", () => {
    const raw = fixture();
    raw.providers.proxy.rateLimit = { requestsPerSecond: 10 };
    const { issues } = validateConfig(raw, "test", testRegistry);
    assert.equal(issues.length, 1, JSON.stringify(issues));
    assert.equal(issues[0].path, "providers.proxy.rateLimit");
    assert.match(issues[0].message, /caddy has no rate limiter/);
    assert.match(issues[0].hint!, /nginx/);
  });

  it("reports a listenAddress that is not an IP and a multi-line CSP at once, at their paths", () => {
    const raw = fixture();
    raw.providers.proxy.listenAddress = "localhost";
    raw.providers.proxy.contentSecurityPolicy = "default-src 'self'\nx";
    const { issues } = validateConfig(raw, "test", testRegistry);
    assert.deepEqual(issues.map((i) => i.path).sort(), [
      "providers.proxy.contentSecurityPolicy",
      "providers.proxy.listenAddress",
    ]);
  });

  it("reports a route with auth and no sso provider", () => {
    const raw = fixture();
    delete raw.providers.sso;
    const { issues } = validateConfig(raw, "test", testRegistry);
    assert.equal(issues.length, 1, JSON.stringify(issues));
    assert.match(issues[0].message, /caddy needs a sso provider/);
  });

  it("reports HTTP and HTTPS on the same host port", () => {
    const raw = fixture();
    raw.providers.proxy.httpPort = 443;
    const { issues } = validateConfig(raw, "test", testRegistry);
    assert.equal(issues.length, 1, JSON.stringify(issues));
    assert.match(issues[0].message, /host port 443 is already used by caddy \(http\)/);
  });
});
