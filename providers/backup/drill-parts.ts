// Bash both tools' scripts share for restore drills: the facts a backup records inside each
// run (file checksums, row counts) and the drill's checks of a restored run against them.
import { shellQuote } from "../../components/shell";
import type { DumpDrill } from "../database/contract";
import { BackupJob, DB_FILE, FACTS_DIR } from "./job";

const q = shellQuote;

/** `find` expressions for the job's excludes, as the tools read them (relative to the backup root). */
function pruneArgs(job: BackupJob): string {
  const tests = job.excludes.map((e) =>
    e.rooted
      ? `-path ${q(`volumes/${e.pattern}`)}`
      : e.pattern.includes("/")
        ? `-path ${q(`*/${e.pattern}`)}`
        : `-name ${q(e.pattern)}`,
  );
  return tests.length ? `\\( ${tests.join(" -o ")} \\) -prune -o ` : "";
}

/**
 * Before the backup: `$BACKUP_ROOT/.psf-facts` with `info` (service, run, start time) and
 * `files.sha256` (sha256sum of every file backed up, excludes left out); the database dump adds
 * `rows.tsv` (PSF_DB_ROWS) when its provider counts rows. The tool archives the directory with
 * the run; it is removed on exit.
 */
export function recordFacts(job: BackupJob): string[] {
  return [
    `FACTS="$BACKUP_ROOT"/${q(FACTS_DIR)}`,
    'psf_cleanup() { rm -rf "$FACTS"; }',
    'rm -rf "$FACTS"; mkdir -p "$FACTS"',
    'printf \'service=%s\\nrun=%s\\nstarted=%s\\n\' "$SERVICE" "$RUN" "$(date +%s)" >"$FACTS/info"',
    job.targets.length
      ? `(cd "$BACKUP_ROOT" && find "\${TARGETS[@]}" ${pruneArgs(job)}-type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum --) >"$FACTS/files.sha256"`
      : ': >"$FACTS/files.sha256"',
    ...(job.database?.countsRows ? ['export PSF_DB_ROWS="$FACTS/rows.tsv"'] : []),
  ];
}

/** The database provider's scratch server as `psf_scratch_start`/`load`/`rows`/`stop`. */
export function scratchFunctions(drill: DumpDrill): string[] {
  return [
    `for p in ${drill.programs.map(q).join(" ")}; do`,
    '  command -v "$p" >/dev/null || fail "$p is not in this image; the drill\'s scratch database needs it"',
    "done",
    "psf_scratch_start() {",
    drill.start,
    "}",
    "psf_scratch_load() {",
    drill.load,
    "}",
    "psf_scratch_rows() {",
    drill.rows,
    "}",
    "psf_scratch_stop() {",
    drill.stop,
    "}",
  ];
}

/** Header lines of a drill: its scratch space (removed on exit, the scratch server stopped first). */
export const DRILL_SETUP = [
  // The scratch server's directory apart: it runs as another user, who must not read the rest.
  "TMPD=$(mktemp -d); DBSCRATCH=$(mktemp -d); SCRATCH_UP=0; PROBLEMS=(); NOTES=()",
  'psf_cleanup() { if [ "$SCRATCH_UP" = 1 ]; then psf_scratch_stop || true; fi; rm -rf "$DBSCRATCH"; }',
  'mkdir -p "$TMPD/files"',
  // Runs the tool's restore command; its failure (a damaged repository) fails the drill.
  "drill_step() {",
  "  local what=$1; shift",
  '  if ! "$@" 2>"$TMPD/err"; then cat "$TMPD/err" >&2; fail "$what failed: $(grep -v "^$" "$TMPD/err" | tail -n 1)"; fi',
  '  cat "$TMPD/err" >&2',
  "}",
];

/**
 * After the tool restored the run into `$TMPD/files` (and the dump into `$TMPD/db.sql`):
 * every file checked against `files.sha256`, the dump loaded into a scratch server and its row
 * counts compared to `rows.tsv`. Prints PASSED or FAILED with each difference; exit 1 on any.
 */
export function drillChecks(job: BackupJob, drill: DumpDrill | undefined): string[] {
  const facts = `"$TMPD/files"/${q(FACTS_DIR)}`;
  const files = [
    `if [ ! -f ${facts}/files.sha256 ]; then`,
    '  NOTES+=("$RUN has no recorded facts (made before PSF recorded them): restored, not compared")',
    "else",
    `  started=$(sed -n 's/^started=//p' ${facts}/info)`,
    `  nfiles=$(grep -c '' ${facts}/files.sha256 || true)`,
    `  (cd "$TMPD/files" && sha256sum --check --quiet ${facts}/files.sha256) >"$TMPD/sums" 2>/dev/null || true`,
    "  changed=0",
    "  while IFS= read -r line; do",
    "    f=${line%: FAILED*}; f=${f#\\\\}",
    // Content that differs in a file modified after the facts were taken changed while it was backed up.
    '    if [[ $line == *": FAILED" ]] && [ -n "$started" ] && [ "$(stat -c %Y "$TMPD/files/$f" 2>/dev/null || echo 0)" -ge "$started" ]; then changed=$((changed + 1)); NOTES+=("$f changed while it was backed up");',
    '    elif [[ $line == *"FAILED open or read" ]]; then PROBLEMS+=("$f is missing from the restored run");',
    '    elif [[ $line == *": FAILED" ]]; then PROBLEMS+=("$f differs from its checksum at backup time"); fi',
    '  done <"$TMPD/sums"',
    '  SUMMARY="$nfiles files checked"',
    "fi",
  ];
  const db = !job.database
    ? []
    : !drill
      ? [
          'NOTES+=("the database dump was restored, not loaded: its provider offers no scratch server")',
        ]
      : [
          'log "loading the dump into a scratch database server"',
          'export PSF_SCRATCH="$DBSCRATCH"',
          'psf_scratch_start || fail "the scratch database server did not start"',
          "SCRATCH_UP=1",
          `if ! psf_scratch_load <"$TMPD/${DB_FILE}" 2>"$TMPD/err"; then cat "$TMPD/err" >&2; PROBLEMS+=("the dump did not load: $(grep -v '^$' "$TMPD/err" | tail -n 1)")`,
          "else",
          '  psf_scratch_rows | LC_ALL=C sort >"$TMPD/rows.got" || fail "counting the restored rows failed"',
          `  if [ ! -f ${facts}/rows.tsv ]; then NOTES+=("no row counts were recorded with $RUN: loaded, not compared")`,
          "  else",
          `    LC_ALL=C sort ${facts}/rows.tsv >"$TMPD/rows.want"`,
          "    while IFS=$'\\t' read -r table want got; do",
          '      if [ "$want" = "-" ]; then PROBLEMS+=("table $table is in the restored dump but was not at backup time")',
          '      elif [ "$got" = "-" ]; then PROBLEMS+=("table $table ($want rows at backup time) is missing from the restored dump")',
          '      elif [ "$want" != "$got" ]; then PROBLEMS+=("table $table: $want rows at backup time, $got restored"); fi',
          `    done < <(LC_ALL=C join -t $'\\t' -a 1 -a 2 -e - -o 0,1.2,2.2 "$TMPD/rows.want" "$TMPD/rows.got")`,
          '    SUMMARY="${SUMMARY:+$SUMMARY, }$(grep -c \'\' "$TMPD/rows.want" || true) tables\' row counts checked"',
          "  fi",
          "fi",
        ];
  return [
    ...files,
    ...db,
    'for n in "${NOTES[@]}"; do log "note: $n"; done',
    'if [ "${#PROBLEMS[@]}" -gt 0 ]; then',
    '  for p in "${PROBLEMS[@]}"; do log "drill: $p"; done',
    '  REASON="drill of $RUN failed: ${PROBLEMS[0]}$([ "${#PROBLEMS[@]}" -eq 1 ] || echo " (and $((${#PROBLEMS[@]} - 1)) more)")"',
    '  log "DRILL FAILED: $REASON"',
    "  exit 1",
    "fi",
    'SUMMARY="${SUMMARY:-restored}"',
    'log "DRILL PASSED: $RUN ($SUMMARY)"',
  ];
}
