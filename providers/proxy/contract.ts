import { ContractDefinition } from "../../components/contract";
import { Issue, joinPath } from "../../components/errors";

export const PROXY_AUTH = ["none", "one_factor", "two_factor"] as const;

/** A public HTTPS route to the service. */
export interface ProxyRequest {
  auth: (typeof PROXY_AUTH)[number];
  websockets: boolean;
  maxBodySize?: string;
  extraHeaders: Record<string, string>;
}

/** What a proxy provider receives per route: the request plus where to send traffic. */
export interface ProxyRoute extends ProxyRequest {
  /** Public host name, `<subdomain>.<domain>`. */
  host: string;
  upstream: { host: string; port: number; scheme: "http" | "https" };
}

export interface ProxyResult {
  url: string;
  internalUrl: string;
}

export const proxyContract: ContractDefinition<ProxyRequest> = {
  name: "proxy",
  description: "a public HTTPS URL with TLS, optional forward auth through the SSO",
  request: {
    type: "object",
    fields: {
      auth: { type: "string", enum: PROXY_AUTH, default: "none" },
      websockets: { type: "bool", default: false },
      maxBodySize: { type: "string", format: "size" },
      extraHeaders: {
        type: "map",
        values: { type: "string", minLength: 0, maxLength: 1024 },
        default: {},
      },
    },
  },
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
    // A proxied service without a port is reported by parseStack, at services.<name>.port.
    return issues;
  },
};
