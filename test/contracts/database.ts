import { strict as assert } from "assert";
import { DatabaseRequest } from "../../providers/database/contract";
import { requireProgram } from "../support/real";

/**
 * The database contract, as every database provider must honour it with its real server:
 * each request gets a database its own role owns and logs in to with the result's password,
 * other roles are kept out, requested extensions exist, initSql runs once, provisioning again
 * changes nothing, a removed request keeps its data, and the dump and restore commands
 * round-trip a database, also into a freshly provisioned server. A provider's test calls
 * `databaseContractSuite` with an adapter that runs the provider's own SQL and commands.
 */

/** What a service gets: the result fields it connects with. */
export interface DatabaseCredentials {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
}

export interface RunningDatabase {
  /**
   * Provisions the requests as the provider does on a deploy, with passwords kept per user
   * across calls (as Pulumi state keeps them); returns each request's credentials by name.
   */
  provision(requests: DatabaseRequest[]): Record<string, DatabaseCredentials>;
  /** Runs SQL as the credentials' user in their database with the engine's client; rows as text. Throws when refused. */
  query(creds: DatabaseCredentials, sql: string): string;
  /** Extensions present in a database, as the engine lists them (its built-ins left out). */
  extensions(database: string): string[];
  /** Everything provisioning may write: roles, passwords, databases, owners, grants, extensions (and row versions). */
  catalog(): string;
  /** The provider's dump command, run against this server: the dump's bytes. */
  dump(creds: DatabaseCredentials): Buffer;
  /** The provider's restore command, fed a dump on stdin. */
  restore(creds: DatabaseCredentials, dump: Buffer): void;
  stop(): void;
}

export interface DatabaseAdapter {
  /** Real programs the adapter runs (the suite is skipped with a reason where one is missing). */
  programs: string[];
  /** The engine the provider serves: the requests ask for it. */
  engine: DatabaseRequest["engine"];
  /** The engine's SQL for the session's user name alone (PostgreSQL `current_user`, MariaDB `user@host`). */
  currentUserSql: string;
  /** Extensions to request: some the provider offers (empty for an engine without any: MariaDB). */
  extensions: string[];
  /** Starts an empty server. */
  start(): RunningDatabase;
}

export function databaseContractSuite(providerName: string, adapter: DatabaseAdapter): void {
  const request = (name: string, extra: Partial<DatabaseRequest> = {}): DatabaseRequest => ({
    engine: adapter.engine,
    name,
    user: name,
    extensions: [],
    ...extra,
  });
  describe(`database contract with a real server: ${providerName}`, function () {
    let db: RunningDatabase;
    let fresh: RunningDatabase | undefined;
    let creds: Record<string, DatabaseCredentials>;
    const notes = request("notes", {
      extensions: adapter.extensions,
      initSql:
        "CREATE TABLE seeded (id int PRIMARY KEY, note varchar(40));\nINSERT INTO seeded VALUES (1, 'from initSql');\n-- ends in a comment",
    });
    const wiki = request("wiki", { user: "wiki_app" });
    const rows = (c: DatabaseCredentials) =>
      db.query(c, "SELECT id FROM seeded ORDER BY id").split("\n").join(",");

    before(function () {
      for (const p of adapter.programs) requireProgram(this, p);
      db = adapter.start();
      creds = db.provision([notes, wiki]);
    });
    after(() => {
      db?.stop();
      fresh?.stop();
    });

    it("gives each request a database that its role logs in to with the result's password and owns", () => {
      assert.deepEqual(Object.keys(creds).sort(), ["notes", "wiki"]);
      assert.equal(creds.wiki.user, "wiki_app");
      for (const c of Object.values(creds)) {
        assert.equal(db.query(c, adapter.currentUserSql), c.user);
        // Only an owner (or a granted role) may create and drop tables there.
        db.query(c, "CREATE TABLE probe (id int); DROP TABLE probe");
      }
    });

    it("refuses a wrong password", () => {
      assert.throws(() =>
        db.query({ ...creds.notes, password: `${creds.notes.password}x` }, "SELECT 1"),
      );
    });

    it("keeps one service's role out of another service's database: it cannot even connect", () => {
      assert.throws(() => db.query({ ...creds.wiki, database: "notes" }, "SELECT 1"));
    });

    // An engine without extensions has nothing to prove here; its provider refuses them (validation).
    (adapter.extensions.length ? it : it.skip)(
      "creates the requested extensions in the database that asked, and no others",
      () => {
        assert.deepEqual(
          db
            .extensions("notes")
            .filter((e) => adapter.extensions.includes(e))
            .sort(),
          [...adapter.extensions].sort(),
        );
        assert.deepEqual(db.extensions("wiki"), []);
      },
    );

    it("runs initSql once, in the new database, as its owner", () => {
      assert.equal(rows(creds.notes), "1");
      db.query(creds.notes, "INSERT INTO seeded VALUES (2, 'by the app')");
    });

    it("changes nothing when provisioning runs again", () => {
      const before = db.catalog();
      const again = db.provision([notes, wiki]);
      assert.equal(db.catalog(), before);
      assert.deepEqual(again, creds);
      assert.equal(rows(creds.notes), "1,2", "initSql did not run again");
    });

    it("keeps a database and its data when its request is removed", () => {
      db.query(
        creds.wiki,
        "CREATE TABLE pages (title varchar(40)); INSERT INTO pages VALUES ('home')",
      );
      db.provision([notes]);
      assert.equal(db.query(creds.wiki, "SELECT title FROM pages"), "home");
    });

    it("restores a dump of one database: its rows come back, later rows and tables go, others stay", () => {
      const dump = db.dump(creds.notes);
      assert.doesNotMatch(dump.toString("utf8"), /pages/, "the dump holds only its own database");
      db.query(
        creds.notes,
        "DELETE FROM seeded WHERE id = 1; INSERT INTO seeded VALUES (3, 'after the dump'); CREATE TABLE later (id int)",
      );
      db.restore(creds.notes, dump);
      assert.equal(rows(creds.notes), "1,2");
      assert.throws(
        () => db.query(creds.notes, "SELECT count(*) FROM later"),
        "a table made after the dump is gone",
      );
      assert.equal(db.query(creds.wiki, "SELECT title FROM pages"), "home");
      // The restored tables are the owner's again: it may change them.
      db.query(
        creds.notes,
        "ALTER TABLE seeded ADD COLUMN tag text; ALTER TABLE seeded DROP COLUMN tag",
      );
    });

    it("restores that dump into a freshly provisioned server", () => {
      const dump = db.dump(creds.notes);
      fresh = adapter.start();
      const c = fresh.provision([notes]).notes;
      fresh.restore(c, dump);
      assert.equal(
        fresh.query(c, "SELECT id FROM seeded ORDER BY id").split("\n").join(","),
        "1,2",
      );
      fresh.query(c, "INSERT INTO seeded VALUES (9, 'new owner writes')");
    });
  });
}
