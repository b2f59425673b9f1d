import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { mask } from "../../cli/mock-engine";
import { readStackFile } from "../../components/stack-file";
import { validateConfig } from "../../components/program";
import { registry } from "../../providers";
import { DatabaseRequest } from "../../providers/database/contract";
import { MariadbSettings, mariadb } from "../../providers/database/mariadb";
import { DUMP_SCRIPT, RESTORE_SCRIPT } from "../../providers/database/mariadb-dump";
import {
  ServerPaths,
  clientEnvFile,
  provisionScript,
  mariadbScripts,
  withClientEnv,
} from "../../providers/database/mariadb-server";
import { nativePasswordHash, provisioningSql } from "../../providers/database/mariadb-sql";
import {
  DatabaseAdapter,
  DatabaseCredentials,
  RunningDatabase,
  databaseContractSuite,
} from "../contracts/database";
import { declaredDatabaseServer } from "../contracts/database-server";
import { TestMariadb, startMariadb } from "../support/mariadb";
import { assertNoneInPlainInputs, declaredContainer, planStack } from "../support/mocked-provider";
import { isSecret, valueOf } from "../support/mocks";
import { requireProgram } from "../support/real";

const SETTINGS: MariadbSettings = {
  version: "11",
  port: 3306,
  maxConnections: 151,
  innodbBufferPoolSize: "128M",
  dropRemoved: false,
  dataVolume: "data",
};

const PROGRAMS = ["mariadbd", "mariadb-install-db", "mariadb", "mariadb-dump", "mariadb-admin"];

const req = (name: string, extra: Partial<DatabaseRequest> = {}): DatabaseRequest => ({
  engine: "mariadb",
  name,
  user: name,
  extensions: [],
  ...extra,
});

/** The connection a backup job's container has (providers/backup/jobs.ts). */
const jobEnv = (c: DatabaseCredentials) => ({
  PSF_DB_HOST: c.host,
  PSF_DB_PORT: String(c.port),
  PSF_DB_NAME: c.database,
  PSF_DB_USER: c.user,
  PSF_DB_PASSWORD: c.password,
});

/**
 * The provider on a throwaway server: its provision script (the superuser's SQL and initSql)
 * and the databases' env files written as the container gets them, applied with its own reload
 * command; its dump and restore commands run as they run inside the container (the server
 * listens on loopback; only `docker exec` is left out).
 */
class ProvisionedMariadb implements RunningDatabase {
  private readonly passwords: Record<string, string> = {};
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-mariadbt-"));
  constructor(
    readonly server: TestMariadb,
    private readonly opts: { dropRemoved?: boolean } = {},
  ) {
    fs.mkdirSync(this.paths().clientDir);
  }

  /** Runs one of the provider's in-container scripts with the container's env (and more). */
  sh(script: string, input?: Buffer, env: Record<string, string> = {}): Buffer {
    return execFileSync("sh", ["-c", script], {
      env: { PATH: process.env.PATH, MARIADB_ROOT_PASSWORD: this.server.password, ...env },
      input,
      stdio: ["pipe", "pipe", "pipe"],
    });
  }

  paths(): ServerPaths {
    return {
      provisionFile: path.join(this.dir, "provision.sh"),
      clientDir: path.join(this.dir, "db"),
      readyMarker: path.join(this.dir, "ready"),
      port: this.server.port,
    };
  }

  script(requests: DatabaseRequest[], opts = this.opts): string {
    for (const r of requests) this.passwords[r.user] ??= randomBytes(16).toString("hex");
    return provisionScript(this.paths(), provisioningSql(requests, this.passwords, opts), requests);
  }

  creds(r: DatabaseRequest): DatabaseCredentials {
    return {
      host: "127.0.0.1",
      port: this.server.port,
      database: r.name,
      user: r.user,
      password: this.passwords[r.user],
    };
  }

  provision(requests: DatabaseRequest[], opts = this.opts): Record<string, DatabaseCredentials> {
    fs.writeFileSync(this.paths().provisionFile, this.script(requests, opts));
    for (const r of requests)
      fs.writeFileSync(
        path.join(this.paths().clientDir, `${r.name}.env`),
        clientEnvFile(r, this.passwords[r.user], this.server.port),
      );
    this.sh(mariadbScripts(this.paths()).reload);
    return Object.fromEntries(requests.map((r) => [r.name, this.creds(r)]));
  }

  query(c: DatabaseCredentials, sql: string): string {
    return execFileSync(
      "mariadb",
      ["--no-defaults", "--protocol=tcp", "-h", c.host, "-P", String(c.port), "-u", c.user].concat([
        "-N",
        "-B",
        "-e",
        sql,
        c.database,
      ]),
      {
        encoding: "utf8",
        env: { PATH: process.env.PATH, MYSQL_PWD: c.password },
        stdio: ["pipe", "pipe", "pipe"],
      },
    ).trim();
  }

  extensions(): string[] {
    return [];
  }

  catalog(): string {
    const q = (sql: string) => this.server.query(sql);
    return [
      q("SELECT User, Host, Priv FROM mysql.global_priv ORDER BY User, Host"),
      q("SELECT * FROM mysql.db ORDER BY Host, Db, User"),
      q("SELECT * FROM mysql.tables_priv ORDER BY Host, Db, User, Table_name"),
      q(
        "SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME, SCHEMA_COMMENT FROM information_schema.SCHEMATA ORDER BY 1",
      ),
      // Statements that write, counted: a rewrite with the same content (and within the same
      // second, so password_last_changed stays) still shows.
      q(
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_create_user', 'Com_alter_user', 'Com_drop_user', 'Com_grant', 'Com_revoke', 'Com_create_db', 'Com_alter_db', 'Com_drop_db', 'Com_create_table', 'Com_drop_table')",
      ),
      q(
        "SELECT TABLE_SCHEMA, TABLE_NAME, CREATE_TIME FROM information_schema.TABLES WHERE TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') ORDER BY 1, 2",
      ),
    ].join("\n");
  }

  /** The result's dump command as it runs in the server: the database's env file, then the dump. */
  dump(c: DatabaseCredentials): Buffer {
    return this.sh(withClientEnv(this.paths(), c.database, DUMP_SCRIPT));
  }

  restore(c: DatabaseCredentials, dump: Buffer): void {
    this.sh(withClientEnv(this.paths(), c.database, RESTORE_SCRIPT), dump);
  }

  stop(): void {
    this.server.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

const mariadbAdapter: DatabaseAdapter = {
  programs: PROGRAMS,
  engine: "mariadb",
  currentUserSql: "SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1)",
  extensions: [],
  start: () => new ProvisionedMariadb(startMariadb()),
};

databaseContractSuite("mariadb", mariadbAdapter);

// ---------------------------------------------------------------- beyond the contract, real server

describe("mariadb provisioning beyond the contract, with a real MariaDB", function () {
  let db: ProvisionedMariadb;
  const exists = (database: string) =>
    db.server.query(
      `SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '${database}'`,
    ) === "1";
  const userExists = (user: string) =>
    db.server.query(`SELECT count(*) FROM mysql.global_priv WHERE User = '${user}'`) === "1";
  const tables = (database: string) =>
    db.server.query(
      `SELECT group_concat(TABLE_NAME ORDER BY TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${database}'`,
    );

  before(function () {
    for (const p of PROGRAMS) requireProgram(this, p);
    db = new ProvisionedMariadb(startMariadb());
  });
  after(() => db?.stop());

  it("never puts a password in the SQL; the server stores its native hash and accepts the password", () => {
    const c = db.provision([req("secretive")]).secretive;
    const sql = provisioningSql([req("secretive")], { secretive: c.password });
    assert.ok(!sql.includes(c.password));
    assert.equal(
      db.server.query("SELECT authentication_string FROM mysql.user WHERE User = 'secretive'"),
      nativePasswordHash(c.password),
    );
    // An independent computation of the hash: the server's own PASSWORD().
    assert.equal(
      db.server.query(`SELECT PASSWORD('${c.password}')`),
      nativePasswordHash(c.password),
    );
    assert.equal(db.query(c, "SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1)"), "secretive");
  });

  it("sets a user's password back when it was changed by hand", () => {
    const c = db.provision([req("healed")]).healed;
    db.server.query("ALTER USER healed@'%' IDENTIFIED BY 'changed-by-hand'");
    assert.throws(() => db.query(c, "SELECT 1"));
    db.provision([req("healed")]);
    assert.equal(db.query(c, "SELECT 1"), "1");
  });

  it("grants the one database named, not others its name matches as a pattern", () => {
    const c = db.provision([req("wiki_db", { user: "wiki_app" })]).wiki_db;
    db.server.query("CREATE DATABASE wiki1db");
    assert.throws(() => db.query({ ...c, database: "wiki1db" }, "SELECT 1"), /Access denied/);
  });

  it("runs initSql as the database's user: it cannot reach another database", () => {
    db.server.query("CREATE DATABASE bystander_data");
    assert.throws(
      () => db.provision([req("nosy", { initSql: "CREATE TABLE bystander_data.stolen (id int)" })]),
      /command failed/i,
    );
    assert.equal(tables("bystander_data"), "NULL");
  });

  it("leaves initSql pending after it fails, keeps the other databases coming, and runs it once fixed", () => {
    const bad = req("flaky", { initSql: "CREATE TABLE half (id int); SELECT * FROM missing;" });
    assert.throws(() =>
      db.provision([bad, req("bystander", { initSql: "CREATE TABLE b (id int)" })]),
    );
    assert.ok(exists("bystander"));
    assert.equal(tables("bystander"), "b", "the other initSql still ran");
    assert.equal(
      db.server.query(
        "SELECT SCHEMA_COMMENT FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'flaky'",
      ),
      "managed by psf; initSql pending",
    );
    db.provision([
      req("flaky", {
        initSql: "CREATE TABLE IF NOT EXISTS half (id int); CREATE TABLE whole (id int)",
      }),
    ]);
    assert.equal(tables("flaky"), "half,whole");
    db.provision([req("flaky", { initSql: "CREATE TABLE again (id int)" })]);
    assert.equal(tables("flaky"), "half,whole", "ran once");
  });

  it("adopts a database that existed before: grants it to the user, keeps its data, never runs initSql on it", () => {
    db.server.query("CREATE DATABASE legacy");
    db.server.query("CREATE TABLE kept (id int); INSERT INTO kept VALUES (7)", "legacy");
    const c = db.provision([req("legacy", { initSql: "CREATE TABLE fresh (id int)" })]).legacy;
    assert.equal(db.query(c, "SELECT id FROM kept"), "7");
    assert.equal(tables("legacy"), "kept");
  });

  it("with dropRemoved, drops a database it made and its user once no longer requested, never one it adopted", () => {
    db.provision([req("stays"), req("goes"), req("legacy")]);
    db.server.query("CREATE TABLE x (id int)", "goes");
    db.provision([req("stays")], { dropRemoved: true });
    assert.ok(!exists("goes"));
    assert.ok(!userExists("goes"));
    assert.equal(db.server.query("SELECT count(*) FROM mysql.db WHERE User = 'goes'"), "0");
    assert.ok(exists("stays") && userExists("stays"));
    assert.ok(exists("legacy"), "adopted, so never dropped");
  });

  it("with dropRemoved, keeps a user that another requested database still needs", () => {
    db.provision([req("one", { user: "shared_user" }), req("two", { user: "shared_user" })]);
    const c = db.provision([req("one", { user: "shared_user" })], { dropRemoved: true }).one;
    assert.ok(!exists("two"));
    assert.equal(db.query(c, "SELECT 1"), "1");
  });

  it("without dropRemoved, keeps every database", () => {
    db.provision([req("kept_a")]);
    db.provision([req("kept_b")]);
    assert.ok(exists("kept_a") && userExists("kept_a"));
  });

  it("dumps and restores with a backup job's PSF_DB_* env, views, routines and events included", () => {
    const c = db.provision([req("jobbed")]).jobbed;
    db.query(
      c,
      "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2); CREATE VIEW v AS SELECT id FROM t; CREATE FUNCTION f() RETURNS int RETURN 42",
    );
    const dump = db.sh(DUMP_SCRIPT, undefined, jobEnv(c));
    assert.match(dump.toString(), /CREATE TABLE `t`/);
    db.query(
      c,
      "DROP VIEW v; DROP FUNCTION f; DELETE FROM t; CREATE TABLE later (id int); CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO DELETE FROM t",
    );
    db.sh(RESTORE_SCRIPT, dump, jobEnv(c));
    assert.equal(db.query(c, "SELECT group_concat(id ORDER BY id) FROM v"), "1,2");
    assert.equal(db.query(c, "SELECT f()"), "42");
    assert.equal(tables("jobbed"), "t,v");
    assert.equal(
      db.server.query(
        "SELECT count(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = 'jobbed'",
      ),
      "0",
    );
  });
});

// ---------------------------------------------------------------- Pulumi (mocked engine)

const fixture = () => readStackFile(path.join(__dirname, "fixtures", "Pulumi.mariadb.yaml")).raw;

describe("mariadb provider in a Pulumi program (mocked engine)", () => {
  it("declares one stateful server with its data volume, a secret root password and secret provisioning files", async () => {
    const { w, execs, server } = await declaredDatabaseServer(
      mariadb,
      fixture(),
      {
        ...SETTINGS,
        version: "10.11",
        maxConnections: 300,
        innodbBufferPoolSize: "1G",
        port: 3307,
        dataSize: "20Gi",
      },
      {
        image: "mariadb=mariadb:10.11",
        dataDir: "/var/lib/mysql",
        superuserEnv: "MARIADB_ROOT_PASSWORD",
        provisionFile: "/etc/psf/provision.sh",
        notesUrl: "mysql://notes:mock-password-mariadb-password-notes@db.internal:3307/notes",
      },
    );
    assert.deepEqual(w.args, [
      "mariadbd",
      "--port=3307",
      "--max-connections=300",
      "--innodb-buffer-pool-size=1G",
    ]);
    assert.deepEqual(w.env, { MARIADB_ROOT_HOST: "127.0.0.1" });
    assert.deepEqual(
      w.files!.map((f) => [f.path, f.secret, f.mode]),
      [
        ["/etc/psf/provision.sh", true, 0o600],
        ["/etc/psf/db/notes.env", true, 0o600],
        ["/etc/psf/db/wiki_db.env", true, 0o600],
      ],
    );
    for (const f of w.files!) assert.equal(await isSecret(f.content), true, f.path);
    const script = (await valueOf(w.files![0].content)) as string;
    // The SQL travels base64-encoded inside the script.
    const sql = Buffer.from(
      /printf %s (\S+) \| base64 -d \| MYSQL_PWD/.exec(script)![1],
      "base64",
    ).toString();
    assert.match(sql, /GRANT ALL PRIVILEGES ON `wiki\\_db`\.\* TO 'wiki_app'@'%'/);
    assert.ok(!sql.includes("mock-password"), "hashes only");
    assert.match(
      (await valueOf(w.files![2].content)) as string,
      /^PSF_DB_HOST=127\.0\.0\.1\nPSF_DB_PORT=3307\nPSF_DB_NAME=wiki_db\nPSF_DB_USER=wiki_app\nPSF_DB_PASSWORD=mock-password-mariadb-password-wiki_app\n$/,
    );
    assert.ok(w.healthcheck!.command!.join(" ").includes("mariadb-admin"));
    assert.deepEqual(execs, [
      {
        cmd: ["sh", "-c", withClientEnv({ clientDir: "/etc/psf/db" }, "notes", DUMP_SCRIPT)],
        stdin: undefined,
      },
      {
        cmd: ["sh", "-c", withClientEnv({ clientDir: "/etc/psf/db" }, "notes", RESTORE_SCRIPT)],
        stdin: true,
      },
      {
        cmd: ["sh", "-c", withClientEnv({ clientDir: "/etc/psf/db" }, "wiki_db", DUMP_SCRIPT)],
        stdin: undefined,
      },
      {
        cmd: ["sh", "-c", withClientEnv({ clientDir: "/etc/psf/db" }, "wiki_db", RESTORE_SCRIPT)],
        stdin: true,
      },
    ]);
  });

  it("puts no password in any planned Docker resource's plain inputs; the app's URL is mysql://", async () => {
    const { declared, stack } = await planStack(fixture());
    declaredContainer(declared, "mariadb");
    assertNoneInPlainInputs(declared, /mock-password-mariadb-/);
    assert.match(
      JSON.stringify(mask(declaredContainer(declared, "notes").inputs, true)),
      /DATABASE_URL=mysql:\/\/notes:mock-password-mariadb-password-notes@mariadb:3306\/notes/,
    );
    const results = stack.providers.database.results;
    assert.match(
      (await valueOf(results.notes.dumpCommand)) as string,
      /^docker exec psf-test-mariadb sh -c '.*\/etc\/psf\/db\/notes\.env.*mariadb-dump .*--single-transaction/,
    );
    assert.match(
      (await valueOf(results.wiki.restoreCommand)) as string,
      /^docker exec -i psf-test-mariadb sh -c '.*\/etc\/psf\/db\/wiki_db\.env/,
    );
  });
});

// ---------------------------------------------------------------- validation

describe("mariadb provider validation", () => {
  const base = fixture();
  const edit = (f: (raw: any) => void) => {
    const raw = structuredClone(base) as any;
    f(raw);
    return validateConfig(raw, "t", registry).issues;
  };
  const where = (issues: Array<{ path: string; message: string; hint?: string }>) =>
    issues.map((i) => [i.path, i.message, i.hint]);

  it("accepts the fixture", () => assert.deepEqual(validateConfig(base, "t", registry).issues, []));

  it("refuses a request for postgres, also by default, saying to set engine: mariadb", () => {
    assert.deepEqual(where(edit((raw) => delete raw.services.notes.needs.database.engine)), [
      [
        "services.notes.needs.database.engine",
        "the mariadb provider serves engine mariadb, not postgres (engine defaults to postgres)",
        "set engine: mariadb, or use the postgres provider (providers.database.use: postgres)",
      ],
    ]);
  });

  it("refuses extensions at their index: MariaDB has none", () => {
    assert.deepEqual(
      where(edit((raw) => (raw.services.notes.needs.database.extensions = ["pg_trgm", "citext"]))),
      [
        [
          "services.notes.needs.database.extensions[0]",
          'MariaDB has no extensions to create ("pg_trgm")',
          "remove extensions (they are PostgreSQL's)",
        ],
        [
          "services.notes.needs.database.extensions[1]",
          'MariaDB has no extensions to create ("citext")',
          "remove extensions (they are PostgreSQL's)",
        ],
      ],
    );
  });

  it("refuses MariaDB's own databases and accounts, every problem at once", () => {
    const issues = edit((raw) => {
      raw.services.wiki.needs.database.name = "mysql";
      raw.services.notes.needs.database.user = "root";
    });
    assert.deepEqual(issues.map((i) => i.path).sort(), [
      "services.notes.needs.database.user",
      "services.wiki.needs.database.name",
    ]);
    for (const i of issues) assert.ok(i.hint, i.path);
  });

  it("refuses two services asking for the same database", () => {
    const issues = edit(
      (raw) =>
        (raw.services.other = {
          image: "example/other:1",
          needs: { database: { engine: "mariadb", name: "wiki_db" } },
        }),
    );
    assert.deepEqual(where(issues), [
      [
        "services.other.needs.database.name",
        'database "wiki_db" is already requested by wiki',
        "give each service its own database name",
      ],
    ]);
  });

  it("refuses a buffer pool below InnoDB's minimum", () => {
    assert.deepEqual(where(edit((raw) => (raw.providers.database.innodbBufferPoolSize = "1M"))), [
      [
        "providers.database.innodbBufferPoolSize",
        "1M is below InnoDB's minimum of 5M",
        "innodbBufferPoolSize: 128M (up to about 70% of the server's memory on a dedicated host)",
      ],
    ]);
    assert.deepEqual(
      edit((raw) => (raw.providers.database.innodbBufferPoolSize = "5M")),
      [],
    );
  });

  it("refuses an unknown version and unknown settings, both at once", () => {
    const issues = edit((raw) => {
      raw.providers.database.version = "12";
      raw.providers.database.maxConections = 5;
    });
    assert.deepEqual(issues.map((i) => i.path).sort(), [
      "providers.database.maxConections",
      "providers.database.version",
    ]);
    for (const i of issues) assert.ok(i.hint, i.path);
  });
});
