import { strict as assert } from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as tls from "tls";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { evaluate, mask } from "../../cli/mock-engine";
import { shellQuote } from "../../components/shell";
import { readStackFile } from "../../components/stack-file";
import { ProviderDefinition, ProviderInstance } from "../../components/provider";
import { runProgram, validateConfig } from "../../components/program";
import { Registry } from "../../components/registry";
import { applyFilesScript } from "../../components/targets/docker";
import { Target } from "../../components/targets/target";
import { check } from "../../components/validate/schema";
import { Workload } from "../../components/workload";
import { registry } from "../../providers";
import { ProxyRoute } from "../../providers/proxy/contract";
import { TraefikSettings, traefik } from "../../providers/proxy/traefik";
import type { Traefik } from "../../providers/proxy/traefik-component";
import {
  RELOAD_COMMAND,
  STAGED_DYNAMIC,
  bootScript,
  installDynamic,
} from "../../providers/proxy/traefik-component";
import {
  CONTAINER_PATHS,
  HEALTH_PATH,
  DYNAMIC_FILE,
  TraefikPaths,
  certKeyFile,
  containerListen,
  pluginFiles,
  renderDynamicConfig,
  renderStaticConfig,
} from "../../providers/proxy/traefik-config";
import {
  ProxyFixture,
  RunningProxy,
  SSO_LOCATION_MARKER,
  SSO_LOGIN_LOCATION,
  SSO_SESSION,
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

const root = path.join(__dirname, "..", "..");

// scripts/go-host-binary.sh traefik builds it into the toolchain's bin; the tests find it on PATH.
const toolchainBin = path.join(
  process.env.PSF_TOOLCHAIN_DIR ?? path.join(os.homedir(), ".cache", "psf", "toolchain"),
  "bin",
);
if (fs.existsSync(path.join(toolchainBin, "traefik")))
  process.env.PATH = `${toolchainBin}${path.delimiter}${process.env.PATH}`;

/** Settings as a user gets them: the provider's own defaults, then overrides. */
function settingsWith(over: Partial<TraefikSettings> = {}): TraefikSettings {
  return { ...(check({}, traefik.settings, "providers.traefik", []) as TraefikSettings), ...over };
}

interface Rendered {
  paths: TraefikPaths;
  healthPort: number;
  /**
   * Renders the routes' dynamic config, stages it and installs it with the reload command;
   * a host in `renew` gets a new certificate (and key).
   */
  write(routes: Record<string, ProxyRoute>, settings: TraefikSettings, renew?: string[]): void;
}

/** The container's paths, under a test directory. */
const pathsIn = (dir: string): TraefikPaths => ({
  home: dir,
  static: path.join(dir, "traefik.yml"),
  dynamicDir: path.join(dir, "dynamic"),
  certDir: path.join(dir, "certs"),
});

/** The provider's reload command, pointed at the test's paths, run as the container would. */
function reload(paths: TraefikPaths): void {
  const [program, ...rest] = installDynamic(paths);
  const r = spawnSync(program, rest, { encoding: "utf8" });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
}

/**
 * Renders routes into `dir` as the container has them: the static config and the plugin's
 * source (what the boot script writes), key files, and the dynamic config, staged then
 * installed by the reload command.
 */
async function renderInto(
  dir: string,
  routes: Record<string, ProxyRoute>,
  settings: TraefikSettings,
  certs: (requester: string, host: string) => { certPem: string; keyPem: string },
  listen: { http: number; https: number },
  sso?: ProxyFixture["sso"],
): Promise<Rendered> {
  const paths = pathsIn(dir);
  fs.mkdirSync(paths.certDir, { recursive: true });
  const healthPort = await freePort();
  const files = [
    {
      path: paths.static,
      content: renderStaticConfig(settings, {
        paths,
        listen: {
          address: "127.0.0.1",
          http: listen.http,
          https: listen.https,
          health: healthPort,
        },
      }),
    },
    ...pluginFiles(paths),
  ];
  for (const f of files) {
    fs.mkdirSync(path.dirname(f.path), { recursive: true });
    fs.writeFileSync(f.path, f.content);
  }
  const issued = new Map<string, { certPem: string; keyPem: string }>();
  const write = (rs: Record<string, ProxyRoute>, s: TraefikSettings, renew: string[] = []) => {
    const chains: Record<string, string> = {};
    for (const [requester, r] of Object.entries(rs)) {
      if (!issued.has(r.host) || renew.includes(r.host)) {
        const c = certs(requester, r.host);
        issued.set(r.host, c);
        fs.writeFileSync(certKeyFile(paths, r.host), c.keyPem, { mode: 0o600 });
      }
      chains[requester] = issued.get(r.host)!.certPem;
    }
    const conf = renderDynamicConfig(rs, s, {
      paths,
      certs: chains,
      sso: sso && {
        forwardAuthUrl: sso.forwardAuthUrl,
        portalUrl: sso.portalUrl,
        forwardAuthUrls: sso.forwardAuthUrls,
      },
      ssoSessionCookie: sso?.sessionCookie,
    });
    fs.writeFileSync(path.join(paths.home, DYNAMIC_FILE), conf);
    reload(paths);
  };
  write(routes, settings);
  return { paths, healthPort, write };
}

/** Lines Traefik logged at error level (a config it refused, a plugin it could not load). */
const errors = (log: string) => log.split("\n").filter((l) => /\sERR\s|level=error/.test(l));

interface RunningTraefik extends RunningProxy {
  log(): string;
}

/**
 * Starts traefik in the foreground on the rendered config, in its home (where it finds the
 * plugin); resolves when its ping answers and `host`'s router serves, refusing a config Traefik
 * logged errors about.
 */
async function runTraefik(r: Rendered, host?: string): Promise<RunningTraefik> {
  const logFile = path.join(r.paths.home, "traefik.log");
  const out = fs.openSync(logFile, "a");
  const child: ChildProcess = spawn("traefik", [`--configFile=${r.paths.static}`], {
    cwd: r.paths.home,
    stdio: ["ignore", out, out],
    env: { ...process.env, HOME: r.paths.home },
  });
  fs.closeSync(out);
  const log = () => fs.readFileSync(logFile, "utf8");
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
  };
  const serving = async () => {
    const ping = await httpCall({ host: "127.0.0.1", port: r.healthPort, path: "/ping" }).then(
      (x) => x.status === 200,
      () => false,
    );
    return ping && (!host || (await servesHost(httpsPortOf(r), host)));
  };
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) break;
    if (await serving()) {
      const refused = errors(log());
      if (refused.length > 0) {
        await stop();
        throw new Error(`traefik logged errors:\n${refused.join("\n")}`);
      }
      return { stop, log, health: { port: r.healthPort, path: HEALTH_PATH } };
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  await stop();
  throw new Error(`traefik did not start:\n${log()}`);
}

/** The HTTPS port of a rendered static config. */
function httpsPortOf(r: Rendered): number {
  const conf = YAML.parse(fs.readFileSync(r.paths.static, "utf8"));
  return Number(String(conf.entryPoints.websecure.address).split(":").pop());
}

/** Whether the router of `host` is loaded: with SNI required, only then is there a handshake. */
function servesHost(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tls.connect(
      { host: "127.0.0.1", port, servername: host, rejectUnauthorized: false },
      () => {
        const cn = socket.getPeerCertificate().subject?.CN;
        socket.end();
        resolve(cn === host);
      },
    );
    socket.on("error", () => resolve(false));
  });
}

/** The adapter the proxy contract suite drives: traefik on loopback with its defaults. */
function traefikAdapter(over: Partial<TraefikSettings> = {}) {
  return {
    program: "traefik",
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
      return runTraefik(rendered, Object.values(f.routes)[0].host);
    },
  };
}

/** An sso provider standing in for authelia: shares the facts traefik reads. */
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

/** The nginx fixture's stack (every proxy request field), served by traefik. */
const fixture = () => {
  const raw = structuredClone(
    readStackFile(path.join(__dirname, "fixtures", "Pulumi.nginx.yaml")).raw,
  ) as any;
  raw.providers.proxy = { use: "traefik" };
  return raw;
};

function fixtureRoutes(raw = fixture()): Record<string, ProxyRoute> {
  const { plan, issues } = validateConfig(raw, "test", testRegistry);
  assert.deepEqual(issues, []);
  return plan!.providers.find((p) => p.contract === "proxy")!.requests;
}

/** A websocket through the proxy, held open: send a payload, get its echo. */
async function openWebsocket(
  port: number,
  host: string,
  ca: string,
  p: string,
  extra: Record<string, string> = {},
) {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const req = https.request({
      host: "127.0.0.1",
      port,
      servername: host,
      ca,
      agent: false,
      path: p,
      headers: {
        Host: `${host}:${port}`,
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": randomBytes(16).toString("base64"),
        ...extra,
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
  return { socket, echoed, closed: () => closed };
}

// ---------------------------------------------------------------- the contract

proxyContractSuite("traefik", traefikAdapter());

// ---------------------------------------------------------------- traefik loads it

describe("traefik config loaded by the real traefik", function () {
  let dir: string;
  let ca: TestCa;

  before(function () {
    requireProgram(this, "traefik");
    requireProgram(this, "openssl");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-traefik-load-"));
    ca = new TestCa(path.join(dir, "ca"));
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  const sso = {
    forwardAuthUrl: "http://127.0.0.1:9/api/authz/auth-request",
    portalUrl: "https://auth.example.org",
    sessionCookie: "authelia_session",
  };
  const loads = async (
    name: string,
    routes: Record<string, ProxyRoute>,
    settings: TraefikSettings,
    s: ProxyFixture["sso"] | undefined = sso,
    more?: () => Promise<void>,
  ) => {
    const ports = { http: await freePort(), https: await freePort() };
    const r = await renderInto(
      path.join(dir, name),
      routes,
      { ...settings, httpsPort: ports.https },
      (_req, h) => ca.issue(h),
      ports,
      s,
    );
    const first = Object.values(routes)[0]?.host;
    const running = await runTraefik(r, first);
    try {
      // Every route's certificate is served (the fixture's upstreams do not exist: 502).
      for (const route of Object.values(routes)) {
        const cert = await peerCertificate(ports.https, route.host, ca.certPem);
        assert.equal(cert.subject.CN, route.host);
      }
      await more?.();
      assert.deepEqual(errors(running.log()), []);
    } finally {
      await running.stop();
    }
  };

  it("loads the fixture's routes with the default settings", () =>
    loads("defaults", fixtureRoutes(), settingsWith()));

  it("loads every option: rate limit, API, HSTS off, a CSP with template braces, no frame options, gzip and access log off", async () => {
    const apiPort = await freePort();
    const routes = fixtureRoutes();
    await loads(
      "options",
      routes,
      settingsWith({
        rateLimit: { requestsPerSecond: 5, burst: 2 },
        apiPort,
        hstsMaxAge: 0,
        contentSecurityPolicy: `default-src 'self'; script-src 'nonce-{{x}}' "y"`,
        frameOptions: "off",
        gzip: false,
        accessLog: false,
        clientMaxBodySize: "0",
      }),
      sso,
      async () => {
        // The API lists what Traefik loaded: every route's router, none with an error.
        const r = await httpCall({ host: "127.0.0.1", port: apiPort, path: "/api/http/routers" });
        assert.equal(r.status, 200);
        const loaded = r.json() as Array<{ name: string; status: string; rule: string }>;
        for (const route of Object.values(routes)) {
          const router = loaded.find(
            (x) => x.rule === `Host(\`${route.host}\`)` && !/_http@/.test(x.name),
          );
          assert.ok(router, `a router for ${route.host}`);
          assert.equal(router!.status, "enabled", JSON.stringify(router));
        }
      },
    );
  });

  it("loads an SSO reached over HTTPS with a per-route forward-auth URL", () =>
    loads("https-sso", fixtureRoutes(), settingsWith(), {
      ...sso,
      forwardAuthUrl: "https://sso.example.org/oauth2/auth",
      forwardAuthUrls: { admin: "https://sso.example.org/oauth2/auth?allowed_groups=admins" },
    }));

  it("starts with no routes at all", async () => {
    const ports = { http: await freePort(), https: await freePort() };
    const r = await renderInto(
      path.join(dir, "empty"),
      {},
      settingsWith(),
      () => ca.issue("x"),
      ports,
    );
    const running = await runTraefik(r);
    await running.stop();
    assert.deepEqual(errors(running.log()), []);
  });

  it("is checked for real: traefik logs an error for a key file that is missing", async () => {
    const routes = fixtureRoutes();
    const ports = { http: await freePort(), https: await freePort() };
    const r = await renderInto(
      path.join(dir, "broken"),
      routes,
      settingsWith({ httpsPort: ports.https }),
      (_req, h) => ca.issue(h),
      ports,
      sso,
    );
    fs.rmSync(certKeyFile(r.paths, "notes.example.org"));
    // Touch the config so it is read again with the key gone.
    r.write(routes, settingsWith({ httpsPort: ports.https, hstsMaxAge: 1 }));
    await assert.rejects(runTraefik(r, "blog.example.org"), /traefik logged errors/);
  });

  it("runs the container's boot script: static config and plugin written, dynamic config installed, traefik started in its home", async () => {
    const home = path.join(dir, "boot");
    const paths = pathsIn(home);
    const ports = { http: await freePort(), https: await freePort() };
    const health = await freePort();
    const routes = { blog: fixtureRoutes().blog };
    const settings = settingsWith({ httpsPort: ports.https, httpPort: ports.http });
    fs.mkdirSync(paths.certDir, { recursive: true });
    const cert = ca.issue(routes.blog.host);
    fs.writeFileSync(certKeyFile(paths, routes.blog.host), cert.keyPem, { mode: 0o600 });
    fs.writeFileSync(
      path.join(home, DYNAMIC_FILE),
      renderDynamicConfig(routes, settings, { paths, certs: { blog: cert.certPem } }),
    );
    const script = bootScript(
      renderStaticConfig(settings, {
        paths,
        listen: { address: "127.0.0.1", http: ports.http, https: ports.https, health },
      }),
      paths,
    );
    const child = spawn("sh", ["-c", script], { stdio: "ignore" });
    try {
      let served = false;
      for (let i = 0; i < 100 && !served; i++) {
        await new Promise((res) => setTimeout(res, 100));
        served = await peerCertificate(ports.https, routes.blog.host, ca.certPem).then(
          () => true,
          () => false,
        );
      }
      assert.ok(served, "traefik served the route");
      assert.ok(fs.existsSync(path.join(paths.dynamicDir, DYNAMIC_FILE)));
      assert.ok(fs.existsSync(path.join(home, "plugins-local/src/psf.local/psf/psf.go")));
    } finally {
      child.kill("SIGTERM");
    }
  });
});

// ---------------------------------------------------------------- beyond the contract

describe("traefik beyond the proxy contract, with the real traefik", function () {
  let dir: string;
  let ca: TestCa;
  let echo: Awaited<ReturnType<typeof startEcho>>;
  let sso: Awaited<ReturnType<typeof startFakeSso>>;
  let proxy: RunningTraefik | undefined;
  let rendered: Rendered;
  let ports: { http: number; https: number };
  let routes: Record<string, ProxyRoute>;
  let settings: TraefikSettings;
  let app: http.Server;
  const host = (n: string) => `${n}.psf.test`;
  const TEMPLATE_LITERAL = "{{ .Foo }} {{/* c */}} $x {y}";

  before(async function () {
    requireProgram(this, "traefik");
    requireProgram(this, "openssl");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-traefik-extra-"));
    ca = new TestCa(path.join(dir, "ca"));
    [echo, sso] = await Promise.all([startEcho(), startFakeSso()]);
    // An app of its own: /slow answers after 1.5 s, /basic asks for its own password (401).
    app = http.createServer((req, res) => {
      if (req.url === "/basic") {
        res.writeHead(401, { "WWW-Authenticate": "Basic realm=app" });
        res.end("app says no");
        return;
      }
      setTimeout(() => res.end(`slow ${req.url}`), req.url === "/slow" ? 1500 : 0);
    });
    const appPort = await new Promise<number>((resolve) =>
      app.listen(0, "127.0.0.1", () => resolve((app.address() as net.AddressInfo).port)),
    );
    ports = { http: await freePort(), https: await freePort() };
    const up = { host: "127.0.0.1", port: echo.port, scheme: "http" as const };
    const base = { auth: "none" as const, websockets: false, extraHeaders: {} };
    routes = {
      open: {
        ...base,
        host: host("open"),
        upstream: up,
        extraHeaders: { "X-Frame-Options": "DENY", "X-Psf-Literal": TEMPLATE_LITERAL },
      },
      guarded: { ...base, host: host("guarded"), upstream: up, auth: "two_factor" },
      live: { ...base, host: host("live"), upstream: up, websockets: true },
      own: { ...base, host: host("own"), upstream: { ...up, port: appPort }, auth: "one_factor" },
      limited: { ...base, host: host("limited"), upstream: up },
    };
    // Each route has its own budget, and the tests stay well within 30 requests a route.
    settings = settingsWith({
      httpsPort: ports.https,
      rateLimit: { requestsPerSecond: 1, burst: 30 },
    });
    rendered = await renderInto(
      path.join(dir, "traefik"),
      routes,
      settings,
      (_req, h) => ca.issue(h),
      ports,
      {
        forwardAuthUrl: sso.forwardAuthUrl,
        portalUrl: "https://auth.psf.test/",
        sessionCookie: SSO_SESSION.split("=")[0],
      },
    );
    proxy = await runTraefik(rendered, host("open"));
  });
  after(async () => {
    await proxy?.stop();
    await Promise.all([echo?.stop(), sso?.stop()]);
    app?.closeAllConnections();
    app?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const get = (name: string, p = "/", extra: Record<string, any> = {}) =>
    httpsCall({ host: host(name), port: ports.https, path: p, ...extra }, ca.certPem);

  it("lets a route's extra header replace the security header of the same name, sent once", async () => {
    const r = await get("open");
    assert.equal(r.headers["x-frame-options"], "DENY");
  });

  it("sends Go template actions in an extra header literally (the file provider is a template)", async () => {
    const r = await get("open", "/t");
    assert.equal(r.headers["x-psf-literal"], TEMPLATE_LITERAL);
  });

  it("replaces the app's own copy of a header it sets, so each is sent once", async () => {
    const r = await get(
      "open",
      "/?set=Referrer-Policy:unsafe-url&set=X-Content-Type-Options:sniff-me",
    );
    assert.equal(r.headers["referrer-policy"], "strict-origin-when-cross-origin");
    assert.equal(r.headers["x-content-type-options"], "nosniff");
  });

  it("follows the SSO's own Location when its 401 carries one", async () => {
    const r = await get("guarded", `${SSO_LOCATION_MARKER}?x=1`);
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, SSO_LOGIN_LOCATION);
  });

  it("passes the app's own 401 to a signed-in visitor: only the SSO's 401 goes to the portal", async () => {
    const mine = await get("own", "/basic", { headers: { Cookie: SSO_SESSION } });
    assert.equal(mine.status, 401);
    assert.equal(mine.headers["www-authenticate"], "Basic realm=app");
    assert.equal(mine.body.toString(), "app says no");
    const stranger = await get("own", "/basic");
    assert.equal(stranger.status, 302);
    assert.match(String(stranger.headers.location), /^https:\/\/auth\.psf\.test\/\?rd=/);
  });

  it("drops a header whose name only aliases an identity header (Remote_User)", async () => {
    const r = await get("guarded", "/alias", {
      headers: { Cookie: SSO_SESSION, Remote_User: "mallory", "Remote.Groups": "admins" },
    });
    assert.equal(r.status, 200);
    const h = r.json().headers;
    assert.equal(h.remote_user, undefined);
    assert.equal(h["remote.groups"], undefined);
    assert.equal(h["remote-user"], "alice");
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

  it("tunnels a websocket on a route with auth for a signed-in visitor, with the SSO's identity", async () => {
    rendered.write({ ...routes, live: { ...routes.live, auth: "one_factor" } }, settings);
    try {
      await waitFor(async () => assert.equal((await get("live")).status, 302));
      const ws = await openWebsocket(ports.https, host("live"), ca.certPem, "/auth-ws", {
        Cookie: SSO_SESSION,
      });
      try {
        assert.equal(await ws.echoed("auth-ping"), "auth-ping");
      } finally {
        ws.socket.destroy();
      }
      const seen = echo.seen.find((s) => s.url === "/auth-ws")!;
      assert.equal(seen.headers["remote-user"], "alice");
      assert.equal(seen.headers.cookie, undefined);
    } finally {
      rendered.write(routes, settings);
      await waitFor(async () => assert.equal((await get("live")).status, 200));
    }
  });

  it("refuses the TLS handshake for a host it has no route for", async () => {
    await assert.rejects(peerCertificate(ports.https, host("unknown"), ca.certPem));
  });

  it("rate-limits a client per route: the burst passes, then 429, other routes unaffected", async () => {
    const statuses = await Promise.all(
      Array.from({ length: 40 }, () => get("limited", "/burst").then((r) => r.status)),
    );
    const ok = statuses.filter((x) => x === 200).length;
    const limited = statuses.filter((x) => x === 429).length;
    assert.equal(ok + limited, 40, statuses.join(","));
    // 30 at once, then one a second: some of 40 quick requests are refused.
    assert.ok(ok >= 30 && limited >= 1, statuses.join(","));
    assert.equal((await get("open", "/other")).status, 200);
  });

  it("reloads a changed config while a websocket and a request are open: both complete, the new config serves", async () => {
    const ws = await openWebsocket(ports.https, host("live"), ca.certPem, "/held");
    try {
      assert.equal(await ws.echoed("before"), "before");
      const inFlight = get("own", "/slow", { headers: { Cookie: SSO_SESSION } });
      await new Promise((res) => setTimeout(res, 300));
      // A new route, a changed header and a renewed certificate, in one reload.
      const before = await peerCertificate(ports.https, host("open"), ca.certPem);
      rendered.write(
        {
          ...routes,
          open: { ...routes.open, extraHeaders: { "X-Psf-Reloaded": "yes" } },
          fresh: { ...routes.open, host: host("fresh"), extraHeaders: {} },
        },
        settings,
        [host("open")],
      );
      const done = await inFlight;
      assert.equal(done.status, 200);
      assert.equal(done.body.toString(), "slow /slow");
      await waitFor(async () => assert.equal((await get("open")).headers["x-psf-reloaded"], "yes"));
      assert.equal((await get("fresh", "/new")).status, 200, "the new route serves");
      const after = await peerCertificate(ports.https, host("open"), ca.certPem);
      assert.notEqual(
        after.fingerprint256,
        before.fingerprint256,
        "the renewed certificate is served",
      );
      assert.equal(ws.closed(), false, "the reload closed the websocket");
      assert.equal(await ws.echoed("after"), "after");
    } finally {
      ws.socket.destroy();
      rendered.write(routes, settings);
    }
  });
});

/** Retries `fn` until it resolves (Traefik applies a reload within a few seconds). */
async function waitFor<T>(fn: () => Promise<T>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((res) => setTimeout(res, 200));
    }
  }
}

// ---------------------------------------------------------------- a real Authelia

describe("traefik forward auth against a real Authelia (real PostgreSQL storage)", function () {
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
    requireProgram(this, "traefik");
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
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-traefik-authelia-"));
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
      path.join(dir, "traefik"),
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
    proxy = await runTraefik(r, wiki);
  });
  after(async () => {
    await proxy?.stop();
    await echo?.stop();
    authelia?.stop();
    pg?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const get = (p: string, cookie?: string, headers: Record<string, string> = {}) =>
    httpsCall(
      { host: wiki, port, path: p, headers: { ...headers, ...(cookie ? { Cookie: cookie } : {}) } },
      ca.certPem,
    );

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

  it("checks access against the real request, not an X-Original-URL the client sends", async () => {
    const session = await authelia!.signIn("bob", accounts.bob.password);
    assert.ok(session);
    // bob may not see the wiki; claiming another URL must not change that.
    const r = await get("/me", session, {
      "X-Original-URL": "https://public.home.example.org/",
      "X-Forwarded-Host": "public.home.example.org",
    });
    assert.equal(r.status, 403);
  });
});

// ---------------------------------------------------------------- Pulumi (mocked engine)

describe("traefik provider in a Pulumi program (mocked engine)", () => {
  it("declares one traefik reloaded by its file watch, with each key a secret 0600 file and the certificates in the config", async () => {
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
    let instance: Traefik | undefined;
    await evaluate(testRegistry, {}, "test", () => {
      const s = settingsWith({ httpsPort: 8443, listenAddress: "192.0.2.10", apiPort: 9000 });
      instance = traefik.create(
        "traefik",
        {
          settings: s,
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
          publicUrl: (h) => traefik.publicUrl!(s, h),
          configSecret: () => undefined,
          image: (key, fallback) => (
            images.push(`${key}=${fallback}`),
            `registry.local/${fallback}`
          ),
        },
        {},
      ) as Traefik;
    });
    const w = workload!;
    assert.deepEqual(images, ["traefik=traefik:v3.7.13"]);
    assert.equal(w.image, "registry.local/traefik:v3.7.13");
    assert.deepEqual(w.reloadCommand, RELOAD_COMMAND);
    assert.equal(w.command![0], "sh");
    const boot = String(w.command![2]);
    assert.match(boot, /exec traefik --configFile=\/etc\/traefik\/traefik.yml\n$/);
    assert.match(
      boot,
      /cat > \/etc\/traefik\/plugins-local\/src\/psf.local\/psf\/psf.go <<'PSF_EOF'/,
    );
    assert.doesNotMatch(boot, /docker/i, "no Docker provider, no socket");
    assert.equal(w.stateful, false);
    assert.deepEqual(
      w.ports!.map((p) => [p.containerPort, p.hostPort, p.hostAddress]),
      [
        [80, 80, "192.0.2.10"],
        [8443, 8443, "192.0.2.10"],
        [9000, 9000, "127.0.0.1"],
      ],
    );
    assert.equal(
      w.healthcheck!.http!.port,
      containerListen({ httpPort: 80, httpsPort: 8443 }).health,
    );
    const byPath = new Map(w.files!.map((f) => [f.path, f]));
    assert.equal(byPath.size, 1 + Object.keys(routes).length);
    assert.equal(w.files!.at(-1)!.path, STAGED_DYNAMIC, "the config after the keys it names");
    for (const route of Object.values(routes)) {
      const key = byPath.get(`/etc/traefik/certs/${route.host}.key`)!;
      assert.equal(key.secret, true);
      assert.equal(key.mode, 0o600);
      assert.equal(await isSecret(key.content), true);
    }
    const conf = byPath.get(STAGED_DYNAMIC)!;
    const text = (await valueOf(conf.content)) as string;
    assert.equal(await isSecret(conf.content), false, "config diffs stay readable in a preview");
    assert.doesNotMatch(text, /KEY traefik:/);
    const dynamic = YAML.parse(text);
    assert.deepEqual(
      dynamic.tls.certificates.map((c: any) => c.certFile).sort(),
      Object.keys(routes)
        .map((r) => `CERT traefik:${r}\nCA\n`)
        .sort(),
    );
    assert.equal(
      dynamic.http.middlewares["notes_auth"].forwardAuth.address,
      "http://authelia:9091/api/authz/auth-request",
    );
    assert.equal(dynamic.http.middlewares["blog_sso"].plugin.psf.dropCookie, "authelia_session");
    assert.equal(await valueOf(instance!.results.admin.url), "https://console.example.org:8443");
    assert.equal(await valueOf(instance!.results.admin.internalUrl), "http://admin:9000");
  });
});

describe("traefik provider on the Docker target (mocked engine)", () => {
  it("plans the container with 0600 key files and a reload step that installs the config with one rename", async () => {
    const declared = await evaluate(testRegistry, fixture(), "test", (raw, stackName) =>
      runProgram(testRegistry, { raw, stackName }),
    );
    const container = declared.find(
      (r) => r.type === "docker:index/container:Container" && r.name === "traefik",
    )!;
    const reloadStep = declared.find(
      (r) => r.type === "command:local:Command" && r.name === "traefik-reload",
    )!;
    assert.ok(container && reloadStep, declared.map((r) => `${r.type} ${r.name}`).join("\n"));
    for (const r of [container, reloadStep])
      assert.doesNotMatch(JSON.stringify(mask(r.inputs)), /PRIVATE KEY-----\\nmock-/);
    const uploads = mask(container.inputs.uploads, true) as Array<{
      file: string;
      permissions: string;
    }>;
    assert.deepEqual(
      uploads
        .filter((u) => u.file.endsWith(".key"))
        .map((k) => `${k.file} ${k.permissions}`)
        .sort(),
      ["blog", "chat", "console", "files", "notes"].map(
        (h) => `/etc/traefik/certs/${h}.example.org.key 0600`,
      ),
    );
    // The reload step writes the files and runs the provider's command in the container.
    assert.ok(
      String(reloadStep.inputs.create).includes(shellQuote(applyFilesScript(RELOAD_COMMAND))),
      String(reloadStep.inputs.create),
    );
  });
});

// ---------------------------------------------------------------- validation

describe("traefik provider validation", () => {
  it("accepts the fixture with a rate limit and asks the ssl provider for one certificate per route host", () => {
    const raw = fixture();
    raw.providers.proxy.rateLimit = { requestsPerSecond: 10 };
    const { plan, issues } = validateConfig(raw, "test", testRegistry);
    assert.deepEqual(issues, []);
    const ssl = plan!.providers.find((p) => p.contract === "ssl")!;
    assert.deepEqual(ssl.requests["traefik:admin"], { domain: "console.example.org", sans: [] });
    assert.equal(Object.keys(ssl.requests).length, 5);
  });

  it("reports every bad setting at once, each at its path with a hint", () => {
    const raw = fixture();
    raw.providers.proxy.rateLimit = { burst: -1 };
    raw.providers.proxy.apiPort = 70000;
    raw.providers.proxy.frameOptions = "ALLOW";
    const { issues } = validateConfig(raw, "test", testRegistry);
    assert.deepEqual(
      issues.map((i) => i.path).sort(),
      [
        "providers.proxy.apiPort",
        "providers.proxy.frameOptions",
        "providers.proxy.rateLimit.burst",
        "providers.proxy.rateLimit.requestsPerSecond",
      ],
      JSON.stringify(issues),
    );
    for (const i of issues) assert.ok(i.hint, `a hint at ${i.path}`);
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
    for (const i of issues) assert.ok(i.hint, `a hint at ${i.path}`);
  });

  it("reports a route with auth and no sso provider", () => {
    const raw = fixture();
    delete raw.providers.sso;
    const { issues } = validateConfig(raw, "test", testRegistry);
    assert.equal(issues.length, 1, JSON.stringify(issues));
    assert.match(issues[0].message, /traefik needs a sso provider/);
  });

  it("reports the API on the HTTPS port", () => {
    const raw = fixture();
    raw.providers.proxy.listenAddress = "127.0.0.1";
    raw.providers.proxy.apiPort = 443;
    const { issues } = validateConfig(raw, "test", testRegistry);
    assert.equal(issues.length, 1, JSON.stringify(issues));
    assert.match(issues[0].message, /host port 443 is already used by traefik/);
  });
});

// ---------------------------------------------------------------- the dev stack with traefik

describe("the dev stack with traefik as its proxy (psf validate and plan)", function () {
  this.timeout(60_000);
  let dir: string;
  let file: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-traefik-dev-"));
    const text = fs.readFileSync(path.join(root, "stacks", "Pulumi.dev.yaml"), "utf8");
    const doc = YAML.parseDocument(text);
    doc.setIn(["config", "psf:providers", "proxy", "use"], "traefik");
    file = path.join(dir, "Pulumi.dev-traefik.yaml");
    fs.writeFileSync(file, doc.toString());
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  const psf = (...args: string[]) =>
    spawnSync(process.execPath, [path.join(root, "bin", "psf.js"), ...args], {
      encoding: "utf8",
      cwd: root,
    });

  it("validates", () => {
    const r = psf("validate", "--config", file);
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /valid/);
  });

  it("plans one traefik container on the dev ports with its reload step, and no nginx", () => {
    const r = psf("plan", "--config", file, "--json");
    assert.equal(r.status, 0, r.stderr);
    const { resources } = JSON.parse(r.stdout) as {
      resources: Array<{ type: string; name: string; inputs: any }>;
    };
    const names = resources.map((x) => `${x.type} ${x.name}`);
    assert.ok(names.includes("docker:index/container:Container traefik"), names.join("\n"));
    assert.ok(names.includes("command:local:Command traefik-reload"), names.join("\n"));
    assert.ok(!names.some((n) => / nginx/.test(n)), names.join("\n"));
    const container = resources.find(
      (x) => x.type === "docker:index/container:Container" && x.name === "traefik",
    )!;
    assert.deepEqual(
      container.inputs.ports.map((p: any) => [p.internal, p.external, p.ip]),
      [
        [8080, 8080, "127.0.0.1"],
        [8443, 8443, "127.0.0.1"],
      ],
    );
  });
});
