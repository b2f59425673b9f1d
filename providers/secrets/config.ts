import * as pulumi from "@pulumi/pulumi";
import { ContractResult } from "../../components/contract";
import { Issue, joinPath } from "../../components/errors";
import { ProviderArgs, ProviderDefinition, ProviderInstance } from "../../components/provider";
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

export const config: ProviderDefinition<SecretsRequest> = {
  contract: "secrets",
  name: "config",
  description: "values from encrypted stack config (psf:secrets.<name>)",
  settings: { type: "object", fields: {} },
  checkStack: (_settings, stack, requests) => {
    const issues: Issue[] = [];
    for (const [requester, req] of Object.entries(requests)) {
      if (stack.secretNames.includes(req.name)) continue;
      const path = stack.services[requester]
        ? `services.${requester}.needs.secrets.name`
        : "providers.secrets";
      issues.push({
        path,
        message: `secret "${req.name}" is not set in the stack config (psf:secrets.${req.name})`,
        hint: `run: pulumi config set --secret --path 'psf:secrets.${req.name}' <value> --stack ${stack.stackName}`,
      });
    }
    return issues;
  },
  create: (name, args, opts) => new ConfigSecrets(name, args, opts),
};
