import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { ContractResult } from "../../components/contract";
import { ProviderArgs, ProviderInstance } from "../../components/provider";
import { SslRequest } from "./contract";
import type { SelfSignedSettings } from "./selfsigned";

/** The shared wildcard's name when every host of a request is `<label>.<domain>`, else undefined. */
function wildcardFor(req: SslRequest, domain: string): string | undefined {
  // Two labels after the star at least: `*.lan` is refused by browsers and by our own ssl contract.
  if (domain.split(".").length < 2) return undefined;
  const under = (host: string) =>
    host.endsWith(`.${domain}`) && !host.slice(0, -domain.length - 1).includes(".");
  return [req.domain, ...req.sans].every(under) ? `*.${domain}` : undefined;
}

/**
 * A stack CA (ECDSA P-256) and certificates signed by it: one wildcard for the services
 * under the stack domain (three resources however many services), one per other request.
 */
export class SelfSigned extends pulumi.ComponentResource implements ProviderInstance {
  readonly results: Record<string, ContractResult> = {};
  readonly caPem: pulumi.Output<string>;
  /** The CA the stack's workloads must trust to reach each other's public URLs. */
  readonly shared: { caPem: pulumi.Output<string> };

  constructor(
    name: string,
    args: ProviderArgs<SslRequest, SelfSignedSettings>,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("psf:ssl:SelfSigned", name, {}, opts);
    const { settings } = args;
    const caKey = new tls.PrivateKey(
      `${name}-ca-key`,
      { algorithm: "ECDSA", ecdsaCurve: "P256" },
      { parent: this },
    );
    const ca = new tls.SelfSignedCert(
      `${name}-ca`,
      {
        privateKeyPem: caKey.privateKeyPem,
        isCaCertificate: true,
        subject: { commonName: `${settings.organization} CA`, organization: settings.organization },
        validityPeriodHours: settings.validityHours * 2,
        earlyRenewalHours: settings.earlyRenewalHours,
        allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
      },
      { parent: this },
    );
    this.caPem = ca.certPem;
    this.shared = { caPem: this.caPem };
    const issued = new Map<string, ContractResult>();
    const issue = (slug: string, commonName: string, dnsNames: string[]): ContractResult => {
      const key = new tls.PrivateKey(
        `${name}-${slug}-key`,
        { algorithm: "ECDSA", ecdsaCurve: "P256" },
        { parent: this },
      );
      const csr = new tls.CertRequest(
        `${name}-${slug}-csr`,
        {
          privateKeyPem: key.privateKeyPem,
          subject: { commonName, organization: settings.organization },
          dnsNames,
        },
        { parent: this },
      );
      const cert = new tls.LocallySignedCert(
        `${name}-${slug}-cert`,
        {
          certRequestPem: csr.certRequestPem,
          caPrivateKeyPem: caKey.privateKeyPem,
          caCertPem: ca.certPem,
          validityPeriodHours: settings.validityHours,
          earlyRenewalHours: settings.earlyRenewalHours,
          allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
        },
        { parent: this },
      );
      return { certPem: cert.certPem, keyPem: pulumi.secret(key.privateKeyPem), caPem: ca.certPem };
    };
    for (const [requester, req] of Object.entries(args.requests)) {
      const wildcard = settings.wildcard ? wildcardFor(req, args.stack.domain) : undefined;
      if (wildcard) {
        if (!issued.has(wildcard))
          issued.set(wildcard, issue("wildcard", wildcard, [wildcard, args.stack.domain]));
        this.results[requester] = issued.get(wildcard)!;
      } else {
        const slug = requester.replace(/[^A-Za-z0-9-]+/g, "-");
        this.results[requester] = issue(slug, req.domain, [...new Set([req.domain, ...req.sans])]);
      }
    }
    this.registerOutputs({ caPem: this.caPem });
  }
}
