import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { ContractResult } from "../../components/contract";
import { ProviderArgs, ProviderDefinition, ProviderInstance } from "../../components/provider";
import { SslRequest } from "./contract";

export interface SelfSignedSettings {
  organization: string;
  /** Certificate lifetime; renewed (replaced) within `earlyRenewalHours` of expiry on `up`. */
  validityHours: number;
  earlyRenewalHours: number;
}

/** A stack CA (ECDSA P-256) and one certificate per request, signed by it. */
export class SelfSigned extends pulumi.ComponentResource implements ProviderInstance {
  readonly results: Record<string, ContractResult> = {};
  readonly caPem: pulumi.Output<string>;

  constructor(name: string, args: ProviderArgs<SslRequest, SelfSignedSettings>, opts?: pulumi.ComponentResourceOptions) {
    super("psf:ssl:SelfSigned", name, {}, opts);
    const { settings } = args;
    const caKey = new tls.PrivateKey(`${name}-ca-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
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
    for (const [requester, req] of Object.entries(args.requests)) {
      const slug = requester.replace(/[^A-Za-z0-9-]+/g, "-");
      const key = new tls.PrivateKey(`${name}-${slug}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
      const csr = new tls.CertRequest(
        `${name}-${slug}-csr`,
        {
          privateKeyPem: key.privateKeyPem,
          subject: { commonName: req.domain, organization: settings.organization },
          dnsNames: [...new Set([req.domain, ...req.sans])],
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
      this.results[requester] = {
        certPem: cert.certPem,
        keyPem: pulumi.secret(key.privateKeyPem),
        caPem: ca.certPem,
      };
    }
    this.registerOutputs({ caPem: this.caPem });
  }
}

export const selfsigned: ProviderDefinition<SslRequest, SelfSignedSettings> = {
  contract: "ssl",
  name: "selfsigned",
  description: "a stack CA and certificates signed by it (@pulumi/tls)",
  settings: {
    type: "object",
    fields: {
      organization: { type: "string", minLength: 1, maxLength: 64, default: "PSF" },
      validityHours: { type: "int", min: 24, max: 24 * 3650, default: 24 * 365 },
      earlyRenewalHours: { type: "int", min: 0, max: 24 * 365, default: 24 * 30 },
    },
  },
  create: (name, args, opts) => new SelfSigned(name, args, opts),
};
