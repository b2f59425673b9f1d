import * as pulumi from "@pulumi/pulumi";
import { ProviderArgs } from "../../components/provider";
import { SESSION_COOKIE_KEY, forwardAuthKey } from "../sso/contract";
import { ProxyRoute } from "./contract";
import { hasAuth } from "./route-needs";

/** What a proxy's config needs of the SSO for routes with auth. */
export interface ForwardAuthFacts {
  forwardAuthUrl: string;
  portalUrl: string;
  /** A route's own forward-auth URL, where the SSO gives one (per-route access), by requester. */
  forwardAuthUrls: Record<string, string>;
}

/**
 * The SSO's forward-auth facts and session cookie name, as every proxy provider reads them:
 * undefined facts when no route asks for auth; a clear error when one does and the SSO offers
 * no forward auth.
 */
export function forwardAuthFacts(
  proxy: string,
  args: Pick<ProviderArgs<ProxyRoute, unknown>, "requests" | "shared">,
): {
  sso: pulumi.Output<ForwardAuthFacts | undefined>;
  sessionCookie: pulumi.Output<string | undefined>;
} {
  const { requests } = args;
  const shared = hasAuth(requests) ? args.shared("sso") : undefined;
  if (hasAuth(requests) && (!shared?.forwardAuthUrl || !shared?.portalUrl))
    throw new pulumi.RunError(
      `${proxy}: routes with auth need an sso provider that offers forward auth (forwardAuthUrl, portalUrl)`,
    );
  const own = Object.keys(requests).filter((r) => shared?.[forwardAuthKey(r)]);
  const sso: pulumi.Output<ForwardAuthFacts | undefined> = shared
    ? pulumi
        .all([
          shared.forwardAuthUrl,
          shared.portalUrl,
          pulumi.all(own.map((r) => shared[forwardAuthKey(r)])),
        ])
        .apply(([forwardAuthUrl, portalUrl, urls]) => ({
          forwardAuthUrl,
          portalUrl,
          forwardAuthUrls: Object.fromEntries(own.map((r, i) => [r, urls[i]])),
        }))
    : pulumi.output(undefined);
  const sessionCookie = args.shared("sso")?.[SESSION_COOKIE_KEY] ?? pulumi.output(undefined);
  return { sso, sessionCookie };
}
