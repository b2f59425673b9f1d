import * as pulumi from "@pulumi/pulumi";
import { ContractResult } from "../../components/contract";
import { ProviderArgs, ProviderInstance } from "../../components/provider";
import { BackupRequest } from "./contract";
import { CONTAINER_PATHS } from "./job";
import { deployBackupJobs, localRepository, passphrase } from "./jobs";
import { ResticSettings, resticScripts } from "./restic-script";

/**
 * One encrypted restic repository per stack and a scheduled job per requesting service that
 * snapshots its volumes and database dump, forgets per retention, checks and prunes.
 */
export class Restic extends pulumi.ComponentResource implements ProviderInstance {
  readonly results: Record<string, ContractResult>;
  readonly repository: string;

  constructor(
    name: string,
    args: ProviderArgs<BackupRequest, ResticSettings>,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("psf:backup:Restic", name, {}, opts);
    const { settings } = args;
    const { repository, mounts } = localRepository(name, settings);
    const backendSecrets: Record<string, pulumi.Output<string>> = {};
    for (const [envName, secret] of Object.entries(settings.secretEnv)) {
      const value = args.configSecret(secret);
      if (!value) throw new Error(`bug: psf:secrets.${secret} passed validation but is missing`);
      backendSecrets[envName] = pulumi.secret(value);
    }
    this.repository = repository;
    this.results = deployBackupJobs(this, name, args, {
      image: args.image("restic"),
      repository,
      env: {
        ...settings.env,
        ...backendSecrets,
        RESTIC_REPOSITORY: repository,
        RESTIC_PASSWORD: passphrase(this, name, args),
      },
      mounts,
      scripts: (job) => resticScripts(job, settings, CONTAINER_PATHS),
    });
    this.registerOutputs({ repository: this.repository });
  }
}
