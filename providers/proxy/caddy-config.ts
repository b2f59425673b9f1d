import { sizeBytes } from "../../components/validate/formats";
import type { CaddySettings } from "./caddy";
import { ProxyRoute } from "./contract";
import { certFiles, publicUrl, responseHeaders, upstreamUrl } from "./route-parts";
import { SSO_IDENTITY_HEADERS } from "../sso/contract";

/** Where Caddy finds its files. The container uses `CONTAINER_PATHS`; tests a temp dir. */
export interface CaddyPaths {
  config: string;
  /** Holds `<host>.crt` and `<host>.key` per route. */
  certDir: string;
  /** HTTP-01 challenges are served from `<acmeRoot>/.well-known/acme-challenge/`. */
  acmeRoot: string;
}

export const CONTAINER_PATHS: CaddyPaths = {
  config: "/etc/caddy/caddy.json",
  certDir: "/etc/caddy/psf/certs",
  acmeRoot: "/var/www/acme",
};

/** Caddy's admin endpoint in the container: loopback only, where `caddy reload` finds it. */
export const CONTAINER_ADMIN = "localhost:2019";

/**
 * Ports Caddy binds inside its container: the public ports themselves, so that a workload in
 * the stack reaches a public URL at the same address as a browser does (as nginx does). The
 * health server takes a port neither of them uses.
 */
export function containerListen(s: { httpPort: number; httpsPort: number }): {
  http: number;
  https: number;
  health: number;
} {
  const health = [8080, 8079, 8078].find((p) => p !== s.httpPort && p !== s.httpsPort)!;
  return { http: s.httpPort, https: s.httpsPort, health };
}
export const HEALTH_PATH = "/psf-health";

export interface RenderOptions {
  paths: CaddyPaths;
  /** Bind address (all when absent) and ports; the health server binds every address (see below). */
  listen: { address?: string; http: number; https: number; health: number };
  /** The admin endpoint (`host:port`) that `caddy reload` talks to. */
  admin: string;
  /** The SSO's facts; required when a route has auth (`forwardAuthUrls`: per requester). */
  sso?: { forwardAuthUrl: string; portalUrl: string; forwardAuthUrls?: Record<string, string> };
  /** The SSO's session cookie (`authelia_session`): never forwarded to an app. */
  ssoSessionCookie?: string;
  /**
   * A route's certificate files by host, where they are not `certFiles(paths, host)`: live
   * files an ssl provider keeps current in a volume (acme).
   */
  certFiles?: Record<string, { cert: string; key: string }>;
}

// Shared by every proxy provider's config (route-parts.ts); importers of this file keep them.
export { certFiles, publicUrl, responseHeaders, upstreamUrl } from "./route-parts";

/**
 * A value Caddy takes literally: its replacer expands `{...}` placeholders in header values and
 * redirect targets, and reads `\{` / `\}` as plain braces.
 */
export function literal(value: string): string {
  return value.replace(/[{}]/g, (c) => `\\${c}`);
}

/** URLs from other providers go into the config; refuse what is not a plain http(s) URL. */
function parseUrl(url: string, what: string): URL {
  if (!/^https?:\/\/[^\s"'\\{}]+$/.test(url))
    throw new Error(`caddy: ${what} "${url}" is not a plain http(s) URL`);
  return new URL(url);
}

/** `host:port` for Caddy's `dial`, with the scheme's default port. */
function dialOf(u: URL): string {
  return `${u.hostname}:${u.port || (u.protocol === "https:" ? 443 : 80)}`;
}

function listenOn(address: string | undefined, port: number): string {
  if (!address) return `:${port}`;
  return `${address.includes(":") ? `[${address}]` : address}:${port}`;
}

type Json = Record<string, unknown>;

const redirect = (status: number, location: string): Json => ({
  handler: "static_response",
  status_code: status,
  headers: { Location: [location] },
});
/** Closes the connection without an answer (nginx's 444). */
const ABORT: Json = { handler: "static_response", abort: true };

/** The public request's URL, query-escaped, for the portal's `rd=`. */
const ESCAPED_ORIGINAL = "https%3A%2F%2F{http.request.hostport}{http.request.uri_escaped}";
const ORIGINAL = "https://{http.request.hostport}{http.request.uri}";

/** `<portal>?rd=` (or `&rd=` when the portal URL has a query). */
function portalRedirectBase(portalUrl: string): string {
  const u = parseUrl(portalUrl, "the SSO portal URL");
  return literal(`${u.origin}${u.pathname}${u.search ? `${u.search}&` : "?"}rd=`);
}

/** Matches when the SSO's answer lacks `header` (Caddy's placeholder is then empty). */
const answerLacks = (header: string): Json => ({
  vars: { [`{http.reverse_proxy.header.${header}}`]: [""] },
});

/**
 * Caddy's `forward_auth`, as its Caddyfile directive expands it: a GET to the SSO with the
 * original request's facts; on 2xx the identity headers of its answer go into the request and
 * the route goes on; on 401 the visitor goes to the SSO's Location, else to its portal with
 * rd=; any other answer (403) goes to the visitor as the SSO gave it.
 */
function forwardAuth(forwardAuthUrl: string, portalUrl: string): Json {
  const u = parseUrl(forwardAuthUrl, "the SSO forward-auth URL");
  const copy = [...SSO_IDENTITY_HEADERS];
  return {
    handler: "reverse_proxy",
    upstreams: [{ dial: dialOf(u) }],
    transport: {
      protocol: "http",
      dial_timeout: "10s",
      response_header_timeout: "15s",
      ...(u.protocol === "https:" ? { tls: { server_name: u.hostname } } : {}),
    },
    rewrite: { method: "GET", uri: literal(`${u.pathname}${u.search}`) },
    headers: {
      request: {
        set: {
          Host: [u.host],
          "X-Forwarded-Method": ["{http.request.method}"],
          "X-Forwarded-Uri": ["{http.request.uri}"],
          "X-Original-Method": ["{http.request.method}"],
          "X-Original-URL": [ORIGINAL],
        },
      },
    },
    handle_response: [
      {
        match: { status_code: [2] },
        routes: [
          { handle: [{ handler: "headers", request: { delete: copy } }] },
          ...copy.map((h) => ({
            match: [{ not: [answerLacks(h)] }],
            handle: [
              {
                handler: "headers",
                request: { set: { [h]: [`{http.reverse_proxy.header.${h}}`] } },
              },
            ],
          })),
        ],
      },
      {
        match: { status_code: [401] },
        routes: [
          {
            match: [answerLacks("Location")],
            handle: [redirect(302, `${portalRedirectBase(portalUrl)}${ESCAPED_ORIGINAL}`)],
            terminal: true,
          },
          { handle: [redirect(302, "{http.reverse_proxy.header.Location}")] },
        ],
      },
    ],
  };
}

/**
 * The SSO's session cookie (and its `_0`, `_1`... parts, as oauth2-proxy splits a large one)
 * out of the Cookie header, every other cookie as it came: each match goes with the separator
 * before it, then a separator left at the front goes. Nothing left: no Cookie header at all.
 */
function cookieCut(name: string): Json[] {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`caddy: unusable SSO cookie name ${name}`);
  const cookie = `${name.replace(/\./g, "\\.")}(?:_[0-9]+)?=[^;]*`;
  return [
    {
      handler: "headers",
      request: {
        replace: {
          Cookie: [
            { search_regexp: `(?:^|;\\s*)${cookie}`, replace: "" },
            { search_regexp: "^;\\s*", replace: "" },
          ],
        },
      },
    },
    {
      handler: "subroute",
      routes: [
        {
          match: [{ header_regexp: { Cookie: { pattern: "^\\s*$" } } }],
          handle: [{ handler: "headers", request: { delete: ["Cookie"] } }],
        },
      ],
    },
  ];
}

/** The HTTPS site of one route, as one subroute behind a host matcher. */
function siteRoute(requester: string, r: ProxyRoute, s: CaddySettings, o: RenderOptions): Json {
  const auth = r.auth !== "none";
  const headers = responseHeaders(r, s);
  const upstream = parseUrl(upstreamUrl(r), "upstream");
  const maxBody = sizeBytes(r.maxBodySize ?? s.clientMaxBodySize);
  const handle: Json[] = [
    {
      handler: "headers",
      request: {
        // Identity comes from the SSO only; an upgrade only where the route allows websockets.
        delete: [...SSO_IDENTITY_HEADERS, ...(r.websockets ? [] : ["Upgrade"])],
      },
      // Set before anything answers, so redirects and errors (401 → portal, 413) carry them too.
      response: { set: Object.fromEntries(headers.map(([n, v]) => [n, [literal(v)]])) },
    },
    ...(maxBody > 0 ? [{ handler: "request_body", max_size: maxBody }] : []),
    ...(auth
      ? [
          forwardAuth(
            o.sso!.forwardAuthUrls?.[requester] ?? o.sso!.forwardAuthUrl,
            o.sso!.portalUrl,
          ),
        ]
      : []),
    ...(o.ssoSessionCookie && !r.ssoOwn ? cookieCut(o.ssoSessionCookie) : []),
    ...(s.gzip
      ? [{ handler: "encode", encodings: { gzip: {} }, prefer: ["gzip"], minimum_length: 1024 }]
      : []),
    {
      handler: "reverse_proxy",
      upstreams: [{ dial: dialOf(upstream) }],
      transport: {
        protocol: "http",
        dial_timeout: `${s.connectTimeout}s`,
        response_header_timeout: `${s.readTimeout}s`,
        ...(upstream.protocol === "https:" ? { tls: {} } : {}),
      },
      // Without it, a reload closes every websocket of the old config at once.
      ...(r.websockets && s.websocketReloadGrace > 0
        ? { stream_close_delay: `${s.websocketReloadGrace}s` }
        : {}),
      headers: {
        request: {
          set: {
            "X-Real-IP": ["{http.request.remote.host}"],
            "X-Forwarded-Port": [String(s.httpsPort)],
          },
        },
        // One value per header: ours replace the app's.
        response: { delete: headers.map(([n]) => n) },
      },
    },
  ];
  return {
    match: [{ host: [r.host] }],
    handle: [{ handler: "subroute", routes: [{ handle }] }],
    terminal: true,
  };
}

/** Plain HTTP of one route: ACME challenges from the webroot, everything else to HTTPS. */
function httpRoutes(r: ProxyRoute, s: CaddySettings, o: RenderOptions): Json[] {
  return [
    {
      match: [{ host: [r.host], path: ["/.well-known/acme-challenge/*"] }],
      handle: [{ handler: "file_server", root: o.paths.acmeRoot }],
      terminal: true,
    },
    {
      match: [{ host: [r.host] }],
      handle: [redirect(301, `${literal(publicUrl(r.host, s.httpsPort))}{http.request.uri}`)],
      terminal: true,
    },
  ];
}

/**
 * The whole Caddy JSON config: an HTTP server (redirects + ACME) and an HTTPS server with a site
 * per route, certificates from files (`automatic_https` off: PSF's ssl provider supplies TLS),
 * unknown hosts turned away, and a health server. Pure: the same routes and settings
 * give the same text, which `caddy validate` can check.
 */
export function renderCaddyConfig(
  routes: Record<string, ProxyRoute>,
  s: CaddySettings,
  o: RenderOptions,
): string {
  const entries = Object.entries(routes).sort(([, a], [, b]) =>
    a.host < b.host ? -1 : a.host > b.host ? 1 : 0,
  );
  if (entries.some(([, r]) => r.auth !== "none") && !o.sso)
    throw new Error("caddy: routes with auth need the SSO's forwardAuthUrl and portalUrl");
  const off = { disable: true };
  const config = {
    // `caddy reload` posts the new config here; nothing is saved beside the file.
    admin: { listen: o.admin, config: { persist: false } },
    apps: {
      http: {
        servers: {
          psf_http: {
            listen: [listenOn(o.listen.address, o.listen.http)],
            automatic_https: off,
            routes: [...entries.flatMap(([, r]) => httpRoutes(r, s, o)), { handle: [ABORT] }],
          },
          psf_https: {
            listen: [listenOn(o.listen.address, o.listen.https)],
            automatic_https: off,
            // A host without a certificate gets no handshake: no site answers for it.
            tls_connection_policies: [{ protocol_min: "tls1.2" }],
            routes: [...entries.map(([req, r]) => siteRoute(req, r, s, o)), { handle: [ABORT] }],
          },
          psf_health: {
            // Every address: Docker's check runs inside the container, but a Kubernetes probe
            // connects to the pod's IP. It answers its one path only, and its port is not published.
            listen: [`:${o.listen.health}`],
            automatic_https: off,
            routes: [
              {
                match: [{ path: [HEALTH_PATH] }],
                handle: [{ handler: "static_response", status_code: 200, body: "ok\n" }],
              },
              { handle: [{ handler: "static_response", status_code: 404 }] },
            ],
          },
        },
      },
      tls: {
        certificates: {
          load_files: entries.map(([, r]) => {
            const f = o.certFiles?.[r.host] ?? certFiles(o.paths, r.host);
            return { certificate: f.cert, key: f.key, tags: [r.host] };
          }),
        },
      },
    },
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}
