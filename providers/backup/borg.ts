import { Issue, joinPath } from "../../components/errors";
import { withComponent } from "../../components/provider";
import { BORG_COMPRESSION, BORG_ENCRYPTIONS, BorgSettings } from "./borg-script";
import { BackupRequest } from "./contract";
import { checkCommonStack, commonSettingsFields } from "./job";

/** borg 1.2, bash, cron and postgresql-client on Debian bookworm (see docs/providers/borg.md). */
export const BORG_IMAGE = "psf/borg:1.2.4-bookworm";

/** `ssh://user@host[:port]/path` or scp-style `user@host:path`: borg's remote repositories. */
const REMOTE = /^(ssh:\/\/[^\s/@]+@[^\s/]+\/\S+|[^\s/@:]+@[^\s/:]+:\S+)$/;

export const borg = withComponent<BackupRequest, BorgSettings>(
  {
    contract: "backup",
    name: "borg",
    description: "borg 1.2: one encrypted, deduplicated repository; a scheduled job per service",
    images: () => ({ borg: BORG_IMAGE }),
    workloadsPerRequest: true,
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
  },
  () => (require("./borg-component") as typeof import("./borg-component")).Borg,
);
