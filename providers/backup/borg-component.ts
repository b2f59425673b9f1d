import * as pulumi from "@pulumi/pulumi";
import { ContractResult } from "../../components/contract";
import { ProviderArgs, ProviderInstance } from "../../components/provider";
import { VolumeMount } from "../../components/workload";
import { BorgSettings, borgScripts } from "./borg-script";
import { BackupRequest } from "./contract";
import { CONTAINER_PATHS } from "./job";
import { deployBackupJobs, localRepository, passphrase } from "./jobs";

const KEYS_DIR = "/etc/psf/borg-keys";

/**
 * One encrypted borg repository per stack and a scheduled job per requesting service that
 * archives its volumes and database dump, prunes, checks and compacts.
 */
export class Borg extends pulumi.ComponentResource implements ProviderInstance {
  readonly results: Record<string, ContractResult>;
  readonly repository: string;

  constructor(
    name: string,
    args: ProviderArgs<BackupRequest, BorgSettings>,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("psf:backup:Borg", name, {}, opts);
    const { settings } = args;
    const { repository, mounts } = localRepository(name, settings);
    // keyfile modes keep the key beside the client, not in the repository: on a volume every job shares.
    const keyfile = settings.encryption.startsWith("keyfile");
    const keys: VolumeMount[] = keyfile
      ? [{ volume: { owner: name, name: "keys" }, mountPath: KEYS_DIR }]
      : [];
    this.repository = repository;
    this.results = deployBackupJobs(this, name, args, {
      image: args.image("borg"),
      repository,
      env: {
        BORG_REPO: repository,
        BORG_PASSPHRASE: passphrase(this, name, args),
        ...(keyfile ? { BORG_KEYS_DIR: KEYS_DIR } : {}),
      },
      mounts: [...mounts, ...keys],
      scripts: (job) => borgScripts(job, settings, CONTAINER_PATHS),
    });
    this.registerOutputs({ repository: this.repository });
  }
}
