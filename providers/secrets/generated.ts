import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ContractResult } from "../../components/contract";
import { ProviderArgs, ProviderDefinition, ProviderInstance } from "../../components/provider";
import { SecretsRequest } from "./contract";

export interface GeneratedSecretsSettings {
  /** Include punctuation; off by default so values are safe in URLs and shells. */
  special: boolean;
}

/** Random secrets, generated once and kept in (encrypted) state. */
export class GeneratedSecrets extends pulumi.ComponentResource implements ProviderInstance {
  readonly results: Record<string, ContractResult> = {};

  constructor(
    name: string,
    args: ProviderArgs<SecretsRequest, GeneratedSecretsSettings>,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("psf:secrets:Generated", name, {}, opts);
    for (const [requester, req] of Object.entries(args.requests)) {
      const password = new random.RandomPassword(
        `${name}-${req.name}`,
        { length: req.length, special: args.settings.special, overrideSpecial: "-_.~" },
        { parent: this },
      );
      this.results[requester] = { value: pulumi.secret(password.result) };
    }
    this.registerOutputs({});
  }
}

export const generated: ProviderDefinition<SecretsRequest, GeneratedSecretsSettings> = {
  contract: "secrets",
  name: "generated",
  description: "random values from @pulumi/random, kept encrypted in state",
  settings: { type: "object", fields: { special: { type: "bool", default: false } } },
  create: (name, args, opts) => new GeneratedSecrets(name, args, opts),
};
