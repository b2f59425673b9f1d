import { DatabaseDump } from "./contract";
import { DUMP_ENV } from "./login-env";

/**
 * How a backup job streams a PostgreSQL database out and back in, over the network as the
 * database's owner. The restore loads the dump in one transaction that first drops everything
 * the owner has, so the database ends exactly as dumped. `COMMENT ON EXTENSION` lines (outside
 * COPY data) are skipped: extensions belong to the superuser, and the owner may not comment on them.
 */
export const POSTGRES_DUMP: DatabaseDump = {
  dump: 'PGPASSWORD="$PSF_DB_PASSWORD" pg_dump -w --no-owner --no-privileges -h "$PSF_DB_HOST" -p "$PSF_DB_PORT" -U "$PSF_DB_USER" -d "$PSF_DB_NAME"',
  restore: [
    `awk 'copy { print; if ($0 == "\\\\.") copy = 0; next } /^COPY .* FROM stdin;$/ { copy = 1; print; next } /^COMMENT ON EXTENSION / { next } { print }' |`,
    '  PGPASSWORD="$PSF_DB_PASSWORD" psql -X -q -w -v ON_ERROR_STOP=1 --single-transaction -h "$PSF_DB_HOST" -p "$PSF_DB_PORT" -U "$PSF_DB_USER" -d "$PSF_DB_NAME" \\',
    "    -c 'DROP OWNED BY CURRENT_USER' -f - >/dev/null",
  ].join("\n"),
  env: [...DUMP_ENV],
  programs: ["pg_dump", "psql", "awk"],
};
