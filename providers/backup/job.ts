import { ServiceConfig } from "../../components/config";
import { Issue, joinPath } from "../../components/errors";
import { shellQuote } from "../../components/shell";
import { ObjectSpec } from "../../components/validate/schema";
import type { DatabaseDump } from "../database/contract";
import {
  BackupRequest,
  DEFAULT_RETENTION,
  DEFAULT_SCHEDULE,
  Retention,
  retentionSpec,
} from "./contract";

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
}

export interface JobScripts {
  backup: string;
  restore: string;
  list: string;
}

export const CONTAINER_PATHS: ScriptPaths = {
  backupRoot: "/backup",
  restoreRoot: "/restore",
  envFile: "/etc/psf/backup.env",
};
export const BIN = {
  backup: "/usr/local/bin/psf-backup",
  restore: "/usr/local/bin/psf-restore",
  list: "/usr/local/bin/psf-list",
};
/** The database dump's name inside an archive or snapshot. */
export const DB_FILE = "db.sql";

/** Settings every backup provider accepts (stack-wide defaults a request may override). */
export interface CommonSettings {
  schedule: string;
  retention?: Partial<Retention>;
  /** Day of the week (0 = Sunday) on which the job also checks the repository. */
  checkWeekday: number;
  /** A remote repository; default: a volume of the provider. */
  repository?: string;
  /** `psf:secrets` name of a passphrase to use instead of a generated one. */
  passphrase?: string;
  /** `psf:secrets` name of an SSH private key for a remote repository. */
  sshKey?: string;
  /** known_hosts lines for the remote; without them the first host key seen is trusted. */
  knownHosts?: string;
}

export const commonSettingsFields: ObjectSpec["fields"] = {
  schedule: { type: "string", format: "cron", default: DEFAULT_SCHEDULE },
  retention: retentionSpec,
  checkWeekday: { type: "int", min: 0, max: 6, default: 0 },
  repository: {
    type: "string",
    minLength: 1,
    maxLength: 1024,
    doc: "a remote repository; default: a volume of the provider",
  },
  passphrase: {
    type: "string",
    format: "name",
    doc: "psf:secrets name of the repository passphrase; default: generated",
  },
  sshKey: {
    type: "string",
    format: "name",
    doc: "psf:secrets name of an SSH private key for a remote repository",
  },
  knownHosts: { type: "string", minLength: 1, maxLength: 65536 },
};

/** Request retention over provider retention over the defaults. */
export function retentionOf(settings: CommonSettings, req: BackupRequest): Retention {
  return { ...DEFAULT_RETENTION, ...(settings.retention ?? {}), ...(req.retention ?? {}) };
}

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
    schedule: req.schedule ?? settings.schedule,
    maintainer,
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

/** Checks shared by both providers: retention that keeps something, named secrets that exist. */
export function checkCommonStack(
  settings: CommonSettings,
  secretNames: readonly string[],
  requests: Record<string, BackupRequest>,
  path: string,
  stackName: string,
): Issue[] {
  const issues: Issue[] = [];
  for (const key of ["passphrase", "sshKey"] as const) {
    const secret = settings[key];
    if (secret && !secretNames.includes(secret))
      issues.push({
        path: joinPath(path, key),
        message: `secret "${secret}" is not set in the stack config (psf:secrets.${secret})`,
        hint: `run: pulumi config set --secret --path 'psf:secrets.${secret}' <value> --stack ${stackName}`,
      });
  }
  for (const [requester, req] of Object.entries(requests)) {
    const r = retentionOf(settings, req);
    if (r.daily + r.weekly + r.monthly + r.yearly > 0) continue;
    issues.push({
      path: req.retention
        ? joinPath(requestPath(requester), "retention")
        : joinPath(path, "retention"),
      message: "retention keeps nothing: every backup would be deleted right after it is made",
      hint: "keep at least one, e.g. {daily: 7}",
    });
  }
  return issues;
}

function requestPath(requester: string): string {
  return requester.includes(":") ? "providers.backup" : `services.${requester}.needs.backup`;
}

// ---------------------------------------------------------------- bash shared by both tools

const q = shellQuote;

/**
 * The start of every script: strict mode, the env file, a log line format naming the service,
 * a FAILED line on any non-zero exit, and the lowest CPU and I/O priority.
 */
export function scriptHeader(
  name: string,
  tool: string,
  job: BackupJob,
  paths: ScriptPaths,
): string[] {
  return [
    "#!/usr/bin/env bash",
    `# ${name} for ${job.service} (${tool}). Rendered by PSF; \`pulumi up\` overwrites edits.`,
    "set -Eeuo pipefail",
    `if [ -r ${q(paths.envFile)} ]; then set -a; . ${q(paths.envFile)}; set +a; fi`,
    "export TZ=UTC LC_ALL=C.UTF-8",
    `SERVICE=${q(job.service)}`,
    `log() { printf '%s: service %s: %s\\n' ${q(name)} "$SERVICE" "$*" >&2; }`,
    `fail() { log "$*"; exit 2; }`,
    `trap 'rc=$?; [ "$rc" -eq 0 ] || log "FAILED (exit $rc)"' EXIT`,
    // Backups yield to the services they protect.
    "renice -n 19 -p $$ >/dev/null 2>&1 || true",
    "if command -v ionice >/dev/null; then ionice -c 3 -p $$ >/dev/null 2>&1 || true; fi",
    `BACKUP_ROOT=${q(paths.backupRoot)}`,
    `RESTORE_ROOT=${q(paths.restoreRoot)}`,
    `TARGETS=(${job.targets.map((t) => q(`volumes/${t}`)).join(" ")})`,
  ];
}

/** Every volume mounted and every path present: a missing one fails, never a silent skip. */
export function checkTargets(root: "BACKUP_ROOT" | "RESTORE_ROOT", job: BackupJob): string[] {
  return [
    `for v in ${job.volumes.map(q).join(" ")}; do`,
    `  [ -d "$${root}/volumes/$v" ] || fail "volume $v is not mounted at $${root}/volumes/$v"`,
    "done",
    ...(root === "BACKUP_ROOT"
      ? [
          'for t in "${TARGETS[@]}"; do',
          '  [ -e "$BACKUP_ROOT/$t" ] || fail "$BACKUP_ROOT/$t does not exist; nothing was backed up"',
          "done",
        ]
      : []),
  ];
}

/**
 * The database provider's dump and restore, verbatim, as the functions `psf_db_dump` and
 * `psf_db_restore`; first, checks that the image has their programs and the env file their
 * variables, so a job fails before anything runs.
 */
export function databaseFunctions(dump: DatabaseDump): string[] {
  return [
    `for p in ${dump.programs.map(q).join(" ")}; do`,
    '  command -v "$p" >/dev/null || fail "$p is not in this image; the database\'s dump needs it"',
    "done",
    `for v in ${dump.env.map(q).join(" ")}; do`,
    '  [ -n "${!v:-}" ] || fail "$v is not set (database: true needs the database credentials)"',
    "done",
    "psf_db_dump() {",
    dump.dump,
    "}",
    "psf_db_restore() {",
    dump.restore,
    "}",
  ];
}

/** Empties each target before a restore, so it ends exactly as archived (a volume root stays: it is a mount). */
export function wipeTargets(job: BackupJob): string[] {
  return job.targets.map((t) =>
    t.includes("/")
      ? `rm -rf -- "$RESTORE_ROOT"/${q(`volumes/${t}`)}`
      : `find "$RESTORE_ROOT"/${q(`volumes/${t}`)} -mindepth 1 -delete`,
  );
}

/** Sets WEEKLY/MONTHLY: due today, or forced with PSF_MAINTENANCE=always / skipped with never. */
export function maintenanceDue(checkWeekday: number, monthDay: number): string[] {
  return [
    'case "${PSF_MAINTENANCE:-auto}" in',
    "  always) WEEKLY=1; MONTHLY=1 ;;",
    "  never) WEEKLY=0; MONTHLY=0 ;;",
    `  auto) WEEKLY=$([ "$(date +%w)" = ${checkWeekday} ] && echo 1 || echo 0); MONTHLY=$([ "$(date +%-d)" = ${monthDay} ] && echo 1 || echo 0) ;;`,
    '  *) fail "PSF_MAINTENANCE must be auto, always or never, not ${PSF_MAINTENANCE}" ;;',
    "esac",
  ];
}

/** The run's name and time: `<service>-2024-05-01T03:00:00` (UTC); PSF_BACKUP_TIME overrides the time. */
export const RUN_NAME = [
  'STAMP="${PSF_BACKUP_TIME:-$(date -u +%Y-%m-%dT%H:%M:%S)}"',
  '[[ "$STAMP" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$ ]] || fail "PSF_BACKUP_TIME must look like 2024-05-01T03:00:00, not $STAMP"',
  'RUN="$SERVICE-$STAMP"',
];

/** A pattern matching exactly this service's run names (never another service's: `app` vs `app-2`). */
export function runGlob(service: string): string {
  return `${service}-[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]`;
}

/** The restore argument: a run name of this service, or `latest` (the default). */
export const RESTORE_ARG = [
  '[ "$#" -le 1 ] || fail "usage: psf-restore [RUN], RUN as printed by psf-list (default: the latest)"',
  'WANT="${1:-latest}"',
];
