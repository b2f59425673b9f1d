import * as pulumi from "@pulumi/pulumi";
import { ProviderArgs } from "../../components/provider";
import { VolumeMount } from "../../components/workload";
import { BackupComponent } from "./backup-component";
import { BorgSettings, borgScripts } from "./borg-script";
import { BackupRequest } from "./contract";
import { CONTAINER_PATHS } from "./job";

const KEYS_DIR = "/etc/psf/borg-keys";

/**
 * One encrypted borg repository per stack and a scheduled job per requesting service that
 * archives its volumes and database dump, prunes, checks and compacts.
 */
export class Borg extends BackupComponent<BorgSettings> {
  constructor(
    name: string,
    args: ProviderArgs<BackupRequest, BorgSettings>,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    const { settings } = args;
    // keyfile modes keep the key beside the client, not in the repository: on a volume every job shares.
    const keyfile = settings.encryption.startsWith("keyfile");
    const keys: VolumeMount[] = keyfile
      ? [{ volume: { owner: name, name: "keys" }, mountPath: KEYS_DIR }]
      : [];
    super("psf:backup:Borg", name, args, opts, ({ repository, passphrase }) => ({
      image: args.image("borg"),
      env: {
        BORG_REPO: repository,
        BORG_PASSPHRASE: passphrase,
        ...(keyfile ? { BORG_KEYS_DIR: KEYS_DIR } : {}),
      },
      mounts: keys,
      scripts: (job) => borgScripts(job, settings, CONTAINER_PATHS),
    }));
  }
}
