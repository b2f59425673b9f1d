import { shellQuote } from "../../components/shell";
import { DatabaseDump, DumpDrill } from "./contract";
import { DUMP_ENV } from "./login-env";

const LOGIN = '-h "$PSF_DB_HOST" -p "$PSF_DB_PORT" -U "$PSF_DB_USER" -d "$PSF_DB_NAME"';
const PG_DUMP = `pg_dump -w --no-owner --no-privileges ${LOGIN}`;

/**
 * One `SELECT 'schema.table', count(*) FROM ...` per table the dump holds (extension members
 * are left out, as pg_dump leaves them out), run by psql's `\gexec`: the same query counts the
 * rows at backup time and in a drill's scratch server.
 */
const COUNT_QUERIES = [
  "SELECT format('SELECT %L, count(*) FROM %I.%I', n.nspname || '.' || c.relname, n.nspname, c.relname)",
  "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace",
  "WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'",
  "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')",
  "ORDER BY n.nspname, c.relname \\gexec",
].join(" ");

/**
 * The dump; with `PSF_DB_ROWS` set, first the row counts and then the dump in one snapshot: a
 * psql session opens a REPEATABLE READ transaction, exports its snapshot, counts every table,
 * and stays open while pg_dump reads the same snapshot (`--snapshot`).
 */
const DUMP = [
  'if [ -z "${PSF_DB_ROWS:-}" ]; then',
  `  PGPASSWORD="$PSF_DB_PASSWORD" ${PG_DUMP}`,
  "else",
  '  export PGPASSWORD="$PSF_DB_PASSWORD"',
  `  coproc PSF_PG { psql -X -q -A -t -F $'\\t' -w -v ON_ERROR_STOP=1 ${LOGIN}; }`,
  // Own copies of the session's pipes (bash forgets a coproc's when it ends), the originals closed
  // so that closing ours ends the session.
  '  exec {psf_in}>&"${PSF_PG[1]}" {psf_out}<&"${PSF_PG[0]}"',
  "  psf_a=${PSF_PG[1]}; psf_b=${PSF_PG[0]}; exec {psf_a}>&- {psf_b}<&-",
  "  printf '%s\\n' 'BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;' 'SELECT pg_export_snapshot();' >&\"$psf_in\"",
  '  IFS= read -r psf_snap <&"$psf_out" || { echo "psql could not open a snapshot of $PSF_DB_NAME" >&2; return 1; }',
  `  printf '%s\\n' ${shellQuote(COUNT_QUERIES)} '\\echo PSF-COUNTED' >&"$psf_in"`,
  '  : >"$PSF_DB_ROWS"; psf_line=',
  '  while IFS= read -r psf_line <&"$psf_out" && [ "$psf_line" != PSF-COUNTED ]; do printf \'%s\\n\' "$psf_line" >>"$PSF_DB_ROWS"; done',
  '  [ "$psf_line" = PSF-COUNTED ] || { echo "counting the rows of $PSF_DB_NAME failed" >&2; return 1; }',
  '  psf_rc=0; pg_dump -w --no-owner --no-privileges --snapshot="$psf_snap" ' +
    LOGIN +
    " || psf_rc=$?",
  '  printf \'COMMIT;\\n\' >&"$psf_in"; exec {psf_in}>&- {psf_out}<&-; wait "$PSF_PG_PID" || true',
  '  return "$psf_rc"',
  "fi",
].join("\n");

/**
 * A drill's scratch server: a new cluster in `$PSF_SCRATCH/pg` (the newest PostgreSQL in the
 * image, run as the `postgres` user when root), listening on its socket only, with a database
 * `psf_drill` the dump is loaded into as the superuser (the dump has no owners or grants).
 */
const SCRATCH: DumpDrill = {
  start: [
    "PSF_PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)",
    '[ -x "$PSF_PG_BIN/initdb" ] || { echo "no PostgreSQL server in this image (Debian: postgresql-15)" >&2; return 1; }',
    'mkdir -p "$PSF_SCRATCH/pg" || return 1; psf_as=()',
    'if [ "$(id -u)" = 0 ]; then { chmod 711 "$PSF_SCRATCH" && chown postgres "$PSF_SCRATCH/pg"; } || return 1; psf_as=(runuser -u postgres --); fi',
    '"${psf_as[@]}" "$PSF_PG_BIN/initdb" -D "$PSF_SCRATCH/pg/data" -U postgres --auth=trust -E UTF8 >/dev/null || return 1',
    `"\${psf_as[@]}" "$PSF_PG_BIN/pg_ctl" -D "$PSF_SCRATCH/pg/data" -w -l "$PSF_SCRATCH/pg/log" -o "-k $PSF_SCRATCH/pg -c listen_addresses=''" start >/dev/null || { cat "$PSF_SCRATCH/pg/log" >&2; return 1; }`,
    'psql -X -q -w -h "$PSF_SCRATCH/pg" -U postgres -d postgres -c "CREATE DATABASE psf_drill" >/dev/null',
  ].join("\n"),
  load: 'psql -X -q -w -v ON_ERROR_STOP=1 --single-transaction -h "$PSF_SCRATCH/pg" -U postgres -d psf_drill -f - >/dev/null',
  rows: `printf '%s\\n' ${shellQuote(COUNT_QUERIES)} | psql -X -q -A -t -F $'\\t' -w -v ON_ERROR_STOP=1 -h "$PSF_SCRATCH/pg" -U postgres -d psf_drill`,
  stop: '"${psf_as[@]}" "$PSF_PG_BIN/pg_ctl" -D "$PSF_SCRATCH/pg/data" -m immediate stop >/dev/null',
  programs: ["psql", "runuser"],
};

/**
 * How a backup job streams a PostgreSQL database out and back in, over the network as the
 * database's owner. The restore loads the dump in one transaction that first drops everything
 * the owner has, so the database ends exactly as dumped. `COMMENT ON EXTENSION` lines (outside
 * COPY data) are skipped: extensions belong to the superuser, and the owner may not comment on them.
 */
export const POSTGRES_DUMP: DatabaseDump = {
  dump: DUMP,
  restore: [
    `awk 'copy { print; if ($0 == "\\\\.") copy = 0; next } /^COPY .* FROM stdin;$/ { copy = 1; print; next } /^COMMENT ON EXTENSION / { next } { print }' |`,
    '  PGPASSWORD="$PSF_DB_PASSWORD" psql -X -q -w -v ON_ERROR_STOP=1 --single-transaction -h "$PSF_DB_HOST" -p "$PSF_DB_PORT" -U "$PSF_DB_USER" -d "$PSF_DB_NAME" \\',
    "    -c 'DROP OWNED BY CURRENT_USER' -f - >/dev/null",
  ].join("\n"),
  env: [...DUMP_ENV],
  programs: ["pg_dump", "psql", "awk"],
  countsRows: true,
  drill: SCRATCH,
};
