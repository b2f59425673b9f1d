import { ServiceConfig } from "../../components/config";
import { shellQuote } from "../../components/shell";
import type { DatabaseDump } from "../database/contract";
import { BackupRequest, Retention } from "./contract";
import { maxBackupAgeSeconds } from "./freshness";
import { CommonSettings, retentionOf } from "./settings";

/**
 * One requester's backup as the scripts see it: plain data, the same in the container and
 * in tests. Paths are relative to `<root>/volumes`, where each volume is mounted.
 */
export interface BackupJob {
  /** Requester slug: archive prefix (borg), snapshot host (restic), the name in log lines. */
  service: string;
  /** Volumes to mount: read-only under the backup root, read-write under the restore root. */
  volumes: string[];
  /** What is backed up: `data` (a whole volume) or `media/keep` (a path inside one). */
  targets: string[];
  excludes: ExcludePattern[];
  /** The requester's database, streamed into the backup (`db.sql`) by its provider's commands. */
  database?: DatabaseDump;
  retention: Retention;
  schedule: string;
  /** The one job per repository that also runs repository-wide checks and compaction. */
  maintainer: boolean;
  /** Age past which the last good backup is stale: twice the longest gap of `schedule`. */
  maxAgeSeconds: number;
}

/** `*.tmp` matches a name anywhere; a rooted pattern (`data/cache`) is relative to the volumes root. */
export interface ExcludePattern {
  pattern: string;
  rooted: boolean;
}

/** Where the scripts find things: `/backup` and `/restore` in the job container, temp dirs in tests. */
export interface ScriptPaths {
  /** Holds `volumes/<name>`, mounted read-only. */
  backupRoot: string;
  /** Holds `volumes/<name>` again, mounted read-write: restores write here. */
  restoreRoot: string;
  /** Sourced by every script when readable: repository, passphrase, database credentials. */
  envFile: string;
  /** Where backups and drills record their outcome (`<service>.backup.json`, `.prom`...). */
  statusDir: string;
}

export interface JobScripts {
  backup: string;
  restore: string;
  list: string;
  /** Restores a run into scratch space and checks it against the facts recorded with it. */
  drill: string;
  /** Prints the service's status records, one JSON object a line. */
  status: string;
}

export const CONTAINER_PATHS: ScriptPaths = {
  backupRoot: "/backup",
  restoreRoot: "/restore",
  envFile: "/etc/psf/backup.env",
  statusDir: "/status",
};
export const BIN: Record<keyof JobScripts, string> = {
  backup: "/usr/local/bin/psf-backup",
  restore: "/usr/local/bin/psf-restore",
  list: "/usr/local/bin/psf-list",
  drill: "/usr/local/bin/psf-drill",
  status: "/usr/local/bin/psf-status",
};
/** The database dump's name inside an archive or snapshot. */
export const DB_FILE = "db.sql";
/** The facts recorded with each run (row counts, file checksums), a directory inside it. */
export const FACTS_DIR = ".psf-facts";

/** Slug of a requester for names: `nginx:whoami` → `nginx-whoami`. */
export function slug(requester: string): string {
  return requester.replace(/[^a-z0-9-]+/g, "-");
}

/** The volume (by mount path) that holds `abs`, and the path inside it: `/srv/media/keep` → `media/keep`. */
function inVolume(abs: string, volumes: Record<string, string>): string | undefined {
  const trim = (p: string) => (p.length > 1 ? p.replace(/\/+$/, "") : p);
  let best: [string, string] | undefined;
  for (const [vol, mount] of Object.entries(volumes)) {
    const m = trim(mount);
    const a = trim(abs);
    if (a === m || a.startsWith(m === "/" ? "/" : `${m}/`))
      if (!best || m.length > best[1].length) best = [vol, m];
  }
  if (!best) return undefined;
  const rest = trim(abs)
    .slice(best[1] === "/" ? 1 : best[1].length)
    .replace(/^\/+/, "");
  return rest ? `${best[0]}/${rest}` : best[0];
}

/**
 * The job for one request. `volumes` are the requester's own (a service's `volumes`); a
 * provider requester backs up whole volumes only. A request with `database: true` adds its
 * database provider's dump to the job (`database`).
 */
export function planJob(
  requester: string,
  req: BackupRequest,
  volumes: ServiceConfig["volumes"],
  settings: CommonSettings,
  maintainer: boolean,
): BackupJob {
  const whole = [...req.volumes];
  const paths = req.paths.map((p) => {
    const rel = inVolume(p, volumes);
    // The contract checks a service's paths; a path outside every volume here is a bug, never a skip.
    if (!rel)
      throw new Error(`bug: backup path ${p} of ${requester} is not inside any of its volumes`);
    return rel;
  });
  // A path inside a volume that is backed up whole adds nothing.
  const schedule = req.schedule ?? settings.schedule;
  const targets = [...whole, ...paths.filter((p) => !whole.includes(p.split("/")[0]))];
  const excludes: ExcludePattern[] = [];
  for (const e of req.excludes) {
    if (!e.startsWith("/")) excludes.push({ pattern: e, rooted: false });
    else {
      const rel = inVolume(e, volumes);
      // An absolute path outside every volume is never in a backup: nothing to exclude.
      if (rel) excludes.push({ pattern: rel, rooted: true });
    }
  }
  return {
    service: slug(requester),
    volumes: [...new Set(targets.map((t) => t.split("/")[0]))],
    targets: [...new Set(targets)],
    excludes,
    retention: retentionOf(settings, req),
    schedule,
    maintainer,
    maxAgeSeconds: maxBackupAgeSeconds(schedule),
  };
}

/** `export K='v'` lines, sourced by the scripts. */
export function renderEnvFile(env: Record<string, string>): string {
  return (
    Object.entries(env)
      .map(([k, v]) => `export ${k}=${shellQuote(v)}`)
      .join("\n") + "\n"
  );
}

/** ssh settings for a remote repository (borg over ssh, restic over sftp both read them). */
export function sshConfig(knownHosts: boolean): string {
  return [
    "Host *",
    "  IdentityFile /etc/psf/ssh/key",
    "  IdentitiesOnly yes",
    "  BatchMode yes",
    "  ServerAliveInterval 30",
    knownHosts
      ? "  UserKnownHostsFile /etc/psf/ssh/known_hosts"
      : "  UserKnownHostsFile /root/.ssh/known_hosts",
    knownHosts ? "  StrictHostKeyChecking yes" : "  StrictHostKeyChecking accept-new",
    "",
  ].join("\n");
}
