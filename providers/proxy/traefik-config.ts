import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { sizeBytes } from "../../components/validate/formats";
import { SSO_IDENTITY_HEADERS } from "../sso/contract";
import { ProxyRoute } from "./contract";
import { publicUrl, responseHeaders, upstreamUrl } from "./route-parts";
import type { TraefikSettings } from "./traefik";

/** Where Traefik finds its files. The container uses `CONTAINER_PATHS`; tests a temp dir. */
export interface TraefikPaths {
  /** Traefik's working directory: it reads local plugins from `plugins-local/src/` under it. */
  home: string;
  /** The static configuration (read at start only). */
  static: string;
  /** The file provider's directory, watched: a changed file there is the reload. */
  dynamicDir: string;
  /** Holds `<host>.key` per route (the certificates themselves are in the dynamic config). */
  certDir: string;
}

export const CONTAINER_PATHS: TraefikPaths = {
  home: "/etc/traefik",
  static: "/etc/traefik/traefik.yml",
  dynamicDir: "/etc/traefik/dynamic",
  certDir: "/etc/traefik/certs",
};

/** The dynamic configuration's file, in `dynamicDir`. */
export const DYNAMIC_FILE = "psf.yml";
/** Traefik's ping endpoint, on the health entrypoint. */
export const HEALTH_PATH = "/ping";

/** PSF's middleware plugin (traefik-plugin/): its module and the name routes use it by. */
export const PLUGIN = { name: "psf", module: "psf.local/psf" } as const;

/** The plugin's source files, as Traefik reads them under `<home>/plugins-local/src/<module>/`. */
export function pluginFiles(paths: TraefikPaths): Array<{ path: string; content: string }> {
  // Beside this file in the sources; a compiled copy (bin-build/providers/proxy) reads them there.
  const src = [
    path.join(__dirname, "traefik-plugin"),
    path.join(__dirname, "..", "..", "..", "providers", "proxy", "traefik-plugin"),
  ].find((d) => fs.existsSync(path.join(d, "psf.go")));
  if (!src)
    throw new Error("traefik: the plugin's source (providers/proxy/traefik-plugin) is missing");
  const into = `${paths.home}/plugins-local/src/${PLUGIN.module}`;
  return [".traefik.yml", "psf.go"].map((f) => ({
    path: `${into}/${f}`,
    content: fs.readFileSync(path.join(src, f), "utf8"),
  }));
}

/**
 * Ports Traefik binds inside its container: the public ports themselves (as nginx and caddy
 * do, so a workload in the stack reaches a public URL at the address a browser uses), and a
 * health port neither of them uses.
 */
export function containerListen(s: { httpPort: number; httpsPort: number }): {
  http: number;
  https: number;
  health: number;
} {
  const health = [8082, 8081, 8083].find((p) => p !== s.httpPort && p !== s.httpsPort)!;
  return { http: s.httpPort, https: s.httpsPort, health };
}

function listenOn(address: string | undefined, port: number): string {
  if (!address) return `:${port}`;
  return `${address.includes(":") ? `[${address}]` : address}:${port}`;
}

const ALIASES = { aliasHeadersStrategy: "delete" };

export interface StaticOptions {
  paths: TraefikPaths;
  /** Bind address (all when absent) and ports; health binds every address (see below). */
  listen: { address?: string; http: number; https: number; health: number };
}

/**
 * Traefik's static configuration: the entrypoints, the file provider on the watched
 * directory (no Docker provider: Traefik gets no Docker socket), PSF's plugin, the access log
 * on stdout, and the API only when `apiPort` asks for it.
 */
export function renderStaticConfig(s: TraefikSettings, o: StaticOptions): string {
  const config = {
    global: { checkNewVersion: false, sendAnonymousUsage: false },
    entryPoints: {
      // A header whose name only aliases another (`Remote_User` for `Remote-User`, which some
      // apps read as the same) is dropped: identity headers come from the SSO only.
      web: { address: listenOn(o.listen.address, o.listen.http), http: ALIASES },
      websecure: { address: listenOn(o.listen.address, o.listen.https), http: ALIASES },
      // Every address: Docker's check runs inside the container, but a Kubernetes probe
      // connects to the pod's IP. Only /ping is served there, and its port is not published.
      "psf-health": { address: `:${o.listen.health}` },
      ...(s.apiPort !== undefined
        ? { traefik: { address: listenOn(o.listen.address, s.apiPort) } }
        : {}),
    },
    ping: { entryPoint: "psf-health" },
    // Read-only JSON on its own entrypoint; the dashboard's web UI is not part of the module.
    ...(s.apiPort !== undefined ? { api: { dashboard: false, insecure: true } } : {}),
    providers: { file: { directory: o.paths.dynamicDir, watch: true } },
    experimental: { localPlugins: { [PLUGIN.name]: { moduleName: PLUGIN.module } } },
    serversTransport: {
      forwardingTimeouts: {
        dialTimeout: `${s.connectTimeout}s`,
        responseHeaderTimeout: `${s.readTimeout}s`,
      },
    },
    log: { level: "INFO", noColor: true },
    ...(s.accessLog ? { accessLog: {} } : {}),
  };
  return YAML.stringify(config);
}

/** URLs from other providers go into the config; refuse what is not a plain http(s) URL. */
function plainUrl(url: string, what: string): URL {
  if (!/^https?:\/\/[^\s"'`\\{}]+$/.test(url))
    throw new Error(`traefik: ${what} "${url}" is not a plain http(s) URL`);
  return new URL(url);
}

/** `<portal>?rd=` (or `&rd=` when the portal URL has a query): the plugin appends the URL. */
function portalRedirect(portalUrl: string): string {
  const u = plainUrl(portalUrl, "the SSO portal URL");
  return `${u.origin}${u.pathname}${u.search ? `${u.search}&` : "?"}rd=`;
}

/**
 * A name per requester for its routers, middlewares and service (`authelia:portal` →
 * `authelia-portal`); what a route adds to it follows a `_`, which no name has.
 */
function names(routes: Array<[string, ProxyRoute]>): Map<string, string> {
  const taken = new Set<string>();
  const out = new Map<string, string>();
  for (const [requester] of routes) {
    const base = requester.replace(/[^A-Za-z0-9-]/g, "-");
    let name = base;
    for (let i = 2; taken.has(name); i++) name = `${base}-${i}`;
    taken.add(name);
    out.set(requester, name);
  }
  return out;
}

export interface DynamicOptions {
  paths: TraefikPaths;
  /** Requester → the route's certificate chain (PEM); keys are files in `certDir`. */
  certs: Record<string, string>;
  /** The SSO's facts; required when a route has auth (`forwardAuthUrls`: per requester). */
  sso?: { forwardAuthUrl: string; portalUrl: string; forwardAuthUrls?: Record<string, string> };
  /** The SSO's session cookie (`authelia_session`): never forwarded to an app. */
  ssoSessionCookie?: string;
}

/**
 * Traefik's file provider reads every file as a Go template first: `{{` in a value (a header,
 * a URL) would be a template action. This writes each one as an action that prints `{{`.
 */
function templateLiteral(text: string): string {
  return text.replace(/\{\{/g, '{{"{{"}}');
}

/**
 * The dynamic configuration: per route an HTTP router that redirects to HTTPS and an HTTPS
 * router with its middlewares (headers, rate limit, body limit, forward auth through the SSO,
 * the session cookie kept from the app, compression) and a service; the certificates (keys as
 * files) with SNI required, so an unknown host gets no handshake. Pure: the same routes and
 * settings give the same text, which the real Traefik loads in the tests.
 */
export function renderDynamicConfig(
  routes: Record<string, ProxyRoute>,
  s: TraefikSettings,
  o: DynamicOptions,
): string {
  const entries = Object.entries(routes).sort(([, a], [, b]) =>
    a.host < b.host ? -1 : a.host > b.host ? 1 : 0,
  );
  if (entries.some(([, r]) => r.auth !== "none") && !o.sso)
    throw new Error("traefik: routes with auth need the SSO's forwardAuthUrl and portalUrl");
  const name = names(entries);
  const routers: Record<string, unknown> = {};
  const middlewares: Record<string, unknown> = {
    psf_https: {
      redirectScheme: {
        scheme: "https",
        ...(s.httpsPort !== 443 ? { port: String(s.httpsPort) } : {}),
        permanent: true,
      },
    },
    ...(s.gzip ? { psf_gzip: { compress: { minResponseBodyBytes: 1024 } } } : {}),
  };
  const services: Record<string, unknown> = {};

  for (const [requester, r] of entries) {
    const n = name.get(requester)!;
    const rule = `Host(\`${r.host}\`)`;
    const chain: string[] = [];
    const add = (suffix: string, middleware: unknown) => {
      middlewares[`${n}_${suffix}`] = middleware;
      chain.push(`${n}_${suffix}`);
    };
    // First, so that whatever answers after it (a redirect, 401, 413, 429) carries them too.
    // An empty request header value removes it: identity comes from the SSO only, the
    // original URL from the plugin only, an upgrade only where the route allows websockets.
    add("headers", {
      headers: {
        customRequestHeaders: Object.fromEntries(
          [
            ...SSO_IDENTITY_HEADERS,
            "X-Original-Url",
            "X-Original-Method",
            ...(r.websockets ? [] : ["Upgrade"]),
          ].map((h) => [h, ""]),
        ),
        customResponseHeaders: Object.fromEntries(responseHeaders(r, s)),
      },
    });
    if (s.rateLimit)
      add("ratelimit", {
        rateLimit: {
          average: s.rateLimit.requestsPerSecond,
          period: "1s",
          burst: s.rateLimit.burst,
        },
      });
    const maxBody = sizeBytes(r.maxBodySize ?? s.clientMaxBodySize);
    // Requests only: a response is streamed as it comes (websockets, downloads, events).
    if (maxBody > 0)
      add("body", { buffering: { maxRequestBodyBytes: maxBody, disableResponseBuffer: true } });
    if (r.auth !== "none") {
      const address = o.sso!.forwardAuthUrls?.[requester] ?? o.sso!.forwardAuthUrl;
      plainUrl(address, "the SSO forward-auth URL");
      add("guard", {
        plugin: { [PLUGIN.name]: { portalRedirect: portalRedirect(o.sso!.portalUrl) } },
      });
      // The client's X-Forwarded-* are not trusted: Traefik sets them from the request.
      add("auth", {
        forwardAuth: {
          address,
          trustForwardHeader: false,
          authResponseHeaders: [...SSO_IDENTITY_HEADERS],
        },
      });
    }
    // After forwardAuth (which needs the cookie): the session cookie leaves, and the app's
    // answer goes back past the guard, unwrapped.
    const cookie = !r.ssoOwn ? o.ssoSessionCookie : undefined;
    if (cookie && !/^[A-Za-z0-9_.-]+$/.test(cookie))
      throw new Error(`traefik: unusable SSO cookie name ${cookie}`);
    if (cookie || r.auth !== "none")
      add("sso", { plugin: { [PLUGIN.name]: { dropCookie: cookie ?? "" } } });
    if (s.gzip) chain.push("psf_gzip");

    routers[`${n}_http`] = {
      entryPoints: ["web"],
      rule,
      middlewares: ["psf_https"],
      service: "noop@internal",
    };
    routers[n] = { entryPoints: ["websecure"], rule, tls: {}, middlewares: chain, service: n };
    services[n] = {
      loadBalancer: {
        servers: [{ url: plainUrl(upstreamUrl(r), "upstream").toString().replace(/\/$/, "") }],
        passHostHeader: true,
      },
    };
  }

  // Traefik refuses an empty map of routers or services (no routes: none at all).
  const config = {
    http: entries.length > 0 ? { routers, middlewares, services } : { middlewares },
    tls: {
      certificates: entries.map(([requester, r]) => {
        const pem = o.certs[requester];
        if (!pem) throw new Error(`traefik: no certificate for ${requester}`);
        // The certificate inline: a renewed one changes this file, which is what makes Traefik
        // load it (an unchanged configuration is skipped); the key is read then from its file.
        return { certFile: pem, keyFile: certKeyFile(o.paths, r.host) };
      }),
      options: { default: { minVersion: "VersionTLS12", sniStrict: true } },
    },
  };
  return templateLiteral(YAML.stringify(config, { lineWidth: 0 }));
}

/** The key file of a route's certificate; named by host, which the resolver keeps unique. */
export function certKeyFile(paths: { certDir: string }, host: string): string {
  return `${paths.certDir}/${host}.key`;
}

export { publicUrl, upstreamUrl };
