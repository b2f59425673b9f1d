import * as pulumi from "@pulumi/pulumi";
import { ContractResult } from "../../components/contract";
import { Issue, joinPath } from "../../components/errors";
import { ProviderArgs, ProviderDefinition, ProviderInstance } from "../../components/provider";
import { VolumeMount } from "../../components/workload";
import { BORG_COMPRESSION, BORG_ENCRYPTIONS, BorgSettings, borgScripts } from "./borg-script";
import { BackupRequest } from "./contract";
import { CONTAINER_PATHS, checkCommonStack, commonSettingsFields } from "./job";
import { deployBackupJobs, localRepository, passphrase } from "./jobs";

/** borg 1.2, bash, cron and postgresql-client on Debian bookworm (see docs/providers/borg.md). */
export const BORG_IMAGE = "psf/borg:1.2.4-bookworm";
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
      image: args.image("borg", BORG_IMAGE),
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

/** `ssh://user@host[:port]/path` or scp-style `user@host:path`: borg's remote repositories. */
const REMOTE = /^(ssh:\/\/[^\s/@]+@[^\s/]+\/\S+|[^\s/@:]+@[^\s/:]+:\S+)$/;

export const borg: ProviderDefinition<BackupRequest, BorgSettings> = {
  contract: "backup",
  name: "borg",
  description: "borg 1.2: one encrypted, deduplicated repository; a scheduled job per service",
  settings: {
    type: "object",
    fields: {
      ...commonSettingsFields,
      encryption: { type: "string", enum: BORG_ENCRYPTIONS, default: "repokey-blake2" },
      compression: { type: "string", minLength: 2, maxLength: 16, default: "lz4" },
      checkMaxDuration: { type: "int", min: 60, max: 86400, default: 3600 },
      compactDay: { type: "int", min: 1, max: 28, default: 1 },
    },
  },
  reads: (_settings, _stack, requests) =>
    Object.values(requests).some((r) => r.database) ? ["database"] : [],
  checkStack: (settings, stack, requests, path) => {
    const issues: Issue[] = checkCommonStack(
      settings,
      stack.secretNames,
      requests,
      path,
      stack.stackName,
    );
    if (settings.compression && !BORG_COMPRESSION.test(settings.compression))
      issues.push({
        path: joinPath(path, "compression"),
        message: `unknown compression "${settings.compression}"`,
        hint: "use lz4, zstd,N (1-22), zlib,N, lzma,N or none, optionally after auto,",
      });
    if (settings.repository !== undefined) {
      if (!REMOTE.test(settings.repository))
        issues.push({
          path: joinPath(path, "repository"),
          message: `"${settings.repository}" is not a remote borg repository`,
          hint: "use ssh://user@host/./path or user@host:path; leave it out to keep the repository on a volume",
        });
      if (!settings.sshKey)
        issues.push({
          path: joinPath(path, "sshKey"),
          message: "a remote repository needs an SSH key",
          hint: "set sshKey to the name of a psf:secrets value holding the private key",
        });
    }
    return issues;
  },
  create: (name, args, opts) => new Borg(name, args, opts),
};
