import * as pulumi from "@pulumi/pulumi";
import { ContractResult } from "../../components/contract";
import { ProviderArgs, ProviderInstance } from "../../components/provider";
import { SecretsRequest } from "./contract";

/** Secrets the user set with `pulumi config set --secret --path 'psf:secrets.<name>'`. */
export class ConfigSecrets extends pulumi.ComponentResource implements ProviderInstance {
  readonly results: Record<string, ContractResult> = {};

  constructor(
    name: string,
    args: ProviderArgs<SecretsRequest>,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("psf:secrets:Config", name, {}, opts);
    for (const [requester, req] of Object.entries(args.requests)) {
      const value = args.configSecret(req.name);
      if (!value)
        throw new pulumi.RunError(`bug: psf:secrets.${req.name} passed validation but is missing`);
      this.results[requester] = { value: pulumi.secret(value) };
    }
    this.registerOutputs({});
  }
}
