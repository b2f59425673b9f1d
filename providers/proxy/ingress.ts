import { defineSpec, Infer } from "../../components/validate/infer";
import type { StackSettings } from "../../components/config";
import { Issue, joinPath } from "../../components/errors";
import { withComponent } from "../../components/provider";
import { SSO_IDENTITY_HEADERS } from "../sso/contract";
import { ProxyRoute } from "./contract";
import { routeNeeds } from "./route-needs";

const routes = routeNeeds("ingress");
/** The ssl requester of a route's certificate. */
export const certRequester = routes.certRequester;

/** ingress-nginx's annotations; other controllers ignore them (docs/providers/ingress.md). */
const NGINX_INGRESS = "nginx.ingress.kubernetes.io";

export const ingressSettingsSpec = defineSpec({
  type: "object",
  fields: {
    ingressClass: {
      type: "string",
      format: "name",
      doc: "the IngressClass whose controller serves the routes; default: `psf:target`'s `ingressClass`, else the cluster's default class",
    },
    annotations: {
      type: "map",
      keyFormat: "qualified-name",
      values: { type: "string", minLength: 0, maxLength: 4096 },
      default: {},
      doc: "added verbatim to every Ingress, winning over PSF's own by key (a controller's settings, cert-manager's issuer, ...)",
    },
  },
});

export type IngressSettings = Infer<typeof ingressSettingsSpec>;

/** The ingress class of the routes: the provider's own setting, else the target's. */
export function ingressClassOf(
  settings: IngressSettings,
  stack: StackSettings,
): string | undefined {
  return (
    settings.ingressClass ??
    (stack.target.kind === "kubernetes" ? stack.target.ingressClass : undefined)
  );
}

/**
 * A route's annotations: ingress-nginx's for the upstream's scheme, HTTPS redirects, body limit,
 * WebSocket timeouts and forward auth through the SSO (its identity headers passed on), then the
 * user's. Generic in the value so the component can hand in Outputs.
 */
export function ingressAnnotations<V>(
  route: ProxyRoute,
  auth: { forwardAuthUrl: V; signinUrl: V } | undefined,
  extra: Record<string, string>,
): Record<string, V | string> {
  return {
    [`${NGINX_INGRESS}/backend-protocol`]: route.upstream.scheme.toUpperCase(),
    [`${NGINX_INGRESS}/force-ssl-redirect`]: "true",
    ...(route.maxBodySize ? { [`${NGINX_INGRESS}/proxy-body-size`]: route.maxBodySize } : {}),
    ...(route.websockets
      ? {
          [`${NGINX_INGRESS}/proxy-read-timeout`]: "3600",
          [`${NGINX_INGRESS}/proxy-send-timeout`]: "3600",
        }
      : {}),
    ...(route.auth !== "none" && auth
      ? {
          // The controller runs in another namespace: the verify URL names the Service in full.
          [`${NGINX_INGRESS}/auth-url`]: auth.forwardAuthUrl,
          [`${NGINX_INGRESS}/auth-method`]: "GET",
          [`${NGINX_INGRESS}/auth-signin`]: auth.signinUrl,
          [`${NGINX_INGRESS}/auth-response-headers`]: SSO_IDENTITY_HEADERS.join(","),
        }
      : {}),
    ...extra,
  };
}

/** Where a 401 sends the browser: the SSO's portal, told where to come back to. */
export const signinUrl = (portalUrl: string) =>
  `${portalUrl}/?rd=$scheme://$http_host$escaped_request_uri`;

export const ingress = withComponent<ProxyRoute, IngressSettings>(
  {
    contract: "proxy",
    name: "ingress",
    description:
      "a Kubernetes Ingress per route on the cluster's ingress controller: TLS from the ssl contract, forward auth via the SSO (ingress-nginx)",
    settings: ingressSettingsSpec,
    checkStack: (_settings, stack, _requests, path) => {
      const issues: Issue[] = [];
      if (stack.target.kind !== "kubernetes")
        issues.push({
          path: joinPath(path, "use"),
          message: `ingress routes through a Kubernetes Ingress, but the stack's target is ${stack.target.kind}`,
          hint: "use nginx on Docker (it runs its own server), or set psf:target kind: kubernetes",
        });
      return issues;
    },
    needs: routes.needs,
    reads: routes.reads,
    // The controller serves HTTPS on 443: no port in a URL.
    publicUrl: (_settings, host) => `https://${host}`,
  },
  () => (require("./ingress-component") as typeof import("./ingress-component")).Ingress,
);
