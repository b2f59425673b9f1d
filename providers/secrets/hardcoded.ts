import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { ContractResult } from "../../components/contract";
import { ProviderArgs, ProviderDefinition, ProviderInstance } from "../../components/provider";
import { SecretsRequest } from "./contract";

export interface HardcodedSettings {
  /** Fixed values by secret name; others are derived from the name (deterministic). */
  values: Record<string, string>;
}

/**
 * Predictable secrets for tests and local development, so fixtures can log in.
 * Refused outside `psf:environment: development`.
 */
export class HardcodedSecrets extends pulumi.ComponentResource implements ProviderInstance {
  readonly results: Record<string, ContractResult> = {};

  constructor(
    name: string,
    args: ProviderArgs<SecretsRequest, HardcodedSettings>,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("psf:secrets:Hardcoded", name, {}, opts);
    for (const [requester, req] of Object.entries(args.requests)) {
      const fixed = args.settings.values[req.name];
      const derived = crypto
        .createHash("sha256")
        .update(`psf-dev:${req.name}`)
        .digest("hex")
        .slice(0, req.length);
      this.results[requester] = { value: pulumi.secret(fixed ?? derived) };
    }
    this.registerOutputs({});
  }
}

export const hardcoded: ProviderDefinition<SecretsRequest, HardcodedSettings> = {
  contract: "secrets",
  name: "hardcoded",
  description: "fixed development values; refused outside development",
  environments: ["development"],
  settings: {
    type: "object",
    fields: {
      values: {
        type: "map",
        keyFormat: "name",
        values: { type: "string", minLength: 1 },
        default: {},
      },
    },
  },
  create: (name, args, opts) => new HardcodedSecrets(name, args, opts),
};
