import { defineSpec, Infer } from "../../components/validate/infer";
import { isIP } from "net";
import { Issue, joinPath } from "../../components/errors";
import { withComponent } from "../../components/provider";
import { ProxyRoute } from "./contract";
import { proxyHostPorts } from "./host-ports";
import { routeNeeds } from "./route-needs";
import { securityHeaderFields } from "./security-header-settings";
import { publicUrl } from "./nginx-config";

/** The pinned image; the config runs on it and on older nginx alike unless `version` is set. */
const IMAGE = "nginx:1.27-bookworm";

const routes = routeNeeds("nginx");
/** The ssl requester of a route's certificate. */
export const certRequester = routes.certRequester;

/** `resolver` is inserted verbatim: addresses (`host[:port]`), space-separated. */
const RESOLVER = /^[A-Za-z0-9.:\[\]-]+( [A-Za-z0-9.:\[\]-]+)*$/;

export const nginxSettingsSpec = defineSpec({
  type: "object",
  fields: {
    version: {
      type: "string",
      minLength: 5,
      maxLength: 16,
      doc: "the image's nginx version, to render directives of newer releases (`http2 on` from 1.25.1); unset, the config uses `listen ... ssl http2`, which every nginx from 1.9.5 accepts",
    },
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
    resolver: {
      type: "string",
      minLength: 0,
      maxLength: 255,
      doc: "DNS server(s) nginx asks for upstream names at request time; `\"\"`: names are resolved once, at start; default: the target's (Docker's embedded DNS, `127.0.0.11`; on Kubernetes none, since a Service's cluster IP does not change)",
    },
    ...securityHeaderFields,
    gzip: { type: "bool", default: true, doc: "compress text responses over 1 KiB" },
    connectTimeout: {
      type: "int",
      min: 1,
      max: 3600,
      default: 10,
      doc: "upstream connect timeout, seconds",
    },
    sendTimeout: {
      type: "int",
      min: 1,
      max: 86400,
      default: 60,
      doc: "upstream send timeout, seconds",
    },
    readTimeout: {
      type: "int",
      min: 1,
      max: 86400,
      default: 60,
      doc: "upstream read timeout, seconds",
    },
    websocketTimeout: {
      type: "int",
      min: 1,
      max: 604800,
      default: 3600,
      doc: "read timeout of routes with `websockets: true`, seconds",
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
    workerConnections: {
      type: "int",
      min: 64,
      max: 65535,
      default: 1024,
      doc: "nginx `worker_connections`",
    },
  },
});

export type NginxSettings = Infer<typeof nginxSettingsSpec>;

export const nginx = withComponent<ProxyRoute, NginxSettings>(
  {
    contract: "proxy",
    name: "nginx",
    description:
      "one nginx: a TLS server per route, HTTP→HTTPS, security headers, forward auth via the SSO",
    images: () => ({ nginx: IMAGE }),
    settings: nginxSettingsSpec,
    checkStack: (settings, _stack, _requests, path) => {
      const issues: Issue[] = [];
      if (settings.version !== undefined && !/^\d+\.\d+\.\d+$/.test(settings.version))
        issues.push({
          path: joinPath(path, "version"),
          message: `"${settings.version}" is not an nginx version`,
          hint: "e.g. 1.27.0 or 1.22.1",
        });
      if (settings.listenAddress !== undefined && !isIP(settings.listenAddress))
        issues.push({
          path: joinPath(path, "listenAddress"),
          message: `"${settings.listenAddress}" is not an IP address`,
          hint: "use 0.0.0.0 (all), 127.0.0.1, or one of the host's addresses",
        });
      if (settings.resolver && !RESOLVER.test(settings.resolver))
        issues.push({
          path: joinPath(path, "resolver"),
          message: `"${settings.resolver}" is not a list of DNS server addresses`,
          hint: 'e.g. 127.0.0.11 (Docker), 10.96.0.10 (Kubernetes), or "" to resolve once at start',
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
    hostPorts: (settings) => proxyHostPorts(settings),
  },
  () => (require("./nginx-component") as typeof import("./nginx-component")).Nginx,
);
