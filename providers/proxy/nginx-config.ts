import type { NginxSettings } from "./nginx";
import { ProxyRoute } from "./contract";
import { certFiles, publicUrl, responseHeaders, upstreamUrl } from "./route-parts";
import { SSO_IDENTITY_HEADERS } from "../sso/contract";

/** Where nginx finds and puts its files. The container uses `CONTAINER_PATHS`; tests a temp dir. */
export interface NginxPaths {
  config: string;
  /** Holds `<host>.crt` and `<host>.key` per route. */
  certDir: string;
  pid: string;
  /** HTTP-01 challenges are served from `<acmeRoot>/.well-known/acme-challenge/`. */
  acmeRoot: string;
  errorLog: string;
  accessLog: string;
  /** Temp files (request bodies, proxy buffers); absent: nginx's compiled-in paths. */
  tempDir?: string;
}

export const CONTAINER_PATHS: NginxPaths = {
  config: "/etc/nginx/nginx.conf",
  certDir: "/etc/nginx/psf/certs",
  pid: "/var/run/nginx.pid",
  acmeRoot: "/var/www/acme",
  errorLog: "stderr",
  accessLog: "/dev/stdout",
};

/**
 * Ports nginx binds inside its container: the public ports themselves, so that a workload in
 * the stack reaches a public URL (`https://auth.<domain>:8443`, an OIDC issuer) at the same
 * address as a browser does. The health server takes a port neither of them uses.
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
/** The internal location the auth subrequest goes to. */
export const AUTH_LOCATION = "/.psf-auth";

export interface RenderOptions {
  paths: NginxPaths;
  /** Bind address (all when absent) and ports; the health server binds every address. */
  listen: { address?: string; http: number; https: number; health: number };
  /**
   * The SSO's facts; required when a route has auth. `forwardAuthUrls`: a route's own
   * forward-auth URL, by requester, where the SSO gives one.
   */
  sso?: { forwardAuthUrl: string; portalUrl: string; forwardAuthUrls?: Record<string, string> };
  /** The SSO's session cookie (`authelia_session`): never forwarded to an app. */
  ssoSessionCookie?: string;
  /** Worker user (the official image has `nginx`); absent: no `user` directive. */
  user?: string;
  /**
   * The nginx version the config is for: `http2 on` needs 1.25.1. Unknown: `listen ... http2`,
   * which every nginx since 1.9.5 accepts (newer ones with a deprecation warning), so the
   * config runs on the pinned image and on Debian's nginx alike.
   */
  version?: string;
  /**
   * A route's certificate files by host, where they are not `certFiles(paths, host)`: live
   * files an ssl provider keeps current in a volume (acme).
   */
  certFiles?: Record<string, { cert: string; key: string }>;
}

// Shared by every proxy provider's config (route-parts.ts); importers of this file keep them.
export { certFiles, publicUrl, responseHeaders, upstreamUrl } from "./route-parts";

/**
 * A double-quoted nginx string whose content is taken literally: nginx has no escape for
 * `$`, so it becomes `${psf_dollar}`, a variable holding "$" (the `geo` below).
 */
export function quote(value: string): string {
  return `"${literal(value)}"`;
}

function literal(value: string): string {
  return value.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\$/g, () => "${psf_dollar}");
}

function versionAtLeast(version: string, min: string): boolean {
  const a = version.split(".").map(Number);
  const b = min.split(".").map(Number);
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

function listenOn(address: string | undefined, port: number): string {
  if (!address) return String(port);
  return `${address.includes(":") ? `[${address}]` : address}:${port}`;
}

/** URLs from other providers go into the config verbatim; refuse what would break it. */
function safeUrl(url: string, what: string): string {
  if (!/^https?:\/\/[^\s;{}"'\\]+$/.test(url))
    throw new Error(`nginx: ${what} "${url}" is not a plain http(s) URL`);
  return url;
}

/**
 * `$psf_app_cookie`: the request's cookies without the SSO's session cookie (and its `_0`,
 * `_1`... parts, as oauth2-proxy splits a large one), each other cookie as it came. A map takes
 * out one occurrence (nginx has no global replace), so {@link COOKIE_PASSES} of them in a row;
 * the last map drops the separator left at the front. An empty value makes nginx send no Cookie
 * header at all.
 */
const COOKIE_PASSES = 4;

function sessionCookieMaps(name: string): string[] {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`nginx: unusable SSO cookie name ${name}`);
  const cookie = `${name.replace(/\./g, "\\.")}(?:_[0-9]+)?=[^;]*`;
  const cut = (from: string, to: string) => [
    `  map ${from} ${to} {`,
    `    "~^(?<psf_before>.*?)(?:^|; *)${cookie}(?<psf_after>.*)$" "$psf_before$psf_after";`,
    `    default ${from};`,
    "  }",
  ];
  const stage = (i: number) => (i === 0 ? "$http_cookie" : `$psf_cookie_cut${i}`);
  return [
    "  # The SSO's session cookie stays with the SSO: apps get every other cookie.",
    ...Array.from({ length: COOKIE_PASSES }, (_, i) => cut(stage(i), stage(i + 1))).flat(),
    `  map ${stage(COOKIE_PASSES)} $psf_app_cookie {`,
    '    "~^; *(?<psf_rest>.*)$" $psf_rest;',
    `    default ${stage(COOKIE_PASSES)};`,
    "  }",
  ];
}

/** `<portal>?rd=` (or `&rd=` when the portal URL has a query). */
function portalRedirectBase(portalUrl: string): string {
  const u = new URL(safeUrl(portalUrl, "the SSO portal URL"));
  return `${u.origin}${u.pathname}${u.search ? `${u.search}&` : "?"}rd=`;
}

/** The SSO's identity headers, each with the nginx variable name of its upstream answer. */
const IDENTITY_HEADERS = SSO_IDENTITY_HEADERS.map(
  (h) => [h, h.toLowerCase().replace(/-/g, "_")] as const,
);

/**
 * The whole `nginx.conf`: one HTTP (redirect + ACME) and one HTTPS server per route, a
 * default server per port that turns unknown hosts away, and a health server.
 * Pure: the same routes and settings give the same text, which `nginx -t` can check.
 */
export function renderNginxConfig(
  routes: Record<string, ProxyRoute>,
  s: NginxSettings,
  o: RenderOptions,
): string {
  // Code-point order: hosts are ASCII, and localeCompare cost ~15 µs a comparison (60 ms at 500).
  const entries = Object.entries(routes).sort(([, a], [, b]) =>
    a.host < b.host ? -1 : a.host > b.host ? 1 : 0,
  );
  const anyAuth = entries.some(([, r]) => r.auth !== "none");
  const anyWebsockets = entries.some(([, r]) => r.websockets);
  if (anyAuth && !o.sso)
    throw new Error("nginx: routes with auth need the SSO's forwardAuthUrl and portalUrl");
  const modernHttp2 = o.version !== undefined && versionAtLeast(o.version, "1.25.1");
  const http = listenOn(o.listen.address, o.listen.http);
  const https = `${listenOn(o.listen.address, o.listen.https)} ssl${modernHttp2 ? "" : " http2"}`;
  const t = o.paths.tempDir;

  const out: string[] = [
    "# Generated by PSF (nginx provider); `pulumi up` rewrites it.",
    ...(o.user ? [`user ${o.user};`] : []),
    "worker_processes auto;",
    `pid ${o.paths.pid};`,
    `error_log ${o.paths.errorLog} warn;`,
    "",
    `events { worker_connections ${s.workerConnections}; }`,
    "",
    "http {",
    "  default_type application/octet-stream;",
    "  server_tokens off;",
    "  sendfile on;",
    "  keepalive_timeout 65s;",
    `  access_log ${o.paths.accessLog};`,
    "  server_names_hash_bucket_size 128;",
    "  map_hash_bucket_size 128;",
    "  proxy_headers_hash_max_size 1024;",
    "  proxy_headers_hash_bucket_size 128;",
    ...(t
      ? ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map(
          (k) => `  ${k}_temp_path ${t}/${k};`,
        )
      : []),
    ...(s.resolver
      ? [`  resolver ${s.resolver} valid=10s ipv6=off;`, "  resolver_timeout 5s;"]
      : []),
    "",
    "  ssl_protocols TLSv1.2 TLSv1.3;",
    "  ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;",
    "  ssl_prefer_server_ciphers off;",
    "  ssl_session_cache shared:psf_ssl:10m;",
    "  ssl_session_timeout 1d;",
    "  ssl_session_tickets off;",
    ...(s.gzip
      ? [
          "",
          "  gzip on;",
          "  gzip_vary on;",
          "  gzip_proxied any;",
          "  gzip_comp_level 5;",
          "  gzip_min_length 1024;",
          "  gzip_types text/plain text/css text/xml text/javascript application/javascript application/json application/xml application/rss+xml image/svg+xml;",
        ]
      : []),
    "",
    '  # A literal "$" for quoted values: nginx strings have no escape for it.',
    '  geo $psf_dollar { default "$"; }',
  ];
  if (anyWebsockets)
    out.push(
      "  map $http_upgrade $psf_connection_upgrade {",
      "    default upgrade;",
      '    "" close;',
      "  }",
    );
  if (o.ssoSessionCookie) out.push(...sessionCookieMaps(o.ssoSessionCookie));
  if (anyAuth) {
    // The SSO's own login URL (Location on its 401) when it gives one, else the portal with rd=.
    out.push(
      "  map $psf_auth_location $psf_login_url {",
      `    "" "${literal(portalRedirectBase(o.sso!.portalUrl))}$scheme://$http_host$request_uri";`,
      "    default $psf_auth_location;",
      "  }",
    );
  }
  if (s.rateLimit) {
    out.push("  limit_req_status 429;");
    for (const [, r] of entries)
      out.push(
        `  limit_req_zone $binary_remote_addr zone=psf_rl_${r.host}:10m rate=${s.rateLimit.requestsPerSecond}r/s;`,
      );
  }

  out.push(
    "",
    "  # Unknown hosts: refused on both ports.",
    "  server {",
    `    listen ${http} default_server;`,
    "    return 444;",
    "  }",
    "  server {",
    `    listen ${https} default_server;`,
    "    ssl_reject_handshake on;",
    "  }",
    "",
    // Every address: Docker's check runs inside the container, but a Kubernetes probe
    // connects to the pod's IP. It answers its one path only, and its port is not published.
    "  # Health of nginx itself, for the container's health check.",
    "  server {",
    `    listen ${o.listen.health};`,
    `    location = ${HEALTH_PATH} { access_log off; default_type text/plain; return 200 "ok\\n"; }`,
    "    location / { return 404; }",
    "  }",
  );
  for (const [requester, r] of entries)
    out.push(
      "",
      ...routeServers(requester, r, s, o, http, https, modernHttp2).map((l) => `  ${l}`),
    );
  out.push("}", "");
  return out.join("\n");
}

// Lines are nested and flattened once (`.flat()`) rather than spread: V8's optimizing
// compiler spent ~0.3 s on this function with its spreads (psf plan, 500 routes).
function routeServers(
  requester: string,
  r: ProxyRoute,
  s: NginxSettings,
  o: RenderOptions,
  http: string,
  https: string,
  modernHttp2: boolean,
): string[] {
  const files = o.certFiles?.[r.host] ?? certFiles(o.paths, r.host);
  const pub = publicUrl(r.host, s.httpsPort);
  const upstream = upstreamUrl(r);
  const headers = responseHeaders(r, s);
  const auth = r.auth !== "none";
  return [
    `# ${requester}: ${pub} -> ${upstream}${auth ? ` (auth: ${r.auth})` : ""}`,
    "server {",
    `  listen ${http};`,
    `  server_name ${r.host};`,
    "  location ^~ /.well-known/acme-challenge/ {",
    `    root ${o.paths.acmeRoot};`,
    "    default_type text/plain;",
    "    try_files $uri =404;",
    "  }",
    `  location / { return 301 ${pub}$request_uri; }`,
    "}",
    "server {",
    `  listen ${https};`,
    modernHttp2 ? ["  http2 on;"] : [],
    `  server_name ${r.host};`,
    `  ssl_certificate ${files.cert};`,
    `  ssl_certificate_key ${files.key};`,
    `  client_max_body_size ${r.maxBodySize ?? s.clientMaxBodySize};`,
    // `always`: also on redirects and errors nginx makes itself (401 → portal, 413).
    headers.map(([n, v]) => `  add_header ${n} ${quote(v)} always;`),
    auth
      ? authLocation(o.sso!.forwardAuthUrls?.[requester] ?? o.sso!.forwardAuthUrl, s).map(
          (l) => `  ${l}`,
        )
      : [],
    "  location / {",
    mainLocation(r, s, upstream, headers, !!o.ssoSessionCookie && !r.ssoOwn).map((l) => `    ${l}`),
    "  }",
    "}",
  ].flat();
}

/** Proxies to the upstream; a variable in proxy_pass makes nginx resolve at request time. */
function proxyPass(url: string, s: NginxSettings, variable: string): string[] {
  return s.resolver
    ? [`set $${variable} ${quote(url)};`, `proxy_pass $${variable};`]
    : [`proxy_pass ${url};`];
}

function mainLocation(
  r: ProxyRoute,
  s: NginxSettings,
  upstream: string,
  headers: Array<[string, string]>,
  cookieCut: boolean,
): string[] {
  const auth = r.auth !== "none";
  return [
    s.rateLimit ? [`limit_req zone=psf_rl_${r.host} burst=${s.rateLimit.burst} nodelay;`] : [],
    auth
      ? [
          `auth_request ${AUTH_LOCATION};`,
          ...IDENTITY_HEADERS.map(([, v]) => `auth_request_set $psf_${v} $upstream_http_${v};`),
          "auth_request_set $psf_auth_location $upstream_http_location;",
          "error_page 401 =302 $psf_login_url;",
        ]
      : [],
    proxyPass(safeUrl(upstream, "upstream"), s, "psf_upstream"),
    "proxy_http_version 1.1;",
    "proxy_redirect off;",
    r.upstream.scheme === "https" ? ["proxy_ssl_server_name on;"] : [],
    "proxy_set_header Host $http_host;",
    cookieCut ? ["proxy_set_header Cookie $psf_app_cookie;"] : [],
    "proxy_set_header X-Real-IP $remote_addr;",
    "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
    "proxy_set_header X-Forwarded-Proto $scheme;",
    "proxy_set_header X-Forwarded-Host $http_host;",
    `proxy_set_header X-Forwarded-Port ${s.httpsPort};`,
    r.websockets
      ? [
          "proxy_set_header Upgrade $http_upgrade;",
          "proxy_set_header Connection $psf_connection_upgrade;",
        ]
      : ['proxy_set_header Connection "";'],
    // Identity comes from the SSO only; what a client sends is replaced or dropped.
    IDENTITY_HEADERS.map(([h, v]) => `proxy_set_header ${h} ${auth ? `$psf_${v}` : '""'};`),
    `proxy_connect_timeout ${s.connectTimeout}s;`,
    `proxy_send_timeout ${s.sendTimeout}s;`,
    `proxy_read_timeout ${r.websockets ? s.websocketTimeout : s.readTimeout}s;`,
    // One value per header: ours replace the app's.
    headers.map(([n]) => `proxy_hide_header ${n};`),
  ].flat();
}

/** The subrequest to the SSO's verify endpoint: headers only, with the original URL. */
function authLocation(forwardAuthUrl: string, s: NginxSettings): string[] {
  return [
    `location = ${AUTH_LOCATION} {`,
    "  internal;",
    ...proxyPass(safeUrl(forwardAuthUrl, "the SSO forward-auth URL"), s, "psf_auth_url").map(
      (l) => `  ${l}`,
    ),
    "  proxy_pass_request_body off;",
    "  proxy_http_version 1.1;",
    '  proxy_set_header Content-Length "";',
    '  proxy_set_header Connection "";',
    "  proxy_set_header X-Original-Method $request_method;",
    "  proxy_set_header X-Original-URL $scheme://$http_host$request_uri;",
    "  proxy_set_header X-Forwarded-Method $request_method;",
    "  proxy_set_header X-Forwarded-Proto $scheme;",
    "  proxy_set_header X-Forwarded-Host $http_host;",
    "  proxy_set_header X-Forwarded-Uri $request_uri;",
    "  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
    "  proxy_set_header X-Real-IP $remote_addr;",
    `  proxy_connect_timeout ${Math.min(s.connectTimeout, 10)}s;`,
    "  proxy_read_timeout 15s;",
    "}",
  ];
}
