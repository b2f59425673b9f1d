import { defineSpec, Infer } from "../../components/validate/infer";
import { ContractDefinition, PlannedContext } from "../../components/contract";
import { Issue, joinPath } from "../../components/errors";
import type { ProviderNeed } from "../../components/provider";
import { hostFor } from "../../components/public-url";
import { checkProxyMode } from "./proxy-mode";

export const PROXY_AUTH = ["none", "one_factor", "two_factor"] as const;

/** What a proxy provider receives per route: the request plus where to send traffic. */
export interface ProxyRoute extends ProxyRequest {
  /** Public host name, `<subdomain>.<domain>`. */
  host: string;
  upstream: { host: string; port: number; scheme: "http" | "https" };
  /** The SSO's own route (its portal): the one upstream that gets the SSO's session cookie. */
  ssoOwn?: boolean;
}

export interface ProxyResult {
  url: string;
  internalUrl: string;
}

/** What a provider says beside its proxy need: where its route forwards to, under which name. */
export interface ProxyNeedFrom {
  upstream: { host: string; port: number; scheme?: "http" | "https" };
  /** The public subdomain; default: the requester's provider name. */
  subdomain?: string;
  /** The SSO's own route, which keeps its session cookie (see ProxyRoute.ssoOwn). */
  ssoOwn?: boolean;
}

/**
 * An SSO provider's own public route (its sign-in portal): nothing in front of it, the SSO's
 * session cookie passed to it (every other upstream has it removed), and no ordering edge,
 * since the proxy reads the provider's URLs rather than the provider the proxy's.
 */
export function ssoPortalNeed(
  requester: string,
  upstream: ProxyNeedFrom["upstream"],
  subdomain: string,
): ProviderNeed {
  return {
    contract: "proxy",
    requester,
    request: { auth: "none" },
    consumes: false,
    from: { upstream, subdomain, ssoOwn: true } satisfies ProxyNeedFrom,
  };
}

export const proxyRequestSpec = defineSpec({
  type: "object",
  fields: {
    auth: {
      type: "string",
      enum: PROXY_AUTH,
      default: "none",
      doc: "sign-in the SSO provider requires before a request reaches the service (forward auth)",
    },
    websockets: { type: "bool", default: false, doc: "pass WebSocket upgrades through" },
    maxBodySize: {
      type: "string",
      format: "size",
      doc: "request body limit of this route; default: the provider's",
    },
    extraHeaders: {
      type: "map",
      values: { type: "string", minLength: 0, maxLength: 1024 },
      default: {},
      doc: "response headers added to the route's (winning over the security headers by name)",
    },
  },
});

/** A public HTTPS route to the service. */
export type ProxyRequest = Infer<typeof proxyRequestSpec>;

export const proxyContract: ContractDefinition<ProxyRequest, ProxyResult, ProxyRoute> = {
  name: "proxy",
  description: "a public HTTPS URL with TLS, optional forward auth through the SSO",
  request: proxyRequestSpec,
  resultFields: ["url", "internalUrl"],
  secretFields: [],
  // The proxy calls the app, not the other way round, so the app starts beside it (an up from
  // nothing waits for one health check less). Except with an SSO: an OIDC client discovers its
  // issuer at start, at the SSO's public URL, through the proxy.
  requesterWaits: (needs) => needs.includes("sso"),
  check: (req, ctx) => {
    const issues: Issue[] = [];
    for (const [name, value] of Object.entries(req.extraHeaders)) {
      if (!/^[A-Za-z0-9-]+$/.test(name))
        issues.push({
          path: joinPath(joinPath(ctx.path, "extraHeaders"), name),
          message: `"${name}" is not a valid header name`,
          hint: "use letters, digits and hyphens, e.g. X-Frame-Options",
        });
      if (/[\r\n"]/.test(value))
        issues.push({
          path: joinPath(joinPath(ctx.path, "extraHeaders"), name),
          message: "header values must not contain newlines or double quotes",
        });
    }
    // A proxied service without a port is reported by checkService, at services.<name>.port.
    return issues;
  },
  checkService: (field, path) =>
    field("port") == null
      ? [
          {
            path: joinPath(path, "port"),
            message: "a proxied service needs the container port to forward to",
            hint: "add port: 8080 (the port the app listens on inside its container)",
          },
        ]
      : [],
  // A service's route goes to its container port under its subdomain; a provider's where it says.
  expand: (req, ctx) => {
    if (ctx.service)
      return {
        ...req,
        host: hostFor(ctx.service.subdomain ?? ctx.requester, ctx.stack),
        upstream: { host: ctx.requester, port: ctx.service.port ?? 0, scheme: "http" },
      };
    const from = ctx.from as ProxyNeedFrom;
    return {
      ...req,
      host: hostFor(from.subdomain ?? ctx.requester.split(":")[0], ctx.stack),
      upstream: { scheme: "http", ...from.upstream },
      ...(from.ssoOwn ? { ssoOwn: true } : {}),
    };
  },
  checkServed: (routes, ctx) => [...checkHosts(routes, ctx), ...checkProxyMode(ctx)],
  serviceOutputs: (result) => ({ url: result?.url }),
};

/** Two routes for one host: reported at a service's subdomain (which the user can change) when one is a service's. */
function checkHosts(
  routes: Record<string, ProxyRoute>,
  { stack, path: own }: PlannedContext,
): Issue[] {
  const issues: Issue[] = [];
  const seen = new Map<string, string>();
  const isService = (requester: string) => !!stack.services[requester];
  const what = (requester: string) =>
    isService(requester) ? requester : `${requester} (a provider's route)`;
  for (const [requester, route] of Object.entries(routes)) {
    const other = seen.get(route.host);
    if (other === undefined) {
      seen.set(route.host, requester);
      continue;
    }
    const [at, against] =
      isService(requester) || !isService(other) ? [requester, other] : [other, requester];
    const path = isService(at) ? joinPath(joinPath("services", at), "subdomain") : own;
    issues.push({
      path,
      message: `host ${route.host} is already routed to ${what(against)}`,
      hint: "give one of them another subdomain",
    });
  }
  return issues;
}
