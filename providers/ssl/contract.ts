import { defineSpec, Infer } from "../../components/validate/infer";
import { ContractDefinition } from "../../components/contract";

export interface SslResult {
  certPem: string;
  /** Secret. */
  keyPem: string;
  caPem?: string;
}

export const sslRequestSpec = defineSpec({
  type: "object",
  required: ["domain"],
  fields: {
    domain: { type: "string", format: "dns-wildcard", doc: "the certificate's common name" },
    sans: {
      type: "list",
      items: { type: "string", format: "dns-wildcard" },
      unique: true,
      default: [],
      doc: "more names the certificate covers",
    },
  },
});

/** A certificate for `domain` and its SANs. */
export type SslRequest = Infer<typeof sslRequestSpec>;

export const sslContract: ContractDefinition<SslRequest, SslResult> = {
  name: "ssl",
  description: "a TLS certificate and key for a domain",
  request: sslRequestSpec,
  resultFields: ["certPem", "keyPem", "caPem"],
  secretFields: ["keyPem"],
  // A provider that issues from its own CA shares it: apps trust it to reach public URLs.
  trustedCaPem: (provider) => provider?.shared?.caPem,
};
