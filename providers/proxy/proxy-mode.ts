import type { PlannedContext } from "../../components/contract";
import type { Issue } from "../../components/errors";

/**
 * `psf:target.proxyMode: ingress` used to make the proxy provider declare Ingress objects in
 * place of its own server, and its URLs disagree with the SSO's (issue 12). Routing through an
 * Ingress is now the `ingress` provider's job: the old shape is reported with the new one.
 */
export function checkProxyMode({ stack }: PlannedContext): Issue[] {
  if (stack.target.kind !== "kubernetes" || stack.target.proxyMode !== "ingress") return [];
  return [
    {
      path: "target.proxyMode",
      message:
        "proxyMode ingress is no longer a target setting: an Ingress per route is a proxy provider of its own",
      hint: "remove proxyMode and set providers.proxy: {use: ingress, ingressClass: nginx}; loadbalancer or nodeport expose a proxy that runs its own server (nginx)",
    },
  ];
}
