import { defineSpec, Infer } from "../../components/validate/infer";
import type { Output } from "@pulumi/pulumi";
import type { ContractDefinition, Outputs } from "../../components/contract";
import type { VolumeRef } from "../../components/workload";

/**
 * A certificate as the provider hands it over: its PEMs, in Pulumi state (selfsigned), or live
 * files a provider's workload keeps current in a volume (acme: renewed while the stack runs).
 */
export interface SslResult {
  certPem?: string;
  /** Secret. */
  keyPem?: string;
  caPem?: string;
}

/**
 * Live certificate files: the full chain and the key, paths relative to `volume`, replaced in
 * place when renewed. A consumer mounts the volume read-only, serves the files and reloads when
 * they change. `challenges`: a volume whose files the proxy serves under
 * `/.well-known/acme-challenge/` on its HTTP port (HTTP-01), mounted where it serves them from.
 */
export interface SslFiles {
  volume: VolumeRef;
  certPath: string;
  keyPath: string;
  challenges?: VolumeRef;
}

/** A result with live files: `files` is a plain value (a consumer needs the volume to plan its workload). */
export type SslProvided = Outputs<SslResult> & { files?: SslFiles };

/** The live files of a result, when its provider keeps them (else the PEMs are in the result). */
export function sslFiles(result: Outputs<SslResult>): SslFiles | undefined {
  return (result as SslProvided).files;
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

/**
 * The PEMs of a result, for a consumer that takes certificates from state only. acme's checks
 * keep such consumers away from it; reaching here with live files only is a bug.
 */
export function sslPems(
  result: Outputs<SslResult>,
  consumer: string,
): { certPem: Output<string>; keyPem: Output<string> } {
  if (!result.certPem || !result.keyPem)
    throw new Error(`bug: ${consumer} got an ssl result without PEMs (live files only)`);
  return { certPem: result.certPem as Output<string>, keyPem: result.keyPem as Output<string> };
}
