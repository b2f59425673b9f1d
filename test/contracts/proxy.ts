import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import { createHash, randomBytes } from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as tls from "tls";
import { ProxyRoute } from "../../providers/proxy/contract";
import { requireProgram } from "../support/real";

/**
 * The proxy contract, as every proxy provider must honour it with its real program:
 * HTTPS per route with that route's certificate, trustworthy X-Forwarded-* headers,
 * extra headers verbatim, HSTS and basic security headers, HTTP→HTTPS, the body limit,
 * forward auth through the SSO (portal redirect with rd=, identity headers that a client
 * cannot forge) and websocket tunnelling. A provider's test calls `proxyContractSuite`
 * with an adapter that renders its config and runs the program on loopback.
 */

/** What the suite hands the provider: routes, their certificates, the SSO and the ports. */
export interface ProxyFixture {
  /** A fresh directory the adapter may write into. */
  dir: string;
  routes: Record<string, ProxyRoute>;
  /** Requester → certificate for its route's host (PEM), signed by the suite's CA. */
  certs: Record<string, { certPem: string; keyPem: string }>;
  /** The SSO's facts, as an sso provider shares them (`sessionCookie`: the name of its session cookie). */
  sso: {
    forwardAuthUrl: string;
    portalUrl: string;
    forwardAuthUrls?: Record<string, string>;
    sessionCookie?: string;
  };
  /** Loopback ports to listen on; HTTPS is also the public port (URLs carry it). */
  ports: { http: number; https: number };
}

export interface RunningProxy {
  stop(): Promise<void>;
  /** The health check the provider declares for its workload: HTTP, this port and path. */
  health: { port: number; path: string };
}

/** An IPv4 address of this host other than loopback, where a Kubernetes probe would connect. */
function nonLoopbackAddress(): string | undefined {
  return Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === "IPv4" && !a.internal)?.address;
}

export interface ProxyAdapter {
  /** The real program the provider runs (skipped with a reason where it is missing). */
  program: string;
  /** Renders the provider's config for the fixture and starts the program; resolves when it serves. */
  start(fixture: ProxyFixture): Promise<RunningProxy>;
}

export const TEST_DOMAIN = "psf.test";

// ---------------------------------------------------------------- harness

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** A test CA and leaf certificates for hosts, made by the openssl CLI (not our code). */
export class TestCa {
  readonly certPem: string;
  constructor(private readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        path.join(dir, "ca.key"),
        "-out",
        path.join(dir, "ca.crt"),
        "-days",
        "2",
        "-subj",
        "/CN=PSF test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
      ],
      { stdio: "pipe" },
    );
    this.certPem = fs.readFileSync(path.join(dir, "ca.crt"), "utf8");
  }

  issue(host: string): { certPem: string; keyPem: string } {
    const base = path.join(this.dir, host);
    execFileSync(
      "openssl",
      [
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        `${base}.key`,
        "-out",
        `${base}.csr`,
        "-subj",
        `/CN=${host}`,
      ],
      { stdio: "pipe" },
    );
    fs.writeFileSync(`${base}.ext`, `subjectAltName=DNS:${host}\nextendedKeyUsage=serverAuth\n`);
    execFileSync(
      "openssl",
      [
        "x509",
        "-req",
        "-in",
        `${base}.csr`,
        "-CA",
        path.join(this.dir, "ca.crt"),
        "-CAkey",
        path.join(this.dir, "ca.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        `${base}.crt`,
        "-extfile",
        `${base}.ext`,
      ],
      { stdio: "pipe" },
    );
    return {
      certPem: fs.readFileSync(`${base}.crt`, "utf8"),
      keyPem: fs.readFileSync(`${base}.key`, "utf8"),
    };
  }
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  bodyLength: number;
}

const listen = (srv: http.Server) =>
  new Promise<number>((resolve) =>
    srv.listen(0, "127.0.0.1", () => resolve((srv.address() as net.AddressInfo).port)),
  );
const close = (srv: http.Server) =>
  new Promise<void>((resolve) => {
    srv.closeAllConnections();
    srv.close(() => resolve());
  });

/**
 * The upstream app: answers every request with what it received, as JSON. `?set=Name:Value`
 * adds a response header; `/big` answers 8 KiB of text. Upgrades get a 101 and an echo.
 */
export async function startEcho(): Promise<{
  port: number;
  seen: SeenRequest[];
  stop(): Promise<void>;
}> {
  const seen: SeenRequest[] = [];
  const srv = http.createServer((req, res) => {
    let bodyLength = 0;
    req.on("data", (c: Buffer) => (bodyLength += c.length));
    req.on("end", () => {
      const entry = { method: req.method!, url: req.url!, headers: req.headers, bodyLength };
      seen.push(entry);
      const url = new URL(req.url!, "http://upstream");
      for (const set of url.searchParams.getAll("set")) {
        const i = set.indexOf(":");
        res.setHeader(set.slice(0, i), set.slice(i + 1));
      }
      if (url.pathname === "/big") {
        res.setHeader("Content-Type", "text/plain");
        res.end("psf ".repeat(2048));
        return;
      }
      res.setHeader("Content-Type", "application/json");
      res.end(JSON.stringify(entry));
    });
  });
  srv.on("upgrade", (req: http.IncomingMessage, socket: net.Socket) => {
    seen.push({ method: req.method!, url: req.url!, headers: req.headers, bodyLength: 0 });
    const accept = createHash("sha1")
      .update(`${req.headers["sec-websocket-key"]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest("base64");
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    socket.on("error", () => undefined);
    socket.pipe(socket);
  });
  const port = await listen(srv);
  return { port, seen, stop: () => close(srv) };
}

export const SSO_SESSION = "psf_session=alice";
export const SSO_IDENTITY = {
  user: "alice",
  groups: "admins,dev",
  email: "alice@psf.test",
  name: "Alice Liddell",
};
/** An original URL containing this makes the fake SSO answer 401 with its own login Location. */
export const SSO_LOCATION_MARKER = "/sso-login";
export const SSO_LOGIN_LOCATION = "https://auth.psf.test/login?from=sso";

/**
 * Stands in for the SSO's verify endpoint: 401 without the session cookie, 200 with the
 * identity headers with it. Records the original URL each check was about.
 */
export async function startFakeSso(): Promise<{
  forwardAuthUrl: string;
  seen: string[];
  stop(): Promise<void>;
}> {
  const seen: string[] = [];
  const srv = http.createServer((req, res) => {
    const h = req.headers;
    const original =
      (h["x-original-url"] as string | undefined) ??
      `${h["x-forwarded-proto"]}://${h["x-forwarded-host"]}${h["x-forwarded-uri"]}`;
    seen.push(original);
    if ((h.cookie ?? "").split(/;\s*/).includes(SSO_SESSION)) {
      res.writeHead(200, {
        "Remote-User": SSO_IDENTITY.user,
        "Remote-Groups": SSO_IDENTITY.groups,
        "Remote-Email": SSO_IDENTITY.email,
        "Remote-Name": SSO_IDENTITY.name,
      });
    } else if (original.includes(SSO_LOCATION_MARKER)) {
      res.writeHead(401, { Location: SSO_LOGIN_LOCATION });
    } else res.writeHead(401);
    res.end();
  });
  const port = await listen(srv);
  return {
    forwardAuthUrl: `http://127.0.0.1:${port}/api/authz/auth-request`,
    seen,
    stop: () => close(srv),
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  json(): any;
}

export interface Call {
  /** The Host header's name; the connection goes to `address` (127.0.0.1 by default). */
  host: string;
  address?: string;
  port: number;
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

function collect(res: http.IncomingMessage): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("error", reject);
    res.on("end", () => {
      const body = Buffer.concat(chunks);
      resolve({
        status: res.statusCode!,
        headers: res.headers,
        body,
        json: () => JSON.parse(body.toString()),
      });
    });
  });
}

/** HTTPS to 127.0.0.1 with SNI and Host of the route, verifying the certificate against `ca`. */
export function httpsCall(c: Call, ca: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: "127.0.0.1",
        port: c.port,
        servername: c.host,
        ca,
        agent: false,
        method: c.method ?? "GET",
        path: c.path ?? "/",
        headers: { Host: `${c.host}:${c.port}`, ...(c.headers ?? {}) },
      },
      (res) => collect(res).then(resolve, reject),
    );
    req.on("error", reject);
    req.end(c.body);
  });
}

export function httpCall(c: Call): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: c.address ?? "127.0.0.1",
        port: c.port,
        agent: false,
        method: c.method ?? "GET",
        path: c.path ?? "/",
        headers: { Host: `${c.host}:${c.port}`, ...(c.headers ?? {}) },
      },
      (res) => collect(res).then(resolve, reject),
    );
    req.on("error", reject);
    req.end(c.body);
  });
}

/** The certificate the server presents for `host` (SNI), verified against `ca`. */
export function peerCertificate(
  port: number,
  host: string,
  ca: string,
): Promise<tls.PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, servername: host, ca }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.on("error", reject);
  });
}

/** A websocket handshake through the proxy; resolves with the echoed bytes, or the status if not upgraded. */
export function websocketEcho(
  c: Call,
  ca: string,
  payload: string,
): Promise<{ upgraded: boolean; status: number; echoed?: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: "127.0.0.1",
      port: c.port,
      servername: c.host,
      ca,
      agent: false,
      path: c.path ?? "/",
      headers: {
        Host: `${c.host}:${c.port}`,
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": randomBytes(16).toString("base64"),
      },
    });
    req.on("upgrade", (res, socket) => {
      let got = "";
      socket.on("data", (d: Buffer) => {
        got += d.toString();
        if (got.length >= payload.length) {
          socket.destroy();
          resolve({ upgraded: true, status: res.statusCode!, echoed: got });
        }
      });
      socket.write(payload);
    });
    req.on("response", (res) =>
      collect(res).then((r) => resolve({ upgraded: false, status: r.status }), reject),
    );
    req.on("error", reject);
    req.end();
  });
}

// ---------------------------------------------------------------- the suite

const route = (name: string, upstreamPort: number, extra: Partial<ProxyRoute>): ProxyRoute => ({
  host: `${name}.${TEST_DOMAIN}`,
  upstream: { host: "127.0.0.1", port: upstreamPort, scheme: "http" },
  auth: "none",
  websockets: false,
  extraHeaders: {},
  ...extra,
});

/** Characters a config language may treat specially; the contract says values are literal. */
export const LITERAL_HEADER = "v1 $request_uri {x}; 'q' \\ 100%";

export function proxyContractSuite(providerName: string, adapter: ProxyAdapter): void {
  describe(`proxy contract with the real ${adapter.program}: ${providerName}`, function () {
    let dir: string;
    let ca: TestCa;
    let echo: Awaited<ReturnType<typeof startEcho>>;
    let sso: Awaited<ReturnType<typeof startFakeSso>>;
    let proxy: RunningProxy | undefined;
    let ports: ProxyFixture["ports"];
    const portalUrl = `https://auth.${TEST_DOMAIN}`;
    const host = (name: string) => `${name}.${TEST_DOMAIN}`;

    before(async function () {
      requireProgram(this, adapter.program);
      requireProgram(this, "openssl");
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `psf-proxy-${providerName}-`));
      ca = new TestCa(path.join(dir, "ca"));
      [echo, sso] = await Promise.all([startEcho(), startFakeSso()]);
      ports = { http: await freePort(), https: await freePort() };
      const routes: Record<string, ProxyRoute> = {
        open: route("open", echo.port, {
          maxBodySize: "1k",
          extraHeaders: { "X-Psf-Route": LITERAL_HEADER },
        }),
        private: route("private", echo.port, { auth: "one_factor" }),
        live: route("live", echo.port, { websockets: true }),
        // The SSO's own portal, the one upstream that gets its session cookie.
        portal: route("portal", echo.port, { ssoOwn: true }),
      };
      const certs = Object.fromEntries(
        Object.entries(routes).map(([k, r]) => [k, ca.issue(r.host)]),
      );
      proxy = await adapter.start({
        dir: path.join(dir, "proxy"),
        routes,
        certs,
        sso: {
          forwardAuthUrl: sso.forwardAuthUrl,
          portalUrl,
          sessionCookie: SSO_SESSION.split("=")[0],
        },
        ports,
      });
    });

    after(async () => {
      await proxy?.stop();
      await Promise.all([echo?.stop(), sso?.stop()]);
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    const get = (name: string, p = "/", extra: Partial<Call> = {}) =>
      httpsCall({ host: host(name), port: ports.https, path: p, ...extra }, ca.certPem);

    it("answers its health check at an address other than loopback, as a Kubernetes probe at the pod's IP asks it", async function () {
      const address = nonLoopbackAddress();
      if (!address) return this.skip(); // a host with no network interface but loopback
      const { port, path: probe } = proxy!.health;
      const reply = await httpCall({ host: address, address, port, path: probe });
      assert.equal(reply.status, 200, `${address}:${port}${probe}: ${reply.body}`);
    });

    it("serves each route over HTTPS with the certificate issued for its host", async () => {
      for (const name of ["open", "private", "live"]) {
        const cert = await peerCertificate(ports.https, host(name), ca.certPem);
        assert.equal(cert.subject.CN, host(name));
      }
    });

    it("forwards method, path, query and body with Host and X-Forwarded-* headers of the public request", async () => {
      const r = await get("open", "/some/path?q=1&r=two", { method: "POST", body: "hello" });
      assert.equal(r.status, 200);
      const seen = r.json();
      assert.equal(seen.method, "POST");
      assert.equal(seen.url, "/some/path?q=1&r=two");
      assert.equal(seen.bodyLength, 5);
      assert.equal(seen.headers.host, `${host("open")}:${ports.https}`);
      assert.equal(seen.headers["x-forwarded-proto"], "https");
      assert.match(
        seen.headers["x-forwarded-host"],
        new RegExp(`^${host("open").replace(/\./g, "\\.")}(:${ports.https})?$`),
      );
      assert.match(seen.headers["x-forwarded-for"], /(^|, )127\.0\.0\.1$/);
    });

    it("adds the route's extra headers to responses verbatim", async () => {
      const r = await get("open");
      assert.equal(r.headers["x-psf-route"], LITERAL_HEADER);
      const other = await get("live");
      assert.equal(
        other.headers["x-psf-route"],
        undefined,
        "extra headers belong to their route only",
      );
    });

    it("sends HSTS, nosniff and a frame policy on every route", async () => {
      for (const name of ["open", "live"]) {
        const r = await get(name);
        assert.match(String(r.headers["strict-transport-security"]), /^max-age=[1-9][0-9]*/);
        assert.equal(r.headers["x-content-type-options"], "nosniff");
        assert.match(String(r.headers["x-frame-options"]), /^(SAMEORIGIN|DENY)$/);
      }
    });

    it("redirects plain HTTP to HTTPS on the same host, path and query", async () => {
      const r = await httpCall({ host: host("open"), port: ports.http, path: "/a/b?c=d" });
      assert.ok([301, 308].includes(r.status), `status ${r.status}`);
      assert.equal(r.headers.location, `https://${host("open")}:${ports.https}/a/b?c=d`);
    });

    it("refuses a body over the route's maxBodySize with 413 and passes one within it", async () => {
      const before = echo.seen.length;
      const big = await get("open", "/upload", { method: "POST", body: Buffer.alloc(4096, 97) });
      assert.equal(big.status, 413);
      assert.equal(echo.seen.length, before, "the refused body never reached the app");
      const small = await get("open", "/upload", { method: "POST", body: Buffer.alloc(512, 97) });
      assert.equal(small.status, 200);
      assert.equal(small.json().bodyLength, 512);
    });

    it("drops identity headers a client sends to a route without auth", async () => {
      const r = await get("open", "/", {
        headers: { "Remote-User": "mallory", "Remote-Groups": "admins" },
      });
      assert.equal(r.status, 200);
      assert.equal(r.json().headers["remote-user"], undefined);
      assert.equal(r.json().headers["remote-groups"], undefined);
    });

    it("sends a visitor without a session to the SSO portal with rd= the original URL", async () => {
      const before = echo.seen.length;
      const original = `https://${host("private")}:${ports.https}/secret/page?x=1`;
      const r = await get("private", "/secret/page?x=1");
      assert.equal(r.status, 302);
      const location = new URL(String(r.headers.location));
      assert.equal(location.origin, portalUrl);
      assert.equal(location.searchParams.get("rd"), original);
      assert.equal(sso.seen.at(-1), original, "the SSO was asked about the original URL");
      assert.equal(echo.seen.length, before, "the app was not reached");
    });

    it("passes a visitor with a session through with the SSO's identity, not the client's", async () => {
      const r = await get("private", "/me", {
        headers: { Cookie: SSO_SESSION, "Remote-User": "mallory" },
      });
      assert.equal(r.status, 200);
      const h = r.json().headers;
      assert.equal(h["remote-user"], SSO_IDENTITY.user);
      assert.equal(h["remote-groups"], SSO_IDENTITY.groups);
      assert.equal(h["remote-email"], SSO_IDENTITY.email);
      assert.equal(h["remote-name"], SSO_IDENTITY.name);
    });

    it("keeps the SSO's session cookie from every app but the SSO's own portal, and passes every other cookie as it came", async () => {
      const cookies = async (name: string, cookie: string) => {
        const r = await get(name, "/c", { headers: { Cookie: cookie } });
        assert.equal(r.status, 200, `${name}: ${cookie}`);
        return r.json().headers.cookie as string | undefined;
      };
      const [sessionName] = SSO_SESSION.split("=");
      for (const name of ["open", "private"]) {
        assert.equal(
          await cookies(name, `theme=dark; ${SSO_SESSION}; lang=en`),
          "theme=dark; lang=en",
        );
        assert.equal(await cookies(name, `${SSO_SESSION}; lang=en`), "lang=en");
        assert.equal(await cookies(name, `theme=dark; ${SSO_SESSION}`), "theme=dark");
        // A large session split into parts (oauth2-proxy's `_0`, `_1`): every part stays.
        assert.equal(
          await cookies(name, `${sessionName}_0=a; x=1; ${sessionName}_1=b; ${SSO_SESSION}`),
          "x=1",
        );
      }
      // Names that only look alike are other cookies (no session: the open route only).
      assert.equal(
        await cookies("open", `my${sessionName}=1; ${sessionName}x=2`),
        `my${sessionName}=1; ${sessionName}x=2`,
      );
      // Only the session: no Cookie header at all.
      assert.equal(await cookies("open", SSO_SESSION), undefined);
      // The SSO itself gets its own session, or nobody could stay signed in.
      assert.equal(
        await cookies("portal", `theme=dark; ${SSO_SESSION}; lang=en`),
        `theme=dark; ${SSO_SESSION}; lang=en`,
      );
    });

    it("tunnels a websocket upgrade on a route that asks for websockets", async () => {
      const r = await websocketEcho(
        { host: host("live"), port: ports.https, path: "/socket" },
        ca.certPem,
        "ping-psf",
      );
      assert.equal(r.upgraded, true, `status ${r.status}`);
      assert.equal(r.status, 101);
      assert.equal(r.echoed, "ping-psf");
    });
  });
}
