import { createHash } from "crypto";
import { DatabaseRequest } from "./contract";

/** Database comments that mark what PSF created (and may drop) and whether initSql is due. */
export const MANAGED = "managed by psf";
export const INIT_PENDING = "managed by psf; initSql pending";

/** MariaDB's own databases and accounts: never requested. */
export const RESERVED_DATABASES = ["mysql", "information_schema", "performance_schema", "sys"];
export const RESERVED_USERS = ["root", "mysql", "mariadb.sys", "healthcheck", "public"];

/** Quotes an identifier with backticks. */
export function ident(name: string): string {
  return "`" + name.replace(/`/g, "``") + "`";
}

/** Quotes a string literal (backslashes too: the default sql_mode reads them as escapes). */
export function literal(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

/**
 * A database name as a GRANT pattern: `_` and `%` are wildcards there, so `wiki_db` unescaped
 * would also grant `wiki1db`; escaped it means that one database.
 */
export function grantPattern(database: string): string {
  return database.replace(/[\\_%]/g, (c) => `\\${c}`);
}

/**
 * The `mysql_native_password` hash MariaDB stores (`*` + SHA1(SHA1(password)), upper hex):
 * what `PASSWORD('...')` returns. Setting it instead of the password keeps the password out
 * of the server's logs, and the same password gives the same hash, so a re-run changes nothing.
 */
export function nativePasswordHash(password: string): string {
  const sha1 = (b: Buffer | string) => createHash("sha1").update(b).digest();
  return `*${sha1(sha1(password)).toString("hex").toUpperCase()}`;
}

export interface ProvisionOptions {
  /** Drop databases PSF created that are no longer requested, and their users. */
  dropRemoved?: boolean;
}

const account = (user: string) => `${literal(user)}@'%'`;
const list = (xs: string[]) => (xs.length ? xs.map(literal).join(", ") : "NULL");

/**
 * The idempotent SQL the server's superuser runs (with the `mariadb` client, which reads the
 * DELIMITER lines): users with their password hashes, databases granted to them alone, marked
 * as PSF's with a comment (`initSql pending` while their initSql has not run: the provision
 * script runs it as the user, then clears the mark). Every statement is guarded, so a second
 * run writes nothing; a database that existed before is adopted, never given initSql. A
 * database no longer requested is left alone unless `dropRemoved`.
 */
export function provisioningSql(
  requests: DatabaseRequest[],
  passwords: Record<string, string>,
  opts: ProvisionOptions = {},
): string {
  const body: string[] = [];
  for (const user of [...new Set(requests.map((r) => r.user))]) {
    const [u, hash] = [literal(user), literal(nativePasswordHash(passwords[user]))];
    body.push(
      `IF NOT EXISTS (SELECT 1 FROM mysql.global_priv WHERE User = ${u} AND Host = '%') THEN`,
      `  CREATE USER ${account(user)} IDENTIFIED BY PASSWORD ${hash};`,
      // Only when it differs: a password changed by hand is healed, an unchanged one not rewritten.
      `ELSEIF NOT EXISTS (SELECT 1 FROM mysql.user WHERE User = ${u} AND Host = '%' AND plugin IN ('mysql_native_password', '') AND authentication_string = ${hash}) THEN`,
      `  ALTER USER ${account(user)} IDENTIFIED VIA mysql_native_password USING ${hash};`,
      "END IF;",
    );
  }
  for (const r of requests) {
    const [d, pattern] = [literal(r.name), literal(grantPattern(r.name))];
    body.push(
      `IF NOT EXISTS (SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ${d}) THEN`,
      `  CREATE DATABASE ${ident(r.name)} CHARACTER SET utf8mb4 COMMENT ${literal(r.initSql ? INIT_PENDING : MANAGED)};`,
      "END IF;",
      // Everything on that one database (not GRANT OPTION); also adopts a database made before.
      `IF NOT EXISTS (SELECT 1 FROM mysql.db WHERE Host = '%' AND Db = ${pattern} AND User = ${literal(r.user)} AND Drop_priv = 'Y' AND Event_priv = 'Y' AND Trigger_priv = 'Y' AND Show_view_priv = 'Y' AND Create_routine_priv = 'Y') THEN`,
      `  GRANT ALL PRIVILEGES ON ${ident(grantPattern(r.name))}.* TO ${account(r.user)};`,
      "END IF;",
    );
  }
  if (opts.dropRemoved) body.push(...dropRemovedSql(requests));
  return ["DELIMITER ;;", "BEGIN NOT ATOMIC", ...body.map((l) => `  ${l}`), "END;;", ""].join("\n");
}

/**
 * Drops what PSF created and nobody requests any more: its databases (with their grants), then
 * the users that had grants on them, unless still requested or holding anything else.
 */
function dropRemovedSql(requests: DatabaseRequest[]): string[] {
  const q = (expr: string) => `CONCAT('\`', REPLACE(${expr}, '\`', '\`\`'), '\`')`;
  const dbs = list(requests.map((r) => r.name));
  const users = list([...new Set(requests.map((r) => r.user))]);
  return [
    "CREATE OR REPLACE TEMPORARY TABLE psf_gone (db varchar(64) PRIMARY KEY, pattern varchar(200));",
    `INSERT INTO psf_gone SELECT SCHEMA_NAME, REPLACE(SCHEMA_NAME, '_', '\\\\_') FROM information_schema.SCHEMATA WHERE SCHEMA_COMMENT IN (${literal(MANAGED)}, ${literal(INIT_PENDING)}) AND SCHEMA_NAME NOT IN (${dbs});`,
    "CREATE OR REPLACE TEMPORARY TABLE psf_grants (u varchar(128), h varchar(255), pattern varchar(200));",
    "INSERT INTO psf_grants SELECT d.User, d.Host, d.Db FROM mysql.db d WHERE d.Db IN (SELECT pattern FROM psf_gone);",
    "FOR g IN (SELECT u, h, pattern FROM psf_grants) DO",
    `  EXECUTE IMMEDIATE CONCAT('REVOKE ALL PRIVILEGES ON ', ${q("g.pattern")}, '.* FROM ', QUOTE(g.u), '@', QUOTE(g.h));`,
    "END FOR;",
    "FOR d IN (SELECT db FROM psf_gone ORDER BY db) DO",
    `  EXECUTE IMMEDIATE CONCAT('DROP DATABASE ', ${q("d.db")});`,
    "END FOR;",
    `FOR a IN (SELECT DISTINCT u, h FROM psf_grants WHERE h = '%' AND u NOT IN (${users}) ORDER BY u) DO`,
    "  IF NOT EXISTS (SELECT 1 FROM mysql.db WHERE User = a.u AND Host = a.h)",
    "    AND NOT EXISTS (SELECT 1 FROM mysql.tables_priv WHERE User = a.u AND Host = a.h)",
    "    AND NOT EXISTS (SELECT 1 FROM mysql.global_priv WHERE User = a.u AND Host = a.h AND JSON_VALUE(Priv, '$.access') <> 0) THEN",
    "    EXECUTE IMMEDIATE CONCAT('DROP USER ', QUOTE(a.u), '@', QUOTE(a.h));",
    "  END IF;",
    "END FOR;",
    "DROP TEMPORARY TABLE psf_gone, psf_grants;",
  ];
}
