import { isIP } from "net";
import { defineSpec, Infer } from "../../components/validate/infer";
import { Issue, joinPath } from "../../components/errors";
import type { StackSettings } from "../../components/config";
import { withComponent } from "../../components/provider";
import { SslRequest } from "./contract";

/** The ACME client's image: Debian's certbot and its RFC 2136 plugin (images/certbot). */
const IMAGE = "psf/certbot:2.1.0-bookworm";

export const LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory";
export const LETS_ENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory";

/** Proxies that serve live certificate files and reload when they change. */
export const LIVE_FILE_PROXIES = ["nginx", "caddy"];

export const TSIG_ALGORITHMS = [
  "hmac-sha256",
  "hmac-sha384",
  "hmac-sha512",
  "hmac-sha224",
  "hmac-sha1",
  "hmac-md5",
] as const;

export const acmeSettingsSpec = defineSpec({
  type: "object",
  required: ["email"],
  fields: {
    email: {
      type: "string",
      format: "email",
      doc: "the ACME account's contact: the CA writes here about expiring certificates and policy changes",
    },
    staging: {
      type: "bool",
      doc: "Let's Encrypt's staging CA (certificates browsers do not trust, generous rate limits); default: staging unless `environment: production`",
    },
    directoryUrl: {
      type: "string",
      format: "url",
      doc: "another ACME CA's directory URL (replaces `staging`), e.g. a private CA or Pebble",
    },
    caPem: {
      type: "string",
      maxLength: 65536,
      doc: "PEM CA certificate(s) to trust for the ACME server's HTTPS, beside the system's (a private CA)",
    },
    challenge: {
      type: "string",
      enum: ["http-01", "dns-01"],
      default: "http-01",
      doc: "`http-01`: the proxy serves the CA's challenge on port 80 (the hosts must reach it from the CA); `dns-01`: TXT records through `dns` (wildcards, hosts the CA cannot reach)",
    },
    wildcard: {
      type: "bool",
      default: false,
      doc: "one `*.<domain>` certificate (with `<domain>`) for every route one label under the stack domain, instead of one per host; needs `challenge: dns-01`",
    },
    dns: {
      type: "object",
      required: ["nameserver", "tsigKeyName", "tsigSecret"],
      fields: {
        provider: {
          type: "string",
          enum: ["rfc2136"],
          default: "rfc2136",
          doc: "how TXT records are written: `rfc2136`, dynamic updates signed with a TSIG key (BIND, Knot, PowerDNS)",
        },
        nameserver: {
          type: "string",
          doc: "the primary nameserver of the zone that takes the updates (an IP address)",
        },
        port: { type: "int", min: 1, max: 65535, default: 53, doc: "its DNS port" },
        tsigKeyName: { type: "string", format: "dns", doc: "the TSIG key's name" },
        tsigAlgorithm: {
          type: "string",
          enum: [...TSIG_ALGORITHMS],
          default: "hmac-sha256",
          doc: "the TSIG key's algorithm",
        },
        tsigSecret: {
          type: "string",
          format: "name",
          doc: "name of the `psf:secrets` value holding the TSIG key's secret (base64)",
        },
        propagationSeconds: {
          type: "int",
          min: 0,
          max: 3600,
          default: 60,
          doc: "seconds to wait after the update before the CA looks (secondaries catching up)",
        },
      },
      doc: "DNS-01: where the TXT records go",
    },
    renewBeforeDays: {
      type: "int",
      min: 1,
      max: 60,
      default: 30,
      doc: "renew a certificate this many days before it expires (Let's Encrypt's last 90 days)",
    },
    checkIntervalMinutes: {
      type: "int",
      min: 1,
      max: 1440,
      default: 720,
      doc: "how often the client checks its certificates (and retries a failed issuance)",
    },
  },
});

export type AcmeSettings = Infer<typeof acmeSettingsSpec>;

/** The directory the client asks: `directoryUrl`, else Let's Encrypt (staging outside production). */
export function directoryUrl(settings: AcmeSettings, stack: Pick<StackSettings, "environment">) {
  if (settings.directoryUrl) return settings.directoryUrl;
  const staging = settings.staging ?? stack.environment !== "production";
  return staging ? LETS_ENCRYPT_STAGING : LETS_ENCRYPT;
}

/** One certificate the client keeps: its file name (also certbot's lineage) and its names. */
export interface AcmeCertificate {
  name: string;
  domains: string[];
}

/**
 * The certificates for the requests, and which one serves each requester: with `wildcard`,
 * one `*.<domain>` for every request whose names are all one label under the stack domain.
 */
export function acmeCertificates(
  requests: Record<string, SslRequest>,
  settings: Pick<AcmeSettings, "wildcard">,
  domain: string,
): { certificates: AcmeCertificate[]; byRequester: Record<string, string> } {
  const certificates = new Map<string, AcmeCertificate>();
  const byRequester: Record<string, string> = {};
  const under = (host: string) =>
    host.endsWith(`.${domain}`) && !host.slice(0, -domain.length - 1).includes(".");
  for (const [requester, req] of Object.entries(requests)) {
    const names = [...new Set([req.domain, ...(req.sans ?? [])])];
    const cert =
      settings.wildcard && domain.includes(".") && names.every(under)
        ? { name: `wildcard.${domain}`, domains: [`*.${domain}`, domain] }
        : { name: req.domain.replace(/^\*\./, "wildcard."), domains: names };
    if (!certificates.has(cert.name)) certificates.set(cert.name, cert);
    byRequester[requester] = cert.name;
  }
  const sorted = [...certificates.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  return { certificates: sorted, byRequester };
}

function checkSettings(
  settings: AcmeSettings,
  stack: StackSettings,
  requests: Record<string, SslRequest>,
  path: string,
): Issue[] {
  const issues: Issue[] = [];
  if (settings.directoryUrl && settings.staging !== undefined)
    issues.push({
      path: joinPath(path, "staging"),
      message: "is set together with directoryUrl, which replaces it",
      hint: "remove one of them",
    });
  if (settings.caPem !== undefined && !settings.caPem.includes("-----BEGIN CERTIFICATE-----"))
    issues.push({
      path: joinPath(path, "caPem"),
      message: "is not a PEM certificate",
      hint: "paste the CA certificate, -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----",
    });
  const dns01 = settings.challenge === "dns-01";
  if (settings.wildcard && !dns01)
    issues.push({
      path: joinPath(path, "wildcard"),
      message: "wildcard certificates need the dns-01 challenge",
      hint: "set challenge: dns-01 and dns: {nameserver, tsigKeyName, tsigSecret}",
    });
  if (!dns01)
    for (const [requester, req] of Object.entries(requests))
      for (const name of [req.domain, ...(req.sans ?? [])].filter((n) => n?.startsWith("*.")))
        issues.push({
          path: joinPath(path, "challenge"),
          message: `${requester} asks for the wildcard ${name}, which http-01 cannot validate`,
          hint: "set challenge: dns-01 and dns: {nameserver, tsigKeyName, tsigSecret}",
        });
  if (dns01 && !settings.dns)
    issues.push({
      path: joinPath(path, "dns"),
      message: "is required with challenge: dns-01",
      hint: "set dns: {nameserver, tsigKeyName, tsigSecret} for the zone's primary nameserver",
    });
  if (settings.dns && !dns01)
    issues.push({
      path: joinPath(path, "dns"),
      message: "is set but challenge is http-01",
      hint: "set challenge: dns-01 to use it, or remove dns",
    });
  const dnsPath = joinPath(path, "dns");
  if (settings.dns?.nameserver !== undefined && !isIP(settings.dns.nameserver))
    issues.push({
      path: joinPath(dnsPath, "nameserver"),
      message: `"${settings.dns.nameserver}" is not an IP address`,
      hint: "certbot's RFC 2136 plugin sends updates to an address, e.g. 192.0.2.53 (dig +short <name> gives it)",
    });
  const secret = settings.dns?.tsigSecret;
  if (secret !== undefined && !stack.secretNames.includes(secret))
    issues.push({
      path: joinPath(dnsPath, "tsigSecret"),
      message: `secret "${secret}" is not set in the stack config (psf:secrets.${secret})`,
      hint: `run: pulumi config set --secret --path 'psf:secrets.${secret}' <base64 TSIG secret> --stack ${stack.stackName}`,
    });
  const proxy = stack.providers.proxy?.use;
  if (proxy !== undefined && !LIVE_FILE_PROXIES.includes(proxy))
    issues.push({
      path: joinPath(path, "use"),
      message: `acme certificates are files renewed while the stack runs, which the ${proxy} proxy does not serve`,
      hint: `use the ${LIVE_FILE_PROXIES.join(" or ")} proxy provider, or ssl: selfsigned`,
    });
  // certbot and the proxy share volumes, which Docker gives; a cluster's ReadWriteOnce claims do not.
  if (stack.target?.kind === "kubernetes")
    issues.push({
      path: joinPath(path, "use"),
      message: "acme runs on the docker target only (certbot and the proxy share volumes)",
      hint: "on Kubernetes, issue certificates with cert-manager, or use ssl: selfsigned",
    });
  // A service's own need (a provider's is `<provider>:<purpose>`).
  for (const requester of Object.keys(requests))
    if (!requester.includes(":"))
      issues.push({
        path: `services.${requester}.needs.ssl`,
        message: "acme serves the proxy's routes only; a service cannot take its certificate",
        hint: "remove the ssl need (the proxy terminates TLS), or use ssl: selfsigned",
      });
  return issues;
}

export const acme = withComponent<SslRequest, AcmeSettings>(
  {
    contract: "ssl",
    name: "acme",
    description:
      "certificates from an ACME CA (Let's Encrypt) by certbot, HTTP-01 through the proxy or DNS-01 (RFC 2136), renewed while the stack runs",
    images: () => ({ certbot: IMAGE }),
    settings: acmeSettingsSpec,
    checkStack: checkSettings,
  },
  () => (require("./acme-component") as typeof import("./acme-component")).Acme,
);
