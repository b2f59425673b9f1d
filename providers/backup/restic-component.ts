import * as pulumi from "@pulumi/pulumi";
import { ProviderArgs } from "../../components/provider";
import { BackupComponent } from "./backup-component";
import { BackupRequest } from "./contract";
import { CONTAINER_PATHS } from "./job";
import { ResticSettings, resticScripts } from "./restic-script";

/**
 * One encrypted restic repository per stack and a scheduled job per requesting service that
 * snapshots its volumes and database dump, forgets per retention, checks and prunes.
 */
export class Restic extends BackupComponent<ResticSettings> {
  constructor(
    name: string,
    args: ProviderArgs<BackupRequest, ResticSettings>,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    const { settings } = args;
    const backendSecrets: Record<string, pulumi.Output<string>> = {};
    for (const [envName, secret] of Object.entries(settings.secretEnv)) {
      const value = args.configSecret(secret);
      if (!value) throw new Error(`bug: psf:secrets.${secret} passed validation but is missing`);
      backendSecrets[envName] = pulumi.secret(value);
    }
    super("psf:backup:Restic", name, args, opts, ({ repository, passphrase }) => ({
      image: args.image("restic"),
      env: {
        ...settings.env,
        ...backendSecrets,
        RESTIC_REPOSITORY: repository,
        RESTIC_PASSWORD: passphrase,
      },
      mounts: [],
      scripts: (job) => resticScripts(job, settings, CONTAINER_PATHS),
    }));
  }
}
