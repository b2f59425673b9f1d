import { ProxyRoute } from "./contract";

/** Files of a route's certificate; named by host, which the resolver keeps unique. */
export function certFiles(paths: { certDir: string }, host: string): { cert: string; key: string } {
  return { cert: `${paths.certDir}/${host}.crt`, key: `${paths.certDir}/${host}.key` };
}

/** The route's public URL: the port only when it is not 443. */
export function publicUrl(host: string, httpsPort: number): string {
  return `https://${host}${httpsPort === 443 ? "" : `:${httpsPort}`}`;
}

export function upstreamUrl(r: ProxyRoute): string {
  return `${r.upstream.scheme}://${r.upstream.host}:${r.upstream.port}`;
}

/** The settings of security-header-settings.ts, as every proxy reads them. */
export interface SecurityHeaderSettings {
  hstsMaxAge: number;
  hstsIncludeSubdomains: boolean;
  frameOptions: string;
  referrerPolicy: string;
  contentSecurityPolicy?: string;
}

/** Response headers of a route: security headers, then extraHeaders (which win by name). */
export function responseHeaders(r: ProxyRoute, s: SecurityHeaderSettings): Array<[string, string]> {
  const base: Array<[string, string]> = [];
  if (s.hstsMaxAge > 0)
    base.push([
      "Strict-Transport-Security",
      `max-age=${s.hstsMaxAge}${s.hstsIncludeSubdomains ? "; includeSubDomains" : ""}`,
    ]);
  base.push(["X-Content-Type-Options", "nosniff"]);
  if (s.frameOptions !== "off") base.push(["X-Frame-Options", s.frameOptions]);
  base.push(["Referrer-Policy", s.referrerPolicy]);
  if (s.contentSecurityPolicy) base.push(["Content-Security-Policy", s.contentSecurityPolicy]);
  const extra = Object.entries(r.extraHeaders ?? {});
  const overridden = new Set(extra.map(([n]) => n.toLowerCase()));
  return [...base.filter(([n]) => !overridden.has(n.toLowerCase())), ...extra];
}
