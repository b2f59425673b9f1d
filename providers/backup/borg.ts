import { ObjectSpec } from "../../components/validate/schema";
import { Issue, joinPath } from "../../components/errors";
import { backupProvider } from "./backup-provider";
import { BORG_COMPRESSION, BORG_ENCRYPTIONS, BorgSettings } from "./borg-script";

/** borg 1.2, bash, cron and the PostgreSQL and MariaDB clients on Debian bookworm (see docs/providers/borg.md). */
export const BORG_IMAGE = "psf/borg:1.2.4-bookworm";

/** `ssh://user@host[:port]/path` or scp-style `user@host:path`: borg's remote repositories. */
const REMOTE = /^(ssh:\/\/[^\s/@]+@[^\s/]+\/\S+|[^\s/@:]+@[^\s/:]+:\S+)$/;

/** Settings beyond the common ones. */
export const borgSettingsFields = {
  encryption: {
    type: "string",
    enum: BORG_ENCRYPTIONS,
    default: "repokey-blake2",
    doc: "`borg init --encryption`; unencrypted modes are refused",
  },
  compression: {
    type: "string",
    minLength: 2,
    maxLength: 16,
    default: "lz4",
    doc: "as `borg create --compression` takes it: `lz4`, `zstd,N` (1–22), `zlib,N`, `lzma,N`, `none`, optionally `auto,…`",
  },
  checkMaxDuration: {
    type: "int",
    min: 60,
    max: 86400,
    default: 3600,
    doc: "seconds the weekly repository check may take; it resumes where it stopped the next week",
  },
  compactDay: {
    type: "int",
    min: 1,
    max: 28,
    default: 1,
    doc: "day of the month on which the repository is compacted",
  },
} as const satisfies ObjectSpec["fields"];

export const borg = backupProvider<BorgSettings>({
  name: "borg",
  description: "borg 1.2: one encrypted, deduplicated repository; a scheduled job per service",
  image: { key: "borg", default: BORG_IMAGE },
  settings: borgSettingsFields,
  // borg reaches every remote repository over ssh.
  remote: (repository) => ({
    valid: REMOTE.test(repository),
    hint: "use ssh://user@host/./path or user@host:path",
    overSsh: true,
  }),
  checkSettings: (settings, _stack, path) => {
    const issues: Issue[] = [];
    if (settings.compression && !BORG_COMPRESSION.test(settings.compression))
      issues.push({
        path: joinPath(path, "compression"),
        message: `unknown compression "${settings.compression}"`,
        hint: "use lz4, zstd,N (1-22), zlib,N, lzma,N or none, optionally after auto,",
      });
    return issues;
  },
  load: () => (require("./borg-component") as typeof import("./borg-component")).Borg,
});
