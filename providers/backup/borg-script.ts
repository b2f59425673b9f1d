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

export const BORG_ENCRYPTIONS = ["repokey-blake2", "repokey", "keyfile-blake2", "keyfile"] as const;

export interface BorgSettings extends CommonSettings {
  encryption: (typeof BORG_ENCRYPTIONS)[number];
  /** `lz4`, `zstd,3`, `auto,zlib,6`, `none`... as `borg create --compression` takes it. */
  compression: string;
  repository?: string;
  /** Seconds the weekly partial repository check may take (it resumes where it stopped). */
  checkMaxDuration: number;
  /** Day of the month on which the maintainer job compacts the repository. */
  compactDay: number;
}

/** What `borg create --compression` accepts. */
export const BORG_COMPRESSION =
  /^(auto,)?(none|lz4|zstd(,([1-9]|1[0-9]|2[0-2]))?|zlib(,[0-9])?|lzma(,[0-9])?)$/;

const q = shellQuote;
/** Jobs of several services share the repository: wait for its lock rather than fail. */
const LOCK = "LOCK=(--lock-wait 3600)";

/** Checks the repository opens; with `init`, creates it when (and only when) there is none. */
function openRepo(settings: BorgSettings, init: boolean): string[] {
  return [
    'for v in BORG_REPO BORG_PASSPHRASE; do [ -n "${!v:-}" ] || fail "$v is not set"; done',
    'if ! err=$(borg list "${LOCK[@]}" --short --last 1 2>&1 >/dev/null); then',
    init
      ? [
          '  grep -qE "does not exist|is not a valid repository" <<<"$err" || { printf \'%s\\n\' "$err" >&2; fail "cannot open the repository at $BORG_REPO"; }',
          `  log "initialising the repository at $BORG_REPO (${settings.encryption})"`,
          // `borg init` refuses an existing repository; a job that lost the race finds it made.
          `  if ! err=$(borg init --make-parent-dirs --encryption=${q(settings.encryption)} 2>&1); then`,
          '    borg list "${LOCK[@]}" --short --last 1 >/dev/null 2>&1 || { printf \'%s\\n\' "$err" >&2; fail "cannot initialise the repository at $BORG_REPO"; }',
          "  fi",
        ].join("\n")
      : [
          "  printf '%s\\n' \"$err\" >&2",
          '  grep -qE "does not exist|is not a valid repository" <<<"$err" && fail "there is no repository at $BORG_REPO yet: no backup has run"',
          '  fail "cannot open the repository at $BORG_REPO"',
        ].join("\n"),
    "fi",
  ];
}

function excludeArgs(job: BackupJob): string {
  // `sh:` patterns: `**/` matches any depth; rooted ones start at the archive root.
  return job.excludes
    .map((e) => `--exclude ${q(e.rooted ? `sh:volumes/${e.pattern}` : `sh:**/${e.pattern}`)}`)
    .join(" ");
}

function backup(job: BackupJob, settings: BorgSettings, paths: ScriptPaths): string {
  const r = job.retention;
  const create = `borg create "\${LOCK[@]}" --stats --numeric-ids --compression ${q(settings.compression)} --timestamp "$STAMP" ${excludeArgs(job)}`;
  return [
    ...scriptHeader("psf-backup", "borg", job, paths),
    LOCK,
    `GLOB=${q(runGlob(job.service))}`,
    ...checkTargets("BACKUP_ROOT", job),
    ...(job.database ? databaseFunctions(job.database) : []),
    ...RUN_NAME,
    ...openRepo(settings, true),
    // A job with only a database mounts nothing under the backup root: it may not exist.
    'mkdir -p "$BACKUP_ROOT" && cd "$BACKUP_ROOT"',
    `log "backing up \${TARGETS[*]}${job.database ? " and the database" : ""} as $RUN"`,
    "set +e",
    job.database
      ? `psf_db_dump | ${create} --stdin-name ${DB_FILE} "::$RUN" - "\${TARGETS[@]}"; st=("\${PIPESTATUS[@]}")`
      : `${create} "::$RUN" "\${TARGETS[@]}"; st=(0 "$?")`,
    "set -e",
    // The dump's own failure is the cause; 141 (SIGPIPE) only means borg stopped reading.
    'if [ "${st[0]}" -ne 0 ] && { [ "${st[0]}" -ne 141 ] || [ "${st[1]}" -eq 0 ]; }; then',
    // The archive, when borg finished it, holds a truncated dump: never keep it.
    '  if borg list "${LOCK[@]}" --short --glob-archives "$RUN" | grep -Fx -- "$RUN" >/dev/null; then borg delete "${LOCK[@]}" "::$RUN"; fi',
    '  fail "the database dump failed (exit ${st[0]}); no archive was kept"',
    "fi",
    'if [ "${st[1]}" -ge 2 ]; then fail "borg create failed (exit ${st[1]}); no archive was made"; fi',
    'if [ "${st[1]}" -eq 1 ]; then fail "borg create finished with warnings (above): $RUN lacks what it could not read"; fi',
    `borg prune "\${LOCK[@]}" --glob-archives "$GLOB" --keep-daily ${r.daily} --keep-weekly ${r.weekly} --keep-monthly ${r.monthly} --keep-yearly ${r.yearly}`,
    ...maintenanceDue(settings.checkWeekday, settings.compactDay),
    'if [ "$WEEKLY" = 1 ]; then',
    '  log "verifying the data of the latest archive"',
    '  borg check "${LOCK[@]}" --archives-only --verify-data --glob-archives "$GLOB" --last 1',
    ...(job.maintainer
      ? [
          `  log "checking the repository (at most ${settings.checkMaxDuration} s, resumed next time)"`,
          `  borg check "\${LOCK[@]}" --repository-only --max-duration ${settings.checkMaxDuration}`,
        ]
      : []),
    "fi",
    ...(job.maintainer
      ? [
          'if [ "$MONTHLY" = 1 ]; then log "compacting the repository"; borg compact "${LOCK[@]}"; fi',
        ]
      : []),
    'log "OK: $RUN"',
    "",
  ].join("\n");
}

function restore(job: BackupJob, settings: BorgSettings, paths: ScriptPaths): string {
  return [
    ...scriptHeader("psf-restore", "borg", job, paths),
    ...RESTORE_ARG,
    LOCK,
    `GLOB=${q(runGlob(job.service))}`,
    ...checkTargets("RESTORE_ROOT", job),
    ...(job.database ? databaseFunctions(job.database) : []),
    ...openRepo(settings, false),
    'RUNS=$(borg list "${LOCK[@]}" --short --glob-archives "$GLOB")',
    'if [ "$WANT" = latest ]; then',
    '  RUN=$(tail -n 1 <<<"$RUNS"); [ -n "$RUN" ] || fail "there is no archive of $SERVICE yet: nothing to restore"',
    "else",
    '  grep -Fx -- "$WANT" <<<"$RUNS" >/dev/null || fail "there is no archive named \\"$WANT\\" of $SERVICE (psf-list shows them)"',
    '  RUN="$WANT"',
    "fi",
    'TMPD=$(mktemp -d); trap \'rc=$?; rm -rf "$TMPD"; [ "$rc" -eq 0 ] || log "FAILED (exit $rc)"\' EXIT',
    // Everything is checked before anything is deleted.
    'borg list "${LOCK[@]}" --short "::$RUN" >"$TMPD/paths"',
    'for t in "${TARGETS[@]}"; do grep -Fx -- "$t" "$TMPD/paths" >/dev/null || fail "$RUN has no $t: it was made before $t was backed up"; done',
    ...(job.database
      ? [
          `grep -Fx ${DB_FILE} "$TMPD/paths" >/dev/null || fail "$RUN has no database dump"`,
          `borg extract "\${LOCK[@]}" --stdout "::$RUN" ${DB_FILE} >"$TMPD/${DB_FILE}"`,
        ]
      : []),
    'log "restoring $RUN"',
    // Without targets (a database-only backup) `borg extract` would extract everything.
    ...(job.targets.length
      ? [
          ...wipeTargets(job),
          'cd "$RESTORE_ROOT"',
          'borg extract "${LOCK[@]}" --numeric-ids "::$RUN" "${TARGETS[@]}"',
        ]
      : []),
    ...(job.database ? [`psf_db_restore <"$TMPD/${DB_FILE}"`] : []),
    'log "restored $RUN"',
    "",
  ].join("\n");
}

function list(job: BackupJob, settings: BorgSettings, paths: ScriptPaths): string {
  return [
    ...scriptHeader("psf-list", "borg", job, paths),
    LOCK,
    ...openRepo(settings, false),
    `borg list "\${LOCK[@]}" --short --glob-archives ${q(runGlob(job.service))}`,
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
  return {
    backup: backup(job, settings, paths),
    restore: restore(job, settings, paths),
    list: list(job, settings, paths),
  };
}
