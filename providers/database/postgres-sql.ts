import { createHash, createHmac, pbkdf2, pbkdf2Sync } from "crypto";
import { promisify } from "util";
import { DatabaseRequest } from "./contract";

/**
 * Extensions every PostgreSQL 13–17 image ships (the contrib modules of the official and the
 * Debian images), the common ones first so a hint reads well. `vector` is not among them:
 * it needs an image with pgvector, and the settings' `extraExtensions` then lists it.
 */
export const CONTRIB_EXTENSIONS = [
  "pg_trgm",
  "pgcrypto",
  "uuid-ossp",
  "citext",
  "hstore",
  "pg_stat_statements",
  "btree_gin",
  "btree_gist",
  "unaccent",
  "fuzzystrmatch",
  "bloom",
  "cube",
  "dblink",
  "dict_int",
  "dict_xsyn",
  "earthdistance",
  "intarray",
  "isn",
  "lo",
  "ltree",
  "moddatetime",
  "pg_buffercache",
  "pg_prewarm",
  "pgrowlocks",
  "pgstattuple",
  "postgres_fdw",
  "seg",
  "tablefunc",
  "tcn",
  "tsm_system_rows",
  "tsm_system_time",
] as const;

/** Database comments that mark what PSF created (and may drop) and whether initSql is due. */
export const MANAGED = "managed by psf";
export const INIT_PENDING = "managed by psf; initSql pending";

/** Quotes an SQL identifier. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes an SQL string literal. */
export function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 7677). Setting it instead
 * of the password keeps the password out of server logs and pg_stat_statements. The salt is
 * derived from user and password, so the same password gives the same verifier and a re-run
 * finds nothing to change.
 */
export function scramVerifier(user: string, password: string, iterations = 4096): string {
  const salt = scramSalt(user, password);
  return scramFormat(salt, pbkdf2Sync(password, salt, iterations, 32, "sha256"), iterations);
}

const pbkdf2Async = promisify(pbkdf2);

/**
 * The verifiers of many roles at once, their key stretching on libuv's thread pool: planning
 * hundreds of databases then overlaps with the program instead of blocking it (bench/).
 */
export async function scramVerifiers(
  passwords: Record<string, string>,
  iterations = 4096,
): Promise<Record<string, string>> {
  const entries = await Promise.all(
    Object.entries(passwords).map(async ([user, password]) => {
      const salt = scramSalt(user, password);
      const salted = await pbkdf2Async(password, salt, iterations, 32, "sha256");
      return [user, scramFormat(salt, salted, iterations)] as const;
    }),
  );
  return Object.fromEntries(entries);
}

function scramSalt(user: string, password: string): Buffer {
  return createHmac("sha256", password).update(`psf-scram-salt:${user}`).digest().subarray(0, 16);
}

function scramFormat(salt: Buffer, salted: Buffer, iterations: number): string {
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}

export interface ProvisionOptions {
  /** Drop databases PSF created that are no longer requested, and their roles. */
  dropRemoved?: boolean;
  /** Precomputed SCRAM verifiers by user (`scramVerifiers`); computed here when absent. */
  verifiers?: Record<string, string>;
}

/** `\connect` resets session settings; NOTICEs like "extension exists, skipping" are noise. */
const connect = (db: string) => [`\\connect ${ident(db)}`, "SET client_min_messages = warning;"];

/**
 * An idempotent psql script run as the superuser: roles with their passwords, databases owned
 * by them (closed to other roles), extensions, then each `initSql` once. Every statement is
 * guarded, so a second run writes nothing. A database created here carries a comment saying
 * so; `initSql` runs only while that comment says it is pending, in the transaction that
 * clears it. A database no longer requested is left alone unless `dropRemoved`.
 */
export function provisioningSql(
  requests: DatabaseRequest[],
  passwords: Record<string, string>,
  opts: ProvisionOptions = {},
): string {
  const out = ["\\set ON_ERROR_STOP on", "SET client_min_messages = warning;"];
  const users = [...new Set(requests.map((r) => r.user))];
  for (const user of users) {
    const u = literal(user);
    const verifier = literal(opts.verifiers?.[user] ?? scramVerifier(user, passwords[user]));
    out.push(
      `SELECT format('CREATE ROLE %I LOGIN', ${u}), format('COMMENT ON ROLE %I IS %L', ${u}, ${literal(MANAGED)}) WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${u}) \\gexec`,
      // Only when it differs: a role changed by hand is healed, an unchanged one not rewritten.
      `SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', ${u}, ${verifier}) WHERE NOT EXISTS (SELECT 1 FROM pg_authid WHERE rolname = ${u} AND rolcanlogin AND rolpassword = ${verifier}) \\gexec`,
    );
  }
  for (const r of requests) {
    const [d, u] = [literal(r.name), literal(r.user)];
    out.push(
      `SELECT format('CREATE DATABASE %I OWNER %I', ${d}, ${u}), format('REVOKE ALL ON DATABASE %I FROM PUBLIC', ${d}), format('COMMENT ON DATABASE %I IS %L', ${d}, ${literal(r.initSql ? INIT_PENDING : MANAGED)}) WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = ${d}) \\gexec`,
      // Adopts a database that existed before; a no-op (no catalog write) when already owned.
      `ALTER DATABASE ${ident(r.name)} OWNER TO ${ident(r.user)};`,
    );
  }
  for (const r of requests.filter((r) => r.extensions.length)) {
    out.push(
      ...connect(r.name),
      ...r.extensions.map((e) => `CREATE EXTENSION IF NOT EXISTS ${ident(e)} CASCADE;`),
    );
  }
  // Last, so one failing script cannot keep the other services' databases from being made.
  for (const r of requests.filter((r) => r.initSql)) {
    out.push(
      ...connect(r.name),
      `SELECT coalesce(shobj_description(oid, 'pg_database') = ${literal(INIT_PENDING)}, false) AS psf_init_due FROM pg_database WHERE datname = current_database() \\gset`,
      "\\if :psf_init_due",
      "BEGIN;",
      `SET LOCAL ROLE ${ident(r.user)};`,
      r.initSql!,
      // On its own line: the script may end in a comment or without a semicolon.
      ";",
      `COMMENT ON DATABASE ${ident(r.name)} IS ${literal(MANAGED)};`,
      "COMMIT;",
      "\\endif",
    );
  }
  if (opts.dropRemoved) out.push(...connect("postgres"), ...dropRemovedSql(requests));
  return out.join("\n") + "\n";
}

/** Drops what PSF created and nobody requests any more; a role that still owns things stays. */
function dropRemovedSql(requests: DatabaseRequest[]): string[] {
  const list = (xs: string[]) => `ARRAY[${xs.map(literal).join(", ")}]::text[]`;
  const dbs = list(requests.map((r) => r.name));
  const users = list([...new Set(requests.map((r) => r.user))]);
  return [
    `SELECT format('DROP DATABASE %I WITH (FORCE)', datname) FROM pg_database WHERE shobj_description(oid, 'pg_database') IN (${literal(MANAGED)}, ${literal(INIT_PENDING)}) AND datname::text <> ALL (${dbs}) ORDER BY datname \\gexec`,
    "DO $psf$ DECLARE r name; BEGIN",
    `  FOR r IN SELECT rolname FROM pg_roles WHERE shobj_description(oid, 'pg_authid') = ${literal(MANAGED)} AND rolname::text <> ALL (${users}) ORDER BY 1 LOOP`,
    "    BEGIN EXECUTE format('DROP ROLE %I', r);",
    "    EXCEPTION WHEN dependent_objects_still_exist THEN RAISE WARNING 'psf: role % still owns objects or holds privileges; kept', r;",
    "    END;",
    "  END LOOP;",
    "END $psf$;",
  ];
}

/** Where the dump and restore commands connect: inside the server, as the superuser. */
export interface Conn {
  host: string;
  port: number;
}

/** `-h host -p port -U postgres`: the superuser's connection, shared by dump, restore and provisioning. */
export function superuserArgs(c: Conn): string[] {
  return ["-h", c.host, "-p", String(c.port), "-U", "postgres"];
}

/** `psql` as scripts run it: no ~/.psqlrc, quiet, never prompting, stopping at the first error. */
export const PSQL = ["psql", "-X", "-q", "-w", "-v", "ON_ERROR_STOP=1"];

/**
 * `pg_dump` of one database to stdout: plain SQL with owners and grants, which drops each
 * object it recreates (`--clean --if-exists`), so it loads into a live or a fresh database.
 */
export function dumpArgs(database: string, c: Conn): string[] {
  return ["pg_dump", "-w", ...superuserArgs(c), "--clean", "--if-exists", "-d", database];
}

/**
 * `psql` loading such a dump from stdin in one transaction: first everything the owner has in
 * that database is dropped, so tables made after the dump go too; any error rolls all back.
 */
export function restoreArgs(database: string, owner: string, c: Conn): string[] {
  return [
    ...PSQL,
    "--single-transaction",
    ...superuserArgs(c),
    "-d",
    database,
    "-c",
    `DROP OWNED BY ${ident(owner)}`,
    "-f",
    "-",
  ];
}
