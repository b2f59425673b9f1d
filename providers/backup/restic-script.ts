import { shellQuote } from "../../components/shell";
import { BackupJob, DB_FILE, FACTS_DIR, JobScripts, ScriptPaths } from "./job";
import * as part from "./script-parts";
import * as drillPart from "./drill-parts";
import { statusRecord } from "./status-parts";
import type { InferFields } from "../../components/validate/infer";
import type { resticSettingsFields } from "./restic";
import type { CommonSettings, commonSettingsFields } from "./settings";

export type ResticSettings = InferFields<typeof commonSettingsFields & typeof resticSettingsFields>;

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

/** A private temporary directory, removed on exit by the header's handler. */
const TMPDIR = "TMPD=$(mktemp -d)";

/** restic's repository: `restic cat config` opens it, `restic init` makes it (format 2). */
function openRepo(init: boolean): string[] {
  return part.openRepository(
    {
      vars: ["RESTIC_REPOSITORY", "RESTIC_PASSWORD"],
      open: "restic cat config",
      init: "restic init --repository-version 2",
      missing: "unable to open config file|repository does not exist",
    },
    init,
  );
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
  `{ grep -o ${q(`"${part.runGlob(service)}"`)} || true; } | tr -d '"'`;

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
    ...part.scriptHeader("psf-backup", "restic", job, paths),
    ...part.checkTargets("BACKUP_ROOT", job),
    ...(job.database ? part.databaseFunctions(job.database) : []),
    ...statusRecord("backup", job, paths),
    ...part.RUN_NAME,
    TMPDIR,
    ...RETRY_LOCKED,
    ...openRepo(true),
    // A job with only a database mounts nothing under the backup root: it may not exist.
    'mkdir -p "$BACKUP_ROOT" && cd "$BACKUP_ROOT"',
    ...drillPart.recordFacts(job),
    ...(job.database
      ? [
          // The dump first: a run whose files snapshot exists is complete.
          'log "backing up the database as $RUN"',
          "set +e",
          `psf_db_dump | restic backup --json ${common} --tag "db,$RUN" --stdin --stdin-filename ${DB_FILE} >"$TMPD/db.json"; st=("\${PIPESTATUS[@]}")`,
          "set -e",
          // restic 0.14 keeps whatever arrived on stdin: never keep a truncated dump.
          ...part.failOnDump(
            [
              'id=$({ grep -o \'"snapshot_id":"[0-9a-f]*"\' "$TMPD/db.json" || true; } | cut -d\'"\' -f4)',
              'if [ -n "$id" ]; then retry_locked restic forget -q "$id"; fi',
            ],
            "snapshot",
          ),
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
    // The facts last (the dump's row counts, the files' checksums), as a snapshot of their own.
    `rc=0; restic backup -q ${common} --tag "facts,$RUN" -- ${FACTS_DIR} || rc=$?`,
    'if [ "$rc" -ne 0 ]; then fail "restic backup of the facts of $RUN failed (exit $rc)"; fi',
    `SIZE=$(restic stats --json --host "$SERVICE" --tag "files,$RUN" --tag "db,$RUN" | grep -o '"total_size": *[0-9]*' | grep -o '[0-9]*$')`,
    // Files, dumps and facts are pruned apart, each by the policy, whatever their paths.
    `for kind in files db facts; do retry_locked restic forget -q --host "$SERVICE" --tag "$kind" --group-by host ${keep}; done`,
    ...part.maintenanceDue(settings.checkWeekday, settings.pruneDay),
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
    ...part.scriptHeader("psf-restore", "restic", job, paths),
    ...part.RESTORE_ARG,
    ...part.checkTargets("RESTORE_ROOT", job),
    ...(job.database ? part.databaseFunctions(job.database) : []),
    TMPDIR,
    ...openRepo(false),
    `RUNS=$(restic snapshots --json --host "$SERVICE" --tag ${runKind(job)} | ${RUNS_OF(job.service)})`,
    ...part.pickRun("snapshot"),
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
      ? [...part.wipeTargets(job), `restic restore -q ${of("files")} --target "$RESTORE_ROOT"`]
      : []),
    ...(job.database ? [`psf_db_restore <"$TMPD/${DB_FILE}"`] : []),
    'log "restored $RUN"',
    "",
  ].join("\n");
}

/** Restores a run into scratch space and checks it against the facts recorded with it. */
function drill(job: BackupJob, _settings: ResticSettings, paths: ScriptPaths): string {
  const scratch = job.database?.drill;
  const of = (kind: string) => `latest --host "$SERVICE" --tag "${kind},$RUN"`;
  return [
    ...part.scriptHeader("psf-drill", "restic", job, paths),
    ...part.runArg("psf-drill"),
    ...(scratch ? drillPart.scratchFunctions(scratch) : []),
    ...statusRecord("drill", job, paths),
    ...openRepo(false),
    `RUNS=$(restic snapshots --json --host "$SERVICE" --tag ${runKind(job)} | ${RUNS_OF(job.service)})`,
    ...part.pickRun("snapshot"),
    ...drillPart.DRILL_SETUP,
    'log "drill: restoring $RUN into scratch space"',
    ...(job.targets.length
      ? [
          `drill_step "restic restore of $RUN" restic restore -q ${of("files")} --target "$TMPD/files"`,
        ]
      : []),
    `if restic snapshots --json --host "$SERVICE" --tag "facts,$RUN" | grep -q '"id"'; then`,
    `  drill_step "restic restore of the facts of $RUN" restic restore -q ${of("facts")} --target "$TMPD/files"`,
    "fi",
    ...(job.database
      ? [
          `drill_step "restic dump of the database in $RUN" restic dump ${of("db")} /${DB_FILE} >"$TMPD/${DB_FILE}"`,
        ]
      : []),
    ...drillPart.drillChecks(job, scratch),
    "",
  ].join("\n");
}

function list(job: BackupJob, _settings: ResticSettings, paths: ScriptPaths): string {
  return [
    ...part.scriptHeader("psf-list", "restic", job, paths),
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
  return part.jobScripts({ backup, restore, list, drill }, job, settings, paths);
}
