import { defineSpec, Infer } from "../../components/validate/infer";
import { isIP } from "net";
import { Issue, joinPath } from "../../components/errors";
import { withComponent } from "../../components/provider";
import { ProxyRoute } from "./contract";
import { proxyHostPorts } from "./host-ports";
import { routeNeeds } from "./route-needs";
import { publicUrl } from "./route-parts";
import { securityHeaderFields } from "./security-header-settings";

/** The pinned image (images/traefik builds the same module version; scripts/go-host-binary.sh checks). */
const IMAGE = "traefik:v3.7.13";

const routes = routeNeeds("traefik");
/** The ssl requester of a route's certificate. */
export const certRequester = routes.certRequester;

export const traefikSettingsSpec = defineSpec({
  type: "object",
  fields: {
    httpPort: {
      type: "int",
      min: 1,
      max: 65535,
      default: 80,
      doc: "host port for HTTP (redirects to HTTPS)",
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
    rateLimit: {
      type: "object",
      required: ["requestsPerSecond"],
      fields: {
        requestsPerSecond: { type: "int", min: 1, max: 100000 },
        burst: {
          type: "int",
          min: 0,
          max: 100000,
          default: 20,
          doc: "requests above the rate let through at once before 429s",
        },
      },
      doc: "per client address and route; excess requests get 429; off when absent",
    },
    accessLog: { type: "bool", default: true, doc: "one line per request on Traefik's stdout" },
    apiPort: {
      type: "int",
      min: 1,
      max: 65535,
      doc: "host port (on 127.0.0.1 only) for Traefik's read-only API (`/api/http/routers`...), which has no sign-in; off when absent",
    },
  },
});

export type TraefikSettings = Infer<typeof traefikSettingsSpec>;

export const traefik = withComponent<ProxyRoute, TraefikSettings>(
  {
    contract: "proxy",
    name: "traefik",
    description:
      "one Traefik: a TLS router per route, HTTP→HTTPS, security headers, forward auth via the SSO, rate limits, reloads without dropping connections",
    images: () => ({ traefik: IMAGE }),
    settings: traefikSettingsSpec,
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
      return issues;
    },
    needs: routes.needs,
    reads: routes.reads,
    publicUrl: (settings, host) => publicUrl(host, settings.httpsPort),
    hostPorts: (settings) =>
      proxyHostPorts(settings, [
        { port: settings.apiPort, address: "127.0.0.1", what: "api", setting: "apiPort" },
      ]),
  },
  () => (require("./traefik-component") as typeof import("./traefik-component")).Traefik,
);
