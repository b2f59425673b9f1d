import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { ContractResult } from "../../components/contract";
import { ProviderArgs, ProviderInstance } from "../../components/provider";
import { SecretsRequest } from "./contract";
import type { HardcodedSettings } from "./hardcoded";

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
