import { shellQuote } from "../../components/shell";
import { BackupJob, DB_FILE, FACTS_DIR, JobScripts, ScriptPaths } from "./job";
import * as part from "./script-parts";
import * as drillPart from "./drill-parts";
import { statusRecord } from "./status-parts";
import type { InferFields } from "../../components/validate/infer";
import type { borgSettingsFields } from "./borg";
import type { CommonSettings, commonSettingsFields } from "./settings";

export const BORG_ENCRYPTIONS = ["repokey-blake2", "repokey", "keyfile-blake2", "keyfile"] as const;

export type BorgSettings = InferFields<typeof commonSettingsFields & typeof borgSettingsFields>;

/** What `borg create --compression` accepts. */
export const BORG_COMPRESSION =
  /^(auto,)?(none|lz4|zstd(,([1-9]|1[0-9]|2[0-2]))?|zlib(,[0-9])?|lzma(,[0-9])?)$/;

const q = shellQuote;
/** Jobs of several services share the repository: wait for its lock rather than fail. */
const LOCK = "LOCK=(--lock-wait 3600)";

/** borg's repository: `borg list` opens it, `borg init` makes it with the chosen encryption. */
function openRepo(settings: BorgSettings, init: boolean): string[] {
  return part.openRepository(
    {
      vars: ["BORG_REPO", "BORG_PASSPHRASE"],
      open: 'borg list "${LOCK[@]}" --short --last 1',
      init: `borg init --make-parent-dirs --encryption=${q(settings.encryption)}`,
      missing: "does not exist|is not a valid repository",
      initNote: ` (${settings.encryption})`,
    },
    init,
  );
}

function excludeArgs(job: BackupJob): string {
  // `sh:` patterns: `**/` matches any depth; rooted ones start at the archive root.
  return job.excludes
    .map((e) => `--exclude ${q(e.rooted ? `sh:volumes/${e.pattern}` : `sh:**/${e.pattern}`)}`)
    .join(" ");
}

// Parts are nested and flattened once (`.flat()`) rather than spread: V8's optimizing
// compiler spent ~0.3 s on each script function with a dozen spreads (psf plan, 500 jobs).
function backup(job: BackupJob, settings: BorgSettings, paths: ScriptPaths): string {
  const r = job.retention;
  const create = `borg create "\${LOCK[@]}" --stats --numeric-ids --compression ${q(settings.compression)} --timestamp "$STAMP" ${excludeArgs(job)}`;
  return [
    part.scriptHeader("psf-backup", "borg", job, paths),
    LOCK,
    `GLOB=${q(part.runGlob(job.service))}`,
    part.checkTargets("BACKUP_ROOT", job),
    job.database ? part.databaseFunctions(job.database) : [],
    statusRecord("backup", job, paths),
    part.RUN_NAME,
    openRepo(settings, true),
    // A job with only a database mounts nothing under the backup root: it may not exist.
    'mkdir -p "$BACKUP_ROOT" && cd "$BACKUP_ROOT"',
    drillPart.recordFacts(job),
    `log "backing up ${[...(job.targets.length ? ["${TARGETS[*]}"] : []), ...(job.database ? ["the database"] : [])].join(" and ")} as $RUN"`,
    "set +e",
    // The dump first: its row counts are in the facts when borg reaches them, last.
    job.database
      ? `psf_db_dump | ${create} --stdin-name ${DB_FILE} "::$RUN" - "\${TARGETS[@]}" ${FACTS_DIR}; st=("\${PIPESTATUS[@]}")`
      : `${create} "::$RUN" "\${TARGETS[@]}" ${FACTS_DIR}; st=(0 "$?")`,
    "set -e",
    // The archive, when borg finished it, holds a truncated dump: never keep it.
    part.failOnDump(
      [
        'if borg list "${LOCK[@]}" --short --glob-archives "$RUN" | grep -Fx -- "$RUN" >/dev/null; then borg delete "${LOCK[@]}" "::$RUN"; fi',
      ],
      "archive",
    ),
    'if [ "${st[1]}" -ge 2 ]; then fail "borg create failed (exit ${st[1]}); no archive was made"; fi',
    'if [ "${st[1]}" -eq 1 ]; then fail "borg create finished with warnings (above): $RUN lacks what it could not read"; fi',
    `SIZE=$(borg info "\${LOCK[@]}" --json "::$RUN" | grep -o '"original_size": *[0-9]*' | head -n 1 | grep -o '[0-9]*$')`,
    `borg prune "\${LOCK[@]}" --glob-archives "$GLOB" --keep-daily ${r.daily} --keep-weekly ${r.weekly} --keep-monthly ${r.monthly} --keep-yearly ${r.yearly}`,
    part.maintenanceDue(settings.checkWeekday, settings.compactDay),
    'if [ "$WEEKLY" = 1 ]; then',
    '  log "verifying the data of the latest archive"',
    '  borg check "${LOCK[@]}" --archives-only --verify-data --glob-archives "$GLOB" --last 1',
    job.maintainer
      ? [
          `  log "checking the repository (at most ${settings.checkMaxDuration} s, resumed next time)"`,
          `  borg check "\${LOCK[@]}" --repository-only --max-duration ${settings.checkMaxDuration}`,
        ]
      : [],
    "fi",
    job.maintainer
      ? [
          'if [ "$MONTHLY" = 1 ]; then log "compacting the repository"; borg compact "${LOCK[@]}"; fi',
        ]
      : [],
    'log "OK: $RUN"',
    "",
  ]
    .flat()
    .join("\n");
}

function restore(job: BackupJob, settings: BorgSettings, paths: ScriptPaths): string {
  return [
    part.scriptHeader("psf-restore", "borg", job, paths),
    part.RESTORE_ARG,
    LOCK,
    `GLOB=${q(part.runGlob(job.service))}`,
    part.checkTargets("RESTORE_ROOT", job),
    job.database ? part.databaseFunctions(job.database) : [],
    openRepo(settings, false),
    'RUNS=$(borg list "${LOCK[@]}" --short --glob-archives "$GLOB")',
    part.pickRun("archive"),
    "TMPD=$(mktemp -d)",
    // Everything is checked before anything is deleted.
    'borg list "${LOCK[@]}" --short "::$RUN" >"$TMPD/paths"',
    'for t in "${TARGETS[@]}"; do grep -Fx -- "$t" "$TMPD/paths" >/dev/null || fail "$RUN has no $t: it was made before $t was backed up"; done',
    job.database
      ? [
          `grep -Fx ${DB_FILE} "$TMPD/paths" >/dev/null || fail "$RUN has no database dump"`,
          `borg extract "\${LOCK[@]}" --stdout "::$RUN" ${DB_FILE} >"$TMPD/${DB_FILE}"`,
        ]
      : [],
    'log "restoring $RUN"',
    // Without targets (a database-only backup) `borg extract` would extract everything.
    job.targets.length
      ? [
          ...part.wipeTargets(job),
          'cd "$RESTORE_ROOT"',
          'borg extract "${LOCK[@]}" --numeric-ids "::$RUN" "${TARGETS[@]}"',
        ]
      : [],
    job.database ? [`psf_db_restore <"$TMPD/${DB_FILE}"`] : [],
    'log "restored $RUN"',
    "",
  ]
    .flat()
    .join("\n");
}

/** Restores a run into scratch space and checks it against the facts recorded with it. */
function drill(job: BackupJob, settings: BorgSettings, paths: ScriptPaths): string {
  const scratch = job.database?.drill;
  return [
    part.scriptHeader("psf-drill", "borg", job, paths),
    part.runArg("psf-drill"),
    LOCK,
    `GLOB=${q(part.runGlob(job.service))}`,
    scratch ? drillPart.scratchFunctions(scratch) : [],
    statusRecord("drill", job, paths),
    openRepo(settings, false),
    'RUNS=$(borg list "${LOCK[@]}" --short --glob-archives "$GLOB")',
    part.pickRun("archive"),
    drillPart.DRILL_SETUP,
    'log "drill: restoring $RUN into scratch space"',
    'cd "$TMPD/files"',
    `drill_step "borg extract of $RUN" borg extract "\${LOCK[@]}" --numeric-ids "::$RUN" --exclude ${DB_FILE}`,
    job.database
      ? [
          `drill_step "borg extract of the database dump in $RUN" borg extract "\${LOCK[@]}" --stdout "::$RUN" ${DB_FILE} >"$TMPD/${DB_FILE}"`,
        ]
      : [],
    "cd /",
    drillPart.drillChecks(job, scratch),
    "",
  ]
    .flat()
    .join("\n");
}

function list(job: BackupJob, settings: BorgSettings, paths: ScriptPaths): string {
  return [
    ...part.scriptHeader("psf-list", "borg", job, paths),
    LOCK,
    ...openRepo(settings, false),
    `borg list "\${LOCK[@]}" --short --glob-archives ${q(part.runGlob(job.service))}`,
    "",
  ].join("\n");
}

/**
 * The job's scripts: `backup` (init once, archive the targets and the database dump, prune,
 * check weekly, compact monthly), `restore [RUN]` and `list`. Pure, so tests run them with the
 * real borg against local directories.
 */
export function borgScripts(
  job: BackupJob,
  settings: BorgSettings,
  paths: ScriptPaths,
): JobScripts {
  return part.jobScripts({ backup, restore, list, drill }, job, settings, paths);
}
