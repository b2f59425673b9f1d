// Bash both tools' scripts share: pieces of the scripts borg-script.ts and restic-script.ts render.
import { shellQuote } from "../../components/shell";
import type { DatabaseDump } from "../database/contract";
import { BackupJob, JobScripts, ScriptPaths } from "./job";
import { statusScript } from "./status-parts";

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
    // REASON: the last failure, for the status record and the alert.
    'REASON=""',
    `fail() { REASON="$*"; log "$*"; exit 2; }`,
    // One exit handler: the FAILED line, the status record (backup, drill), then cleanup.
    "psf_exit() {",
    "  local rc=$1",
    '  [ "$rc" -eq 0 ] || log "FAILED (exit $rc)"',
    '  if declare -F psf_record >/dev/null; then psf_record "$rc" || log "could not record the outcome in $STATUS_DIR"; fi',
    "  if declare -F psf_cleanup >/dev/null; then psf_cleanup || true; fi",
    '  if [ -n "${TMPD:-}" ]; then rm -rf "$TMPD"; fi',
    "}",
    `trap 'psf_exit $?' EXIT`,
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

/** The argument of a restore or a drill: a run name of this service, or `latest` (the default). */
export const runArg = (script: string) => [
  `[ "$#" -le 1 ] || fail "usage: ${script} [RUN], RUN as printed by psf-list (default: the latest)"`,
  'WANT="${1:-latest}"',
];
export const RESTORE_ARG = runArg("psf-restore");

/** How a tool opens and creates its repository, for {@link openRepository}. */
export interface RepositoryCommands {
  /** Where the repository is (`BORG_REPO`), then its passphrase: both must be set. */
  vars: readonly [string, string];
  /** Succeeds when the repository exists and the passphrase opens it. */
  open: string;
  /** Creates the repository; refuses an existing one. */
  init: string;
  /** What the tool says when there is no repository (an extended regular expression). */
  missing: string;
  /** Said after "initialising the repository at …", e.g. ` (repokey-blake2)`. */
  initNote?: string;
}

/** Checks the repository opens; with `init`, creates it when (and only when) there is none. */
export function openRepository(tool: RepositoryCommands, init: boolean): string[] {
  const at = `$${tool.vars[0]}`;
  return [
    `for v in ${tool.vars.join(" ")}; do [ -n "\${!v:-}" ] || fail "$v is not set"; done`,
    `if ! err=$(${tool.open} 2>&1 >/dev/null); then`,
    init
      ? [
          `  grep -qE "${tool.missing}" <<<"$err" || { printf '%s\\n' "$err" >&2; fail "cannot open the repository at ${at}"; }`,
          `  log "initialising the repository at ${at}${tool.initNote ?? ""}"`,
          // `init` refuses an existing repository; a job that lost the race finds it made.
          `  if ! err=$(${tool.init} 2>&1); then`,
          `    ${tool.open} >/dev/null 2>&1 || { printf '%s\\n' "$err" >&2; fail "cannot initialise the repository at ${at}"; }`,
          "  fi",
        ].join("\n")
      : [
          "  printf '%s\\n' \"$err\" >&2",
          `  grep -qE "${tool.missing}" <<<"$err" && fail "there is no repository at ${at} yet: no backup has run"`,
          `  fail "cannot open the repository at ${at}"`,
        ].join("\n"),
    "fi",
  ];
}

/** Sets RUN to the run to restore: the one named (it must be in RUNS), else the latest. */
export function pickRun(noun: "archive" | "snapshot"): string[] {
  return [
    'if [ "$WANT" = latest ]; then',
    `  RUN=$(tail -n 1 <<<"$RUNS"); [ -n "$RUN" ] || fail "there is no ${noun} of $SERVICE yet: nothing to restore"`,
    "else",
    `  grep -Fx -- "$WANT" <<<"$RUNS" >/dev/null || fail "there is no ${noun} named \\"$WANT\\" of $SERVICE (psf-list shows them)"`,
    '  RUN="$WANT"',
    "fi",
  ];
}

/**
 * Fails when the database dump failed (PIPESTATUS in `st`: the dump, then the tool). The dump's
 * own failure is the cause; 141 (SIGPIPE) only means the tool stopped reading. `discard` first
 * removes what the tool kept of a truncated dump.
 */
export function failOnDump(discard: string[], kept: "archive" | "snapshot"): string[] {
  return [
    'if [ "${st[0]}" -ne 0 ] && { [ "${st[0]}" -ne 141 ] || [ "${st[1]}" -eq 0 ]; }; then',
    ...discard.map((line) => `  ${line}`),
    `  fail "the database dump failed (exit \${st[0]}); no ${kept} was kept"`,
    "fi",
  ];
}

/** A tool's three scripts for one job, each rendered by its own function. */
export function jobScripts<Settings>(
  render: Record<
    Exclude<keyof JobScripts, "status">,
    (job: BackupJob, s: Settings, p: ScriptPaths) => string
  >,
  job: BackupJob,
  settings: Settings,
  paths: ScriptPaths,
): JobScripts {
  return {
    backup: render.backup(job, settings, paths),
    restore: render.restore(job, settings, paths),
    list: render.list(job, settings, paths),
    drill: render.drill(job, settings, paths),
    status: statusScript(job, paths),
  };
}
