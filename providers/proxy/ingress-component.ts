import * as pulumi from "@pulumi/pulumi";
import { Outputs } from "../../components/contract";
import { ProviderArgs, ProviderInstance } from "../../components/provider";
import { sslContract, sslPems } from "../ssl/contract";
import { fullChain } from "../ssl/full-chain";
import { forwardAuthKey } from "../sso/contract";
import { ProxyResult, ProxyRoute } from "./contract";
import {
  IngressSettings,
  certRequester,
  ingressAnnotations,
  ingressClassOf,
  signinUrl,
} from "./ingress";

/**
 * The cluster's ingress controller serves every route: one Ingress per route through the
 * target, TLS from the ssl contract, forward auth through the SSO. No proxy of our own runs.
 */
export class Ingress extends pulumi.ComponentResource implements ProviderInstance {
  readonly results: Record<string, Outputs<ProxyResult>> = {};

  constructor(
    name: string,
    args: ProviderArgs<ProxyRoute, IngressSettings>,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("psf:proxy:Ingress", name, {}, opts);
    const { requests, settings, target } = args;
    // checkStack reports a target without Ingress at providers.proxy.use.
    if (!target.ingress) throw new Error("bug: ingress on a target without Ingress objects");
    const authed = Object.values(requests).some((r) => r.auth !== "none");
    const shared = authed ? args.shared("sso") : undefined;
    if (authed && (!shared?.forwardAuthUrl || !shared?.portalUrl))
      throw new pulumi.RunError(
        "ingress: routes with auth need an sso provider that offers forward auth (forwardAuthUrl, portalUrl)",
      );
    // Routes that nginx declared as Ingress objects (the target's former `proxyMode: ingress`)
    // keep their objects: same names, only the parent differs.
    const aliases = [{ parent: pulumi.createUrn("nginx", "psf:proxy:Nginx", opts?.parent) }];
    const ingressClass = ingressClassOf(settings, args.stack);

    for (const [requester, route] of Object.entries(requests)) {
      const cert = args.result(sslContract, certRequester(requester));
      if (!cert) throw new Error(`ingress: no ssl result for ${certRequester(requester)}`);
      const auth = shared && {
        forwardAuthUrl: shared[forwardAuthKey(requester)] ?? shared.forwardAuthUrl,
        signinUrl: shared.portalUrl.apply(signinUrl),
      };
      target.ingress(
        {
          name: requester,
          host: route.host,
          upstream: route.upstream,
          tls: {
            certPem: fullChain(sslPems(cert, "ingress").certPem, cert.caPem),
            keyPem: sslPems(cert, "ingress").keyPem,
          },
          ingressClass,
          annotations: ingressAnnotations(route, auth, settings.annotations),
        },
        { parent: this, aliases },
      );
      this.results[requester] = {
        url: pulumi.output(args.publicUrl(route.host)),
        internalUrl: pulumi.output(
          `${route.upstream.scheme}://${route.upstream.host}:${route.upstream.port}`,
        ),
      };
    }
    this.registerOutputs({});
  }
}
