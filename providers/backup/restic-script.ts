import { shellQuote } from "../../components/shell";
import {
  BackupJob,
  CommonSettings,
  DB_FILE,
  JobScripts,
  RESTORE_ARG,
  RUN_NAME,
  ScriptPaths,
  checkTargets,
  databaseFunctions,
  maintenanceDue,
  runGlob,
  scriptHeader,
  wipeTargets,
} from "./job";

export interface ResticSettings extends CommonSettings {
  /** `restic --compression`: auto, off or max. */
  compression: "auto" | "off" | "max";
  repository?: string;
  /** `restic check --read-data-subset`: the share of pack files read back each week. */
  checkReadData: string;
  /** Day of the month on which the maintainer job prunes unreferenced data. */
  pruneDay: number;
  /** Plain environment for the repository backend (`AWS_ACCESS_KEY_ID`...). */
  env: Record<string, string>;
  /** Environment from `psf:secrets` (`AWS_SECRET_ACCESS_KEY: s3-secret`). */
  secretEnv: Record<string, string>;
}

/** Backends restic reaches over the network (a local path would live in the container). */
export const RESTIC_BACKENDS = [
  "sftp",
  "rest",
  "s3",
  "b2",
  "azure",
  "gs",
  "swift",
  "rclone",
] as const;
/** `restic check --read-data-subset`: `5%`, `2.5%`, `1/7`, `500M`. */
export const RESTIC_SUBSET =
  /^([0-9]{1,2}(\.[0-9]+)?%|100%|[1-9][0-9]*\/[1-9][0-9]*|[1-9][0-9]*[kKmMgGtT])$/;

const q = shellQuote;

/**
 * Runs a restic command that needs an exclusive lock. restic 0.14 fails at once on a locked
 * repository, and the jobs of other services share it: retry for up to an hour.
 */
const RETRY_LOCKED = [
  "retry_locked() {",
  '  local i rc=0 err="$TMPD/locked.err"',
  "  for i in $(seq 1 60); do",
  '    rc=0; "$@" 2>"$err" || rc=$?',
  '    cat "$err" >&2',
  '    [ "$rc" -ne 0 ] || return 0',
  '    grep -q "already locked" "$err" || return "$rc"',
  '    log "the repository is locked by another job; retrying in 60 s"; sleep 60',
  "  done",
  '  return "$rc"',
  "}",
];

const TMPDIR =
  'TMPD=$(mktemp -d); trap \'rc=$?; rm -rf "$TMPD"; [ "$rc" -eq 0 ] || log "FAILED (exit $rc)"\' EXIT';

/** Checks the repository opens; with `init`, creates it when (and only when) there is none. */
function openRepo(init: boolean): string[] {
  const missing = '"unable to open config file|repository does not exist"';
  return [
    'for v in RESTIC_REPOSITORY RESTIC_PASSWORD; do [ -n "${!v:-}" ] || fail "$v is not set"; done',
    "if ! err=$(restic cat config 2>&1 >/dev/null); then",
    init
      ? [
          `  grep -qE ${missing} <<<"$err" || { printf '%s\\n' "$err" >&2; fail "cannot open the repository at $RESTIC_REPOSITORY"; }`,
          '  log "initialising the repository at $RESTIC_REPOSITORY"',
          // `restic init` refuses an existing repository; a job that lost the race finds it made.
          "  if ! err=$(restic init --repository-version 2 2>&1); then",
          '    restic cat config >/dev/null 2>&1 || { printf \'%s\\n\' "$err" >&2; fail "cannot initialise the repository at $RESTIC_REPOSITORY"; }',
          "  fi",
        ].join("\n")
      : [
          "  printf '%s\\n' \"$err\" >&2",
          `  grep -qE ${missing} <<<"$err" && fail "there is no repository at $RESTIC_REPOSITORY yet: no backup has run"`,
          '  fail "cannot open the repository at $RESTIC_REPOSITORY"',
        ].join("\n"),
    "fi",
  ];
}

function excludeArgs(job: BackupJob): string {
  // restic matches patterns against absolute paths; unrooted ones match at any depth.
  return job.excludes
    .map(
      (e) => `--exclude ${e.rooted ? `"$BACKUP_ROOT"/${q(`volumes/${e.pattern}`)}` : q(e.pattern)}`,
    )
    .join(" ");
}

/** The snapshot that completes a run: the files, made last; the dump when there are no files. */
const runKind = (job: BackupJob) => (job.targets.length ? "files" : "db");

/** Run names (`<service>-<time>`) from `restic snapshots --json`, oldest first. */
const RUNS_OF = (service: string) =>
  `{ grep -o ${q(`"${runGlob(service)}"`)} || true; } | tr -d '"'`;

function backup(job: BackupJob, settings: ResticSettings, paths: ScriptPaths): string {
  const r = job.retention;
  const keep = Object.entries({
    daily: r.daily,
    weekly: r.weekly,
    monthly: r.monthly,
    yearly: r.yearly,
  })
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `--keep-${k} ${n}`)
    .join(" ");
  const common = `--host "$SERVICE" --time "\${STAMP/T/ }" --compression ${settings.compression}`;
  return [
    ...scriptHeader("psf-backup", "restic", job, paths),
    ...checkTargets("BACKUP_ROOT", job),
    ...(job.database ? databaseFunctions(job.database) : []),
    ...RUN_NAME,
    TMPDIR,
    ...RETRY_LOCKED,
    ...openRepo(true),
    // A job with only a database mounts nothing under the backup root: it may not exist.
    'mkdir -p "$BACKUP_ROOT" && cd "$BACKUP_ROOT"',
    ...(job.database
      ? [
          // The dump first: a run whose files snapshot exists is complete.
          'log "backing up the database as $RUN"',
          "set +e",
          `psf_db_dump | restic backup --json ${common} --tag "db,$RUN" --stdin --stdin-filename ${DB_FILE} >"$TMPD/db.json"; st=("\${PIPESTATUS[@]}")`,
          "set -e",
          // The dump's own failure is the cause; 141 (SIGPIPE) only means restic stopped reading.
          'if [ "${st[0]}" -ne 0 ] && { [ "${st[0]}" -ne 141 ] || [ "${st[1]}" -eq 0 ]; }; then',
          // restic 0.14 keeps whatever arrived on stdin: never keep a truncated dump.
          '  id=$({ grep -o \'"snapshot_id":"[0-9a-f]*"\' "$TMPD/db.json" || true; } | cut -d\'"\' -f4)',
          '  if [ -n "$id" ]; then retry_locked restic forget -q "$id"; fi',
          '  fail "the database dump failed (exit ${st[0]}); no snapshot was kept"',
          "fi",
          'if [ "${st[1]}" -ne 0 ]; then fail "restic backup of the database failed (exit ${st[1]})"; fi',
        ]
      : []),
    ...(job.targets.length
      ? [
          'log "backing up ${TARGETS[*]} as $RUN"',
          `rc=0; restic backup -q ${common} --tag "files,$RUN" ${excludeArgs(job)} -- "\${TARGETS[@]}" || rc=$?`,
          'if [ "$rc" -eq 3 ]; then fail "restic could not read some files (above): $RUN lacks them"; fi',
          'if [ "$rc" -ne 0 ]; then fail "restic backup failed (exit $rc)"; fi',
        ]
      : []),
    // Files and dumps are pruned apart, each by the policy, whatever their paths.
    `for kind in files db; do retry_locked restic forget -q --host "$SERVICE" --tag "$kind" --group-by host ${keep}; done`,
    ...maintenanceDue(settings.checkWeekday, settings.pruneDay),
    ...(job.maintainer
      ? [
          `if [ "$WEEKLY" = 1 ]; then log "checking the repository, reading ${settings.checkReadData} of the data"; retry_locked restic check --read-data-subset=${q(settings.checkReadData)}; fi`,
          `if [ "$MONTHLY" = 1 ]; then log "pruning unreferenced data"; retry_locked restic prune -q --compression ${settings.compression}; fi`,
        ]
      : []),
    'log "OK: $RUN"',
    "",
  ].join("\n");
}

function restore(job: BackupJob, _settings: ResticSettings, paths: ScriptPaths): string {
  // The run's snapshot of one kind: `latest` among those carrying the run's tag (there is one).
  const of = (kind: string) => `latest --host "$SERVICE" --tag "${kind},$RUN"`;
  return [
    ...scriptHeader("psf-restore", "restic", job, paths),
    ...RESTORE_ARG,
    ...checkTargets("RESTORE_ROOT", job),
    ...(job.database ? databaseFunctions(job.database) : []),
    TMPDIR,
    ...openRepo(false),
    `RUNS=$(restic snapshots --json --host "$SERVICE" --tag ${runKind(job)} | ${RUNS_OF(job.service)})`,
    'if [ "$WANT" = latest ]; then',
    '  RUN=$(tail -n 1 <<<"$RUNS"); [ -n "$RUN" ] || fail "there is no snapshot of $SERVICE yet: nothing to restore"',
    "else",
    '  grep -Fx -- "$WANT" <<<"$RUNS" >/dev/null || fail "there is no snapshot named \\"$WANT\\" of $SERVICE (psf-list shows them)"',
    '  RUN="$WANT"',
    "fi",
    // Everything is checked before anything is deleted.
    ...(job.targets.length
      ? [
          `restic ls ${of("files")} >"$TMPD/paths"`,
          'for t in "${TARGETS[@]}"; do grep -Fx -- "/$t" "$TMPD/paths" >/dev/null || fail "$RUN has no $t: it was made before $t was backed up"; done',
        ]
      : []),
    ...(job.database
      ? [
          `restic dump ${of("db")} /${DB_FILE} >"$TMPD/${DB_FILE}" || fail "$RUN has no database dump"`,
        ]
      : []),
    'log "restoring $RUN"',
    ...(job.targets.length
      ? [...wipeTargets(job), `restic restore -q ${of("files")} --target "$RESTORE_ROOT"`]
      : []),
    ...(job.database ? [`psf_db_restore <"$TMPD/${DB_FILE}"`] : []),
    'log "restored $RUN"',
    "",
  ].join("\n");
}

function list(job: BackupJob, _settings: ResticSettings, paths: ScriptPaths): string {
  return [
    ...scriptHeader("psf-list", "restic", job, paths),
    ...openRepo(false),
    `restic snapshots --json --host "$SERVICE" --tag ${runKind(job)} | ${RUNS_OF(job.service)}`,
    "",
  ].join("\n");
}

/**
 * The job's scripts: `backup` (init once; the database dump and the files as two snapshots
 * tagged with the run's name; forget per retention; check weekly, prune monthly), `restore
 * [RUN]` and `list`. Pure, so tests run them with the real restic against local directories.
 */
export function resticScripts(
  job: BackupJob,
  settings: ResticSettings,
  paths: ScriptPaths,
): JobScripts {
  return {
    backup: backup(job, settings, paths),
    restore: restore(job, settings, paths),
    list: list(job, settings, paths),
  };
}
