import { defineSpec, Infer } from "../../components/validate/infer";
import { ContractDefinition } from "../../components/contract";

export const DATABASE_ENGINES = ["postgres", "mariadb"] as const;

export interface DatabaseResult {
  host: string;
  port: number;
  database: string;
  user: string;
  /** Secret. */
  password: string;
  /** Secret. */
  url: string;
  /** Streams a dump of this one database to stdout. */
  dumpCommand: string;
  /** Reads a dump from stdin into this one database. */
  restoreCommand: string;
  /** How a backup job streams this database out and back in (not for templates). */
  dump: DatabaseDump;
  /** Secret: the values of `dump.env` (host, login), for the backup job's env file. */
  dumpEnv: Record<string, string>;
}

/**
 * A database's backup, as its provider defines it (after selfhostblocks' `databasebackup`
 * contract): shell commands a backup job runs in its own container, which must have
 * `programs`. Backup providers run them verbatim and know no engine.
 */
export interface DatabaseDump {
  /** Writes a dump of the database to stdout; exits non-zero when the dump is incomplete. */
  dump: string;
  /** Reads such a dump from stdin into the database, replacing what is there, all or nothing. */
  restore: string;
  /** Variables both read (from the result's `dumpEnv`): a job checks they are set before it starts. */
  env: string[];
  /** Programs both run: the backup job's image must have them. */
  programs: string[];
  /**
   * Whether `dump`, when `PSF_DB_ROWS` names a file, writes there the row count of every table
   * (`schema.table<TAB>count` lines) taken in the same snapshot as the dump: the facts a drill
   * checks a restored dump against.
   */
  countsRows?: boolean;
  /** How a restore drill loads a dump into a throwaway server; absent: dumps are not drilled. */
  drill?: DumpDrill;
}

/**
 * A throwaway database server for restore drills, as its database provider runs one. Each is
 * a bash body run in the backup job's container with `PSF_SCRATCH` naming an empty directory
 * the server may use; none touches the service's own database.
 */
export interface DumpDrill {
  /** Starts the server in `$PSF_SCRATCH` with an empty database to load into. */
  start: string;
  /** Loads a dump (stdin) into that database; fails on the first error. */
  load: string;
  /** Prints the row count of every table, as `dump` records them (`schema.table<TAB>count`). */
  rows: string;
  /** Stops the server (its files go with `$PSF_SCRATCH`). */
  stop: string;
  /** Programs these run (a server, its client): the image must have them. */
  programs: string[];
}

export const databaseRequestSpec = defineSpec({
  type: "object",
  fields: {
    engine: {
      type: "string",
      enum: DATABASE_ENGINES,
      default: "postgres",
      doc: "the engine the service speaks; the configured provider must serve it",
    },
    name: { type: "string", format: "sql", doc: "database name; default: the service name" },
    user: { type: "string", format: "sql", doc: "owner role; default: the database name" },
    extensions: {
      type: "list",
      items: { type: "string", minLength: 1, maxLength: 63 },
      unique: true,
      default: [],
      doc: "extensions created in the database (PostgreSQL)",
    },
    initSql: {
      type: "string",
      minLength: 1,
      maxLength: 1_000_000,
      doc: "SQL run once after the database is created, as its owner",
    },
  },
});

/** A database and an owner role for one service; `defaults()` fills `name` and `user`. */
export type DatabaseRequest = Infer<typeof databaseRequestSpec> & { name: string; user: string };

export const databaseContract: ContractDefinition<DatabaseRequest, DatabaseResult> = {
  name: "database",
  description: "a database and an owner role with a generated password",
  request: databaseRequestSpec,
  resultFields: [
    "host",
    "port",
    "database",
    "user",
    "password",
    "url",
    "dumpCommand",
    "restoreCommand",
  ],
  secretFields: ["password", "url"],
  defaults: (req, ctx) => {
    const name = req.name ?? ctx.requester.replace(/[^a-z0-9_]/g, "_");
    return { ...req, name, user: req.user ?? name };
  },
};
