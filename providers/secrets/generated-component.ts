import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ContractResult } from "../../components/contract";
import { ProviderArgs, ProviderInstance } from "../../components/provider";
import { SecretsRequest } from "./contract";
import type { GeneratedSecretsSettings } from "./generated";

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
