import type { StackSettings } from "./config";
import type { PlannedProvider } from "./plan";

/**
 * The public host of a service or provider route: `<subdomain>.<domain>`, or in a preview
 * stack `<subdomain>-pr-<N>.<domain>` (its `hostSuffix`).
 */
export function hostFor(
  subdomain: string,
  stack: Pick<StackSettings, "domain" | "hostSuffix">,
): string {
  return `${subdomain}${stack.hostSuffix ?? ""}.${stack.domain}`;
}

/**
 * The public URL of `host` as the stack serves it: from the first planned provider that serves
 * public URLs (its `publicUrl`, port included when not 443); `https://host` without one.
 */
export function publicUrlOf(
  providers: Iterable<Pick<PlannedProvider, "definition" | "settings">>,
  host: string,
): string {
  for (const p of providers)
    if (p.definition.publicUrl) return p.definition.publicUrl(p.settings, host);
  return `https://${host}`;
}
