import { shellQuote } from "../../components/shell";
import { DatabaseDump, DumpDrill } from "./contract";
import { DUMP_ENV } from "./login-env";
import { asUser } from "./mariadb-server";

/**
 * A dump of one database to stdout as its own user, read from the PSF_DB_* env: consistent
 * (one snapshot: `--single-transaction`), with routines, triggers and events, and without
 * `CREATE DATABASE`/`USE`, so it loads into whichever database the restore names.
 */
export const DUMP_SCRIPT = asUser("mariadb-dump", [
  "--single-transaction",
  "--routines",
  "--triggers",
  "--events",
  "--no-tablespaces",
  "--skip-dump-date",
]);

/** The base tables of the current database, each as its name and its quoted identifier. */
const LIST_TABLES =
  "SELECT TABLE_NAME, CONCAT('`', REPLACE(TABLE_NAME, '`', '``'), '`') FROM information_schema.TABLES " +
  "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME;";

/**
 * Copies the dump through; at its first table (mariadb-dump has begun its snapshot before it
 * writes one) or at its end, sends `UNLOCK TABLES` to the counting session (fd 3).
 */
const RELEASE_AT_FIRST_TABLE = [
  'perl -e \'open(my $s, ">&=", 3) or die "the counting session: $!"; my $held = 1;',
  'sub release { if ($held) { print $s "UNLOCK TABLES;\\n"; close $s; $held = 0 } }',
  "while (<STDIN>) { release() if $held && /^(-- Table structure for table |CREATE TABLE |DROP TABLE )/; print }",
  'release();\' 3>&"$psf_in"',
].join(" ");

/**
 * The dump; with `PSF_DB_ROWS` set, first the row counts of the snapshot the dump reads. MariaDB
 * cannot share a snapshot between sessions (PostgreSQL's `--snapshot`), so a second session
 * holds a read lock on every table while it counts their rows and until mariadb-dump has begun
 * its own snapshot: no write lands between the two. Writes wait that long, not for the dump.
 */
const DUMP = [
  'if [ -z "${PSF_DB_ROWS:-}" ]; then',
  `  ${DUMP_SCRIPT}`,
  "else",
  // The session's pipes are fifos, not a coproc's: bash keeps a coproc's pipes from the
  // programs it starts, and the filter below must write to this one.
  '  psf_fifos=$(mktemp -d) && mkfifo "$psf_fifos/in" "$psf_fifos/out" || return 1',
  `  ${asUser("mariadb", ["-N", "-B", "-r", "--unbuffered"])} <"$psf_fifos/in" >"$psf_fifos/out" & psf_session=$!`,
  '  exec {psf_in}>"$psf_fifos/in" {psf_out}<"$psf_fifos/out"; rm -rf "$psf_fifos"',
  `  printf '%s\\n' ${shellQuote(LIST_TABLES)} "SELECT 'PSF-LISTED';" >&"$psf_in"`,
  "  psf_names=(); psf_idents=(); psf_line=",
  '  while IFS=$\'\\t\' read -r psf_line psf_ident <&"$psf_out" && [ "$psf_line" != PSF-LISTED ]; do psf_names+=("$psf_line"); psf_idents+=("$psf_ident"); done',
  '  [ "$psf_line" = PSF-LISTED ] || { echo "listing the tables of $PSF_DB_NAME failed" >&2; exec {psf_in}>&- {psf_out}<&-; return 1; }',
  '  if [ "${#psf_idents[@]}" -gt 0 ]; then',
  "    psf_lock=$(printf '%s READ, ' \"${psf_idents[@]}\")",
  '    printf \'LOCK TABLES %s;\\n\' "${psf_lock%, }" >&"$psf_in"',
  '    printf \'SELECT COUNT(*) FROM %s;\\n\' "${psf_idents[@]}" >&"$psf_in"',
  "  fi",
  `  printf '%s\\n' "SELECT 'PSF-COUNTED';" >&"$psf_in"`,
  '  : >"$PSF_DB_ROWS"; psf_i=0',
  '  while IFS= read -r psf_line <&"$psf_out" && [ "$psf_line" != PSF-COUNTED ]; do',
  '    printf \'%s\\t%s\\n\' "${psf_names[$psf_i]}" "$psf_line" >>"$PSF_DB_ROWS"; psf_i=$((psf_i + 1))',
  "  done",
  '  [ "$psf_line" = PSF-COUNTED ] && [ "$psf_i" -eq "${#psf_names[@]}" ] || { echo "counting the rows of $PSF_DB_NAME failed" >&2; exec {psf_in}>&- {psf_out}<&-; return 1; }',
  `  psf_rc=0; { ${DUMP_SCRIPT} | ${RELEASE_AT_FIRST_TABLE}; } || psf_rc=$?`,
  '  exec {psf_in}>&- {psf_out}<&-; wait "$psf_session" || true',
  '  return "$psf_rc"',
  "fi",
].join("\n");

/** `name<TAB>count` for every base table of the current database, by the `mariadb` client `$@`. */
const COUNT_ROWS = [
  `"$@" -N -B -r -e ${shellQuote(LIST_TABLES)} |`,
  "  while IFS=$'\\t' read -r psf_name psf_ident; do",
  '    printf \'%s\\t%s\\n\' "$psf_name" "$("$@" -N -B -r -e "SELECT COUNT(*) FROM $psf_ident")" || exit 1',
  "  done",
].join("\n");

/**
 * A drill's scratch server: a new data directory in `$PSF_SCRATCH/my` (run as the `mysql` user
 * when root), on its socket only and without grant tables (nothing but the drill can reach it),
 * with a database `psf_drill` the dump is loaded into.
 */
const SCRATCH: DumpDrill = {
  start: [
    'mkdir -p "$PSF_SCRATCH/my" || return 1; psf_as=()',
    'if [ "$(id -u)" = 0 ]; then { chmod 711 "$PSF_SCRATCH" && chown mysql "$PSF_SCRATCH/my"; } || return 1; psf_as=(runuser -u mysql --); fi',
    '"${psf_as[@]}" mariadb-install-db --no-defaults --datadir="$PSF_SCRATCH/my/data" --skip-test-db >"$PSF_SCRATCH/my/log" 2>&1 || { cat "$PSF_SCRATCH/my/log" >&2; return 1; }',
    '"${psf_as[@]}" mariadbd --no-defaults --datadir="$PSF_SCRATCH/my/data" --socket="$PSF_SCRATCH/my/sock" --pid-file="$PSF_SCRATCH/my/pid" --skip-networking --skip-grant-tables --innodb-buffer-pool-size=32M >>"$PSF_SCRATCH/my/log" 2>&1 &',
    "for _ in $(seq 150); do",
    '  mariadb-admin --no-defaults -S "$PSF_SCRATCH/my/sock" ping >/dev/null 2>&1 && break',
    "  kill -0 $! 2>/dev/null || break; sleep 0.2",
    "done",
    'mariadb --no-defaults -S "$PSF_SCRATCH/my/sock" -e "CREATE DATABASE psf_drill" || { cat "$PSF_SCRATCH/my/log" >&2; return 1; }',
  ].join("\n"),
  load: 'mariadb --no-defaults -S "$PSF_SCRATCH/my/sock" psf_drill',
  rows: `psf_count() {\n${COUNT_ROWS}\n}\npsf_count mariadb --no-defaults -S "$PSF_SCRATCH/my/sock" -D psf_drill`,
  stop: 'mariadb-admin --no-defaults -S "$PSF_SCRATCH/my/sock" shutdown >/dev/null',
  programs: ["mariadb", "mariadb-admin", "mariadbd", "mariadb-install-db", "runuser"],
};

/** Statements dropping everything in the current database, generated by the server. */
const DROP_ALL = [
  "SELECT s FROM (",
  "SELECT 1 AS o, CONCAT('DROP VIEW IF EXISTS `', REPLACE(TABLE_NAME, '`', '``'), '`;') AS s FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'VIEW'",
  "UNION ALL SELECT 2, CONCAT(IF(TABLE_TYPE = 'SEQUENCE', 'DROP SEQUENCE IF EXISTS `', 'DROP TABLE IF EXISTS `'), REPLACE(TABLE_NAME, '`', '``'), '`;') FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE <> 'VIEW'",
  "UNION ALL SELECT 3, CONCAT('DROP ', ROUTINE_TYPE, ' IF EXISTS `', REPLACE(ROUTINE_NAME, '`', '``'), '`;') FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() AND ROUTINE_TYPE IN ('PROCEDURE', 'FUNCTION')",
  "UNION ALL SELECT 4, CONCAT('DROP EVENT IF EXISTS `', REPLACE(EVENT_NAME, '`', '``'), '`;') FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()",
  ") x ORDER BY o",
].join(" ");

/**
 * Reads such a dump from stdin into the database as its user, connection from the PSF_DB_*
 * env: first drops everything in that database (tables made after the dump go too), then
 * loads the dump, so the database ends as dumped. Not all or nothing: MariaDB commits each
 * DDL statement; a failed restore is repeated.
 */
export const RESTORE_SCRIPT = [
  `drops="$(${asUser("mariadb", ["-N", "-r", "-B", "-e", DROP_ALL])} </dev/null)" || exit 1`,
  `{ printf '%s\\n' 'SET FOREIGN_KEY_CHECKS = 0;' "$drops"; cat; } | ${asUser("mariadb", [])}`,
].join("\n");

/** How a backup job streams a MariaDB database out and back in, over the network as its user. */
export const MARIADB_DUMP: DatabaseDump = {
  dump: DUMP,
  restore: RESTORE_SCRIPT,
  env: [...DUMP_ENV],
  programs: ["mariadb-dump", "mariadb", "perl"],
  countsRows: true,
  drill: SCRATCH,
};
