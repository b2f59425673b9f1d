import { defineSpec, Infer } from "../../components/validate/infer";
import { isIP } from "net";
import { Issue, joinPath } from "../../components/errors";
import { withComponent } from "../../components/provider";
import { ProxyRoute } from "./contract";
import { proxyHostPorts } from "./host-ports";
import { routeNeeds } from "./route-needs";
import { securityHeaderFields } from "./security-header-settings";
import { publicUrl } from "./caddy-config";

/** The pinned image (images/caddy builds the same module version; scripts/go-host-binary.sh checks). */
const IMAGE = "caddy:2.11.9";

const routes = routeNeeds("caddy");
/** The ssl requester of a route's certificate. */
export const certRequester = routes.certRequester;

export const caddySettingsSpec = defineSpec({
  type: "object",
  fields: {
    httpPort: {
      type: "int",
      min: 1,
      max: 65535,
      default: 80,
      doc: "host port for HTTP (redirects to HTTPS, ACME challenges)",
    },
    httpsPort: {
      type: "int",
      min: 1,
      max: 65535,
      default: 443,
      doc: "host port for HTTPS; when not 443, URLs and redirects carry it",
    },
    listenAddress: {
      type: "string",
      default: "0.0.0.0",
      doc: "host address (an IP) both ports are published on",
    },
    clientMaxBodySize: {
      type: "string",
      format: "size",
      default: "10m",
      doc: "request body limit unless the route sets `maxBodySize` (`0`: none)",
    },
    ...securityHeaderFields,
    gzip: { type: "bool", default: true, doc: "compress responses over 1 KiB" },
    connectTimeout: {
      type: "int",
      min: 1,
      max: 3600,
      default: 10,
      doc: "upstream connect timeout, seconds",
    },
    readTimeout: {
      type: "int",
      min: 1,
      max: 86400,
      default: 60,
      doc: "how long the upstream may take to start its answer, seconds (websockets, once open, have no timeout)",
    },
    websocketReloadGrace: {
      type: "int",
      min: 0,
      max: 604800,
      default: 3600,
      doc: "seconds a websocket open at a config reload stays open (Caddy's `stream_close_delay`); `0`: the reload closes it",
    },
    rateLimit: {
      type: "object",
      required: ["requestsPerSecond"],
      fields: {
        requestsPerSecond: { type: "int", min: 1, max: 100000 },
        burst: { type: "int", min: 0, max: 100000, default: 20 },
      },
      doc: "not available with caddy (its core has no rate limiter): refused; use `nginx`",
    },
  },
});

export type CaddySettings = Infer<typeof caddySettingsSpec>;

export const caddy = withComponent<ProxyRoute, CaddySettings>(
  {
    contract: "proxy",
    name: "caddy",
    description:
      "one Caddy: a TLS site per route, HTTP→HTTPS, security headers, forward auth via the SSO, reloads without dropping connections",
    images: () => ({ caddy: IMAGE }),
    settings: caddySettingsSpec,
    checkStack: (settings, _stack, _requests, path) => {
      const issues: Issue[] = [];
      if (settings.listenAddress !== undefined && !isIP(settings.listenAddress))
        issues.push({
          path: joinPath(path, "listenAddress"),
          message: `"${settings.listenAddress}" is not an IP address`,
          hint: "use 0.0.0.0 (all), 127.0.0.1, or one of the host's addresses",
        });
      if (settings.contentSecurityPolicy && /[\x00-\x1f]/.test(settings.contentSecurityPolicy))
        issues.push({
          path: joinPath(path, "contentSecurityPolicy"),
          message: "must be one line",
          hint: "separate directives with ;",
        });
      // Caddy's rate limiter is a plugin (mholt/caddy-ratelimit) that the caddy image lacks.
      if (settings.rateLimit !== undefined)
        issues.push({
          path: joinPath(path, "rateLimit"),
          message: "caddy has no rate limiter (the caddy image has no rate-limit module)",
          hint: "remove rateLimit, or use: nginx, which limits per client address and route",
        });
      return issues;
    },
    needs: routes.needs,
    reads: routes.reads,
    publicUrl: (settings, host) => publicUrl(host, settings.httpsPort),
    hostPorts: (settings) => proxyHostPorts(settings),
  },
  () => (require("./caddy-component") as typeof import("./caddy-component")).Caddy,
);
