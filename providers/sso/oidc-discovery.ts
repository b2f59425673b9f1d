import * as http from "http";
import * as https from "https";
import * as net from "net";
import * as tls from "tls";

export interface DiscoveredEndpoints {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  userinfo_endpoint?: string;
}

/** `https_proxy`/`HTTPS_PROXY` unless `no_proxy` names the host (as Go programs, oauth2-proxy among them, read them). */
function proxyFor(host: string): URL | undefined {
  const env = process.env.https_proxy ?? process.env.HTTPS_PROXY;
  if (!env) return undefined;
  const noProxy = (process.env.no_proxy ?? process.env.NO_PROXY ?? "")
    .split(",")
    .map((s) => s.trim().replace(/^\*?\./, ""))
    .filter(Boolean);
  if (noProxy.some((d) => d === "*" || host === d || host.endsWith(`.${d}`))) return undefined;
  return new URL(env.includes("://") ? env : `http://${env}`);
}

/** A TLS socket to `url`'s host, through an HTTP CONNECT proxy when the environment names one. */
function connect(
  url: URL,
  ca: string | undefined,
  done: (err: Error | null, s?: net.Socket) => void,
) {
  const port = Number(url.port || 443);
  const servername = net.isIP(url.hostname) ? undefined : url.hostname;
  const proxy = proxyFor(url.hostname);
  if (!proxy) {
    const s = tls.connect({ host: url.hostname, port, servername, ca });
    s.once("secureConnect", () => done(null, s)).once("error", done);
    return;
  }
  http
    .request({
      host: proxy.hostname,
      port: Number(proxy.port || 80),
      method: "CONNECT",
      path: `${url.hostname}:${port}`,
    })
    .once("connect", (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        return done(new Error(`proxy ${proxy.host} answered ${res.statusCode} to CONNECT`));
      }
      const s = tls.connect({ socket, servername, ca });
      s.once("secureConnect", () => done(null, s)).once("error", done);
    })
    .once("error", done)
    .end();
}

/** GET an https URL as JSON, trusting `ca` (PEM) beside the system's CAs when given. */
function getJson(url: URL, ca: string | undefined, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      url,
      {
        // No agent: node then opens the connection with createConnection (a fresh one each time),
        // and knows no default port for the Host header.
        defaultPort: 443,
        timeout: timeoutMs,
        // tls.rootCertificates: a custom CA is added to the public ones, not instead of them.
        createConnection: (_opts: unknown, cb: (err: Error | null, s?: net.Socket) => void) =>
          connect(url, ca ? [...tls.rootCertificates, ca].join("\n") : undefined, cb),
      } as https.RequestOptions,
      (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (d) => (body += d));
        res.on("end", () => {
          if (res.statusCode !== 200) return reject(new Error(`${url} answered ${res.statusCode}`));
          try {
            resolve(JSON.parse(body));
          } catch {
            reject(new Error(`${url} did not answer JSON`));
          }
        });
      },
    );
    req.once("timeout", () => req.destroy(new Error(`${url} did not answer in ${timeoutMs} ms`)));
    req.once("error", reject);
  });
}

/**
 * The issuer's OpenID discovery document (`<issuer>/.well-known/openid-configuration`), checked
 * as the spec asks: its `issuer` is the one configured, its endpoints are there.
 */
export async function discover(
  issuerUrl: string,
  ca?: string,
  timeoutMs = 15_000,
): Promise<DiscoveredEndpoints> {
  const url = new URL(`${issuerUrl.replace(/\/$/, "")}/.well-known/openid-configuration`);
  let doc: Partial<DiscoveredEndpoints>;
  try {
    doc = (await getJson(url, ca, timeoutMs)) as Partial<DiscoveredEndpoints>;
  } catch (e) {
    throw new Error(
      `oidc: cannot read the issuer's discovery document ${url}: ${(e as Error).message} (set authorizationEndpoint, tokenEndpoint and userinfoEndpoint to deploy without it)`,
    );
  }
  if (doc.issuer !== issuerUrl)
    throw new Error(
      `oidc: the discovery document ${url} names the issuer "${doc.issuer}", not "${issuerUrl}" (set issuerUrl to exactly the issuer the identity provider names)`,
    );
  if (!doc.authorization_endpoint || !doc.token_endpoint)
    throw new Error(
      `oidc: the discovery document ${url} lacks authorization_endpoint or token_endpoint`,
    );
  return doc as DiscoveredEndpoints;
}

export interface Endpoints {
  authorization: string;
  token: string;
  userinfo: string;
}

/** The endpoints a stack's settings give, the discovery document's for those they leave out. */
export async function endpointsFor(settings: {
  issuerUrl: string;
  issuerCaPem?: string;
  authorizationEndpoint?: string;
  tokenEndpoint?: string;
  userinfoEndpoint?: string;
}): Promise<Endpoints> {
  const given = {
    authorization: settings.authorizationEndpoint,
    token: settings.tokenEndpoint,
    userinfo: settings.userinfoEndpoint,
  };
  if (given.authorization && given.token && given.userinfo) return given as Endpoints;
  const doc = await discover(settings.issuerUrl, settings.issuerCaPem);
  return {
    authorization: given.authorization ?? doc.authorization_endpoint,
    token: given.token ?? doc.token_endpoint,
    userinfo: given.userinfo ?? doc.userinfo_endpoint ?? "",
  };
}
