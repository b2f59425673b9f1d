import { strict as assert } from "assert";
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { mask } from "../../cli/mock-engine";
import { readStackFile } from "../../components/stack-file";
import { validateConfig } from "../../components/program";
import { registry } from "../../providers";
import { DatabaseRequest } from "../../providers/database/contract";
import { PostgresSettings, postgres } from "../../providers/database/postgres";
import {
  ServerPaths,
  dumpScript,
  postgresScripts,
  restoreScript,
  serverArgs,
} from "../../providers/database/postgres-server";
import { CONTRIB_EXTENSIONS, provisioningSql } from "../../providers/database/postgres-sql";
import {
  DatabaseAdapter,
  DatabaseCredentials,
  RunningDatabase,
  databaseContractSuite,
} from "../contracts/database";
import { declaredDatabaseServer } from "../contracts/database-server";
import { assertNoneInPlainInputs, declaredContainer, planStack } from "../support/mocked-provider";
import { valueOf } from "../support/mocks";
import { PG_BIN, TestPostgres, initdb, requireProgram, startPostgres } from "../support/real";

const SETTINGS: PostgresSettings = {
  version: 15,
  port: 5432,
  maxConnections: 100,
  sharedBuffers: "128M",
  extraExtensions: [],
  dropRemoved: false,
  dataVolume: "data",
};

const req = (name: string, extra: Partial<DatabaseRequest> = {}): DatabaseRequest => ({
  engine: "postgres",
  name,
  user: name,
  extensions: [],
  ...extra,
});
const urlOf = (c: DatabaseCredentials) =>
  `postgresql://${c.user}:${encodeURIComponent(c.password)}@${c.host}:${c.port}/${c.database}`;
const tmpdir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-pgt-"));
  fs.chmodSync(dir, 0o777);
  return dir;
};

/**
 * The provider on a throwaway server: its provisioning script applied with its own reload
 * command, its dump and restore commands run as they run inside the container (the server
 * listens on loopback; only `docker exec` is left out).
 */
class ProvisionedPostgres implements RunningDatabase {
  private readonly passwords: Record<string, string> = {};
  private readonly dir = tmpdir();
  constructor(
    readonly pg: TestPostgres,
    private readonly opts: { dropRemoved?: boolean } = {},
  ) {}

  /** Runs one of the provider's in-container scripts with the container's env. */
  sh(script: string, input?: Buffer): Buffer {
    return execFileSync("sh", ["-c", script], {
      env: { PATH: process.env.PATH, POSTGRES_PASSWORD: this.pg.password },
      input,
      stdio: ["pipe", "pipe", "pipe"],
    });
  }

  paths(): ServerPaths {
    return {
      provisionFile: path.join(this.dir, "provision.sql"),
      readyMarker: path.join(this.dir, "ready"),
      port: this.pg.port,
    };
  }

  sql(requests: DatabaseRequest[], opts = this.opts): string {
    for (const r of requests) this.passwords[r.user] ??= randomBytes(16).toString("hex");
    return provisioningSql(requests, this.passwords, opts);
  }

  provision(requests: DatabaseRequest[], opts = this.opts): Record<string, DatabaseCredentials> {
    fs.writeFileSync(this.paths().provisionFile, this.sql(requests, opts));
    this.sh(postgresScripts(this.paths()).reload);
    return Object.fromEntries(
      requests.map((r) => [
        r.name,
        {
          host: "127.0.0.1",
          port: this.pg.port,
          database: r.name,
          user: r.user,
          password: this.passwords[r.user],
        },
      ]),
    );
  }

  query(c: DatabaseCredentials, sql: string): string {
    return execFileSync("psql", ["-X", "-w", "-v", "ON_ERROR_STOP=1", "-Atc", sql, urlOf(c)], {
      encoding: "utf8",
      stdio: ["pipe", "pipe", "pipe"],
    }).trim();
  }

  extensions(database: string): string[] {
    const out = this.pg.query(
      "SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1",
      database,
    );
    return out ? out.split("\n") : [];
  }

  catalog(): string {
    const dbs = this.pg
      .query("SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY 1")
      .split("\n");
    return [
      this.pg.query(
        "SELECT xmin, rolname, rolcanlogin, rolpassword, shobj_description(oid, 'pg_authid') FROM pg_authid WHERE rolname !~ '^pg_' ORDER BY rolname",
      ),
      this.pg.query(
        "SELECT xmin, datname, pg_get_userbyid(datdba), datacl, shobj_description(oid, 'pg_database') FROM pg_database ORDER BY datname",
      ),
      ...dbs.map(
        (d) =>
          `${d}: ${this.pg.query("SELECT xmin, extname, extversion, pg_get_userbyid(extowner) FROM pg_extension ORDER BY extname", d)}`,
      ),
    ].join("\n");
  }

  dump(c: DatabaseCredentials): Buffer {
    return this.sh(dumpScript(c.database, this.pg.port));
  }

  restore(c: DatabaseCredentials, dump: Buffer): void {
    this.sh(restoreScript(c.database, c.user, this.pg.port), dump);
  }

  stop(): void {
    this.pg.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

const postgresAdapter: DatabaseAdapter = {
  programs: [`${PG_BIN}/postgres`, "psql", "pg_dump"],
  engine: "postgres",
  currentUserSql: "SELECT current_user",
  extensions: ["pg_trgm", "pgcrypto", "uuid-ossp", "citext", "hstore"],
  start: () => new ProvisionedPostgres(startPostgres()),
};

databaseContractSuite("postgres", postgresAdapter);

// ---------------------------------------------------------------- beyond the contract, real server

describe("postgres provisioning beyond the contract, with a real PostgreSQL", function () {
  let db: ProvisionedPostgres;
  const ownerOf = (table: string, database: string) =>
    db.pg.query(
      `SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = '${table}'`,
      database,
    );
  const exists = (database: string) =>
    db.pg.query(`SELECT count(*) FROM pg_database WHERE datname = '${database}'`) === "1";
  const roleExists = (role: string) =>
    db.pg.query(`SELECT count(*) FROM pg_roles WHERE rolname = '${role}'`) === "1";

  before(function () {
    requireProgram(this, `${PG_BIN}/postgres`);
    db = new ProvisionedPostgres(startPostgres());
  });
  after(() => db?.stop());

  it("offers only extensions PostgreSQL 15 can create, every one of them", () => {
    db.provision([req("everything", { extensions: [...CONTRIB_EXTENSIONS] })]);
    const made = db.extensions("everything");
    assert.deepEqual(
      CONTRIB_EXTENSIONS.filter((e) => !made.includes(e)),
      [],
    );
  });

  it("never puts a password in the script; the server stores the SCRAM verifier and accepts the password", () => {
    const c = db.provision([req("secretive")]).secretive;
    assert.ok(!db.sql([req("secretive")]).includes(c.password));
    assert.match(
      db.pg.query("SELECT rolpassword FROM pg_authid WHERE rolname = 'secretive'"),
      /^SCRAM-SHA-256\$4096:/,
    );
    assert.equal(db.query(c, "SELECT current_user"), "secretive");
  });

  it("sets a role's password back when it was changed by hand", () => {
    const c = db.provision([req("healed")]).healed;
    db.pg.query("ALTER ROLE healed PASSWORD 'changed-by-hand'");
    assert.throws(() => db.query(c, "SELECT 1"));
    db.provision([req("healed")]);
    assert.equal(db.query(c, "SELECT current_user"), "healed");
  });

  it("runs initSql as the owner: the tables it makes belong to the role", () => {
    db.provision([req("owned", { initSql: "CREATE TABLE t (id int)" })]);
    assert.equal(ownerOf("t", "owned"), "owned");
  });

  it("leaves initSql pending after it fails, keeps the other databases coming, and runs it once fixed", () => {
    const bad = req("flaky", { initSql: "CREATE TABLE half (id int); SELECT 1/0;" });
    assert.throws(
      () => db.provision([bad, req("bystander", { extensions: ["citext"] })]),
      /division by zero/,
    );
    assert.ok(exists("bystander"));
    assert.deepEqual(db.extensions("bystander"), ["citext"]);
    assert.equal(
      db.pg.query("SELECT count(*) FROM pg_class WHERE relname = 'half'", "flaky"),
      "0",
      "rolled back",
    );
    db.provision([req("flaky", { initSql: "CREATE TABLE half (id int)" })]);
    assert.equal(ownerOf("half", "flaky"), "flaky");
  });

  it("adopts a database that existed before: gives it to the role, keeps its data, never runs initSql on it", () => {
    db.pg.query("CREATE DATABASE legacy");
    db.pg.query("CREATE TABLE kept (id int); INSERT INTO kept VALUES (7)", "legacy");
    db.provision([req("legacy", { initSql: "CREATE TABLE fresh (id int)" })]);
    assert.equal(
      db.pg.query("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'legacy'"),
      "legacy",
    );
    assert.equal(
      db.pg.query("SELECT count(*) FROM pg_class WHERE relname = 'fresh'", "legacy"),
      "0",
    );
    assert.equal(db.pg.query("SELECT id FROM kept", "legacy"), "7");
  });

  it("with dropRemoved, drops a database it made and its role once no longer requested, never one it adopted", () => {
    db.provision([req("stays"), req("goes"), req("legacy")]);
    db.pg.query("CREATE TABLE x (id int)", "goes");
    db.provision([req("stays")], { dropRemoved: true });
    assert.ok(!exists("goes"));
    assert.ok(!roleExists("goes"));
    assert.ok(exists("stays") && roleExists("stays"));
    assert.ok(exists("legacy"), "adopted, so never dropped");
  });

  it("without dropRemoved, keeps every database", () => {
    db.provision([req("kept_a")]);
    db.provision([req("kept_b")]);
    assert.ok(exists("kept_a") && roleExists("kept_a"));
  });
});

// ---------------------------------------------------------------- the container's scripts, real bash and postgres

/**
 * The start script with the image's entrypoint replaced by one that runs the local postgres on
 * a throwaway data directory, as the postgres user: what the container does, minus Docker.
 */
describe("postgres container scripts (real bash, postgres, pg_isready; fake image entrypoint)", function () {
  let dir: string;
  let data: string;
  let paths: ServerPaths;
  let server: ChildProcess | undefined;
  let stderr = "";
  const password = "container-superuser-pw";
  const { uid, gid } = (() => {
    const id = (f: string) =>
      Number(spawnSync("id", [f, "postgres"], { encoding: "utf8" }).stdout.trim());
    return { uid: id("-u"), gid: id("-g") };
  })();
  const superuser = () => ({
    host: "127.0.0.1",
    port: paths.port,
    database: "postgres",
    user: "postgres",
    password,
  });
  const query = (sql: string, database = "postgres") =>
    execFileSync("psql", ["-X", "-w", "-Atc", sql, urlOf({ ...superuser(), database })], {
      encoding: "utf8",
    }).trim();
  const healthy = () => spawnSync("sh", ["-c", postgresScripts(paths).health]).status === 0;
  const settings = () => ({
    ...SETTINGS,
    port: paths.port,
    maxConnections: 20,
    sharedBuffers: "16M",
  });
  const requests = [req("notes", { extensions: ["pg_stat_statements"] })];

  function start(): void {
    stderr = "";
    server = spawn(
      "bash",
      ["-c", postgresScripts(paths).start, "psf-postgres", ...serverArgs(settings(), requests)],
      {
        uid,
        gid,
        cwd: dir,
        env: {
          PATH: `${dir}/bin:/usr/bin:/bin`,
          POSTGRES_PASSWORD: password,
          FAKE_PGDATA: data,
          FAKE_SOCKETS: dir,
        },
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    server.stderr!.on("data", (b) => (stderr += b));
  }

  async function until(what: string, ok: () => boolean, seconds = 30): Promise<void> {
    for (let i = 0; i < seconds * 10; i++) {
      if (ok()) return;
      if (server?.exitCode !== null)
        throw new Error(
          `the start script exited (${server?.exitCode}) waiting for ${what}:\n${stderr}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}:\n${stderr}`);
  }

  /** TERM to the script, as `docker stop` sends it; resolves with its exit code. */
  function stop(): Promise<number | null> {
    const s = server!;
    server = undefined;
    if (s.exitCode !== null) return Promise.resolve(s.exitCode);
    return new Promise((resolve) => {
      s.on("exit", (code) => resolve(code));
      s.kill("SIGTERM");
    });
  }

  before(function () {
    for (const p of [`${PG_BIN}/postgres`, "pg_isready", "psql", "bash"]) requireProgram(this, p);
    // The script must run as the postgres user, as it does in the image.
    if (process.getuid?.() !== 0) {
      console.warn("  skipped: running the start script as the postgres user needs root");
      this.skip();
    }
    dir = tmpdir();
    data = path.join(dir, "data");
    paths = {
      provisionFile: path.join(dir, "provision.sql"),
      readyMarker: path.join(dir, "ready"),
      port: 20000 + Math.floor(Math.random() * 20000),
    };
    fs.mkdirSync(path.join(dir, "bin"));
    fs.writeFileSync(
      path.join(dir, "bin", "docker-entrypoint.sh"),
      `#!/bin/sh\n[ "$1" = postgres ] && shift\nexec ${PG_BIN}/postgres -D "$FAKE_PGDATA" -k "$FAKE_SOCKETS" -c listen_addresses=127.0.0.1 "$@"\n`,
      { mode: 0o755 },
    );
    fs.writeFileSync(path.join(dir, "pw"), password, { mode: 0o644 });
    initdb(data, path.join(dir, "pw"));
  });
  after(async () => {
    if (server) await stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("starts the server with the settings, applies the provisioning script, then turns healthy", async () => {
    fs.writeFileSync(paths.provisionFile, provisioningSql(requests, { notes: "notes-pw" }), {
      mode: 0o644,
    });
    start();
    await until("the ready marker", () => fs.existsSync(paths.readyMarker));
    assert.ok(healthy());
    assert.equal(query("SHOW max_connections"), "20");
    assert.equal(query("SHOW shared_buffers"), "16MB");
    // The view only answers when the library was preloaded.
    assert.equal(query("SELECT count(*) >= 0 FROM pg_stat_statements", "notes"), "t");
    assert.equal(
      execFileSync(
        "psql",
        [
          "-X",
          "-w",
          "-Atc",
          "SELECT current_user",
          urlOf({ ...superuser(), database: "notes", user: "notes", password: "notes-pw" }),
        ],
        { encoding: "utf8" },
      ).trim(),
      "notes",
    );
  });

  it("applies a changed script to the running server with the reload command", () => {
    fs.writeFileSync(
      paths.provisionFile,
      provisioningSql([...requests, req("wiki")], { notes: "notes-pw", wiki: "wiki-pw" }),
    );
    fs.rmSync(paths.readyMarker);
    assert.ok(!healthy(), "not ready without the marker");
    execFileSync("sh", ["-c", postgresScripts(paths).reload], {
      env: { PATH: process.env.PATH, POSTGRES_PASSWORD: password },
      stdio: "pipe",
    });
    assert.equal(
      query("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'wiki'"),
      "wiki",
    );
    assert.ok(healthy());
  });

  it("shuts postgres down cleanly on TERM and exits 0", async () => {
    assert.equal(await stop(), 0);
    const control = execFileSync(`${PG_BIN}/pg_controldata`, [data], { encoding: "utf8" });
    assert.match(control, /Database cluster state:\s+shut down\n/);
  });

  it("keeps serving but stays unhealthy when the script fails, saying why", async () => {
    fs.writeFileSync(paths.provisionFile, "\\set ON_ERROR_STOP on\nSELECT 1/0;\n");
    start();
    await until("the failure message", () => /psf: provisioning failed/.test(stderr));
    assert.match(stderr, /division by zero/);
    assert.equal(
      query("SELECT count(*) FROM pg_database WHERE datname = 'notes'"),
      "1",
      "still serving",
    );
    assert.ok(!healthy());
    assert.equal(await stop(), 0);
  });
});

// ---------------------------------------------------------------- Pulumi (mocked engine)

const fixture = () => readStackFile(path.join(__dirname, "fixtures", "Pulumi.postgres.yaml")).raw;

describe("postgres provider in a Pulumi program (mocked engine)", () => {
  it("declares one stateful server with its data volume, a secret superuser password and a secret provisioning file", async () => {
    const { w, execs, server } = await declaredDatabaseServer(
      postgres,
      fixture(),
      { ...SETTINGS, maxConnections: 250, sharedBuffers: "1G", port: 6543, dataSize: "20Gi" },
      {
        image: "postgres=postgres:15-bookworm",
        dataDir: "/var/lib/postgresql/data",
        superuserEnv: "POSTGRES_PASSWORD",
        provisionFile: "/etc/psf/provision.sql",
        notesUrl: "postgresql://notes:mock-password-postgres-password-notes@db.internal:6543/notes",
      },
    );
    for (const arg of [
      "max_connections=250",
      "shared_buffers=1GB",
      "port=6543",
      "shared_preload_libraries=pg_stat_statements",
    ])
      assert.equal(w.args![w.args!.indexOf(arg) - 1], "-c", arg);
    assert.equal(w.args![0], "postgres");
    assert.ok(
      w.healthcheck!.command!.join(" ").includes("pg_isready -q -h 127.0.0.1 -p 6543 -U postgres"),
    );
    const script = (await valueOf(w.files![0].content)) as string;
    assert.match(script, /CREATE DATABASE %I OWNER %I', 'wiki_db', 'wiki_app'/);

    const wiki = server.results.wiki;
    assert.deepEqual(
      [await valueOf(wiki.database), await valueOf(wiki.user)],
      ["wiki_db", "wiki_app"],
    );
    assert.deepEqual(execs, [
      { cmd: ["sh", "-c", dumpScript("notes", 6543)], stdin: undefined },
      { cmd: ["sh", "-c", restoreScript("notes", "notes", 6543)], stdin: true },
      { cmd: ["sh", "-c", dumpScript("wiki_db", 6543)], stdin: undefined },
      { cmd: ["sh", "-c", restoreScript("wiki_db", "wiki_app", 6543)], stdin: true },
    ]);
  });

  it("puts no password in any planned Docker resource's plain inputs, and dump commands name their database", async () => {
    const { declared, stack } = await planStack(fixture());
    const container = declaredContainer(declared, "postgres");
    assertNoneInPlainInputs(declared, /mock-password-postgres-/);
    assert.match(
      JSON.stringify(mask(container.inputs, true)),
      /POSTGRES_PASSWORD=mock-password-postgres-superuser-password/,
      "there, only masked",
    );
    assert.match(
      JSON.stringify(mask(declaredContainer(declared, "notes").inputs, true)),
      /DATABASE_URL=postgresql:\/\/notes:mock-password-postgres-password-notes@postgres:5432\/notes/,
    );
    const results = stack.providers.database.results;
    assert.match(
      (await valueOf(results.notes.dumpCommand)) as string,
      /^docker exec psf-test-postgres sh -c '.*pg_dump .* -d notes'$/,
    );
    assert.match(
      (await valueOf(results.wiki.restoreCommand)) as string,
      /^docker exec -i psf-test-postgres sh -c '.*psql .* -d wiki_db .*DROP OWNED BY "wiki_app".*'$/,
    );
  });
});

// ---------------------------------------------------------------- validation

describe("postgres provider validation", () => {
  const base = fixture();
  const edit = (f: (raw: any) => void) => {
    const raw = structuredClone(base) as any;
    f(raw);
    return validateConfig(raw, "t", registry).issues;
  };

  it("accepts the fixture", () => assert.deepEqual(validateConfig(base, "t", registry).issues, []));

  it("rejects an unknown extension at its index, listing what is offered", () => {
    const issues = edit(
      (raw) => (raw.services.notes.needs.database.extensions = ["pg_trgm", "postgis3"]),
    );
    assert.deepEqual(
      issues.map((i) => [i.path, i.message]),
      [["services.notes.needs.database.extensions[1]", 'unknown extension "postgis3"']],
    );
    assert.match(
      issues[0].hint!,
      /^postgres offers: pg_trgm, pgcrypto, uuid-ossp, citext, hstore, pg_stat_statements, btree_gin, btree_gist, unaccent, fuzzystrmatch, /,
    );
    assert.match(issues[0].hint!, /providers\.database\.extraExtensions/);
  });

  it("offers vector only when the settings say the image has it", () => {
    const use = (raw: any) => (raw.services.notes.needs.database.extensions = ["vector"]);
    assert.deepEqual(
      edit(use).map((i) => i.path),
      ["services.notes.needs.database.extensions[0]"],
    );
    assert.deepEqual(
      edit((raw) => (use(raw), (raw.providers.database.extraExtensions = ["vector"]))),
      [],
    );
  });

  it("rejects two services asking for the same database", () => {
    const issues = edit(
      (raw) =>
        (raw.services.other = {
          image: "example/other:1",
          needs: { database: { name: "wiki_db" } },
        }),
    );
    assert.deepEqual(
      issues.map((i) => i.path),
      ["services.other.needs.database.name"],
    );
  });

  it("rejects PostgreSQL's own database and roles", () => {
    assert.deepEqual(
      edit((raw) => (raw.services.wiki.needs.database.name = "template1")).map((i) => i.path),
      ["services.wiki.needs.database.name"],
    );
    assert.deepEqual(
      edit((raw) => (raw.services.wiki.needs.database.user = "postgres")).map((i) => i.path),
      ["services.wiki.needs.database.user"],
    );
    assert.deepEqual(
      edit((raw) => (raw.services.wiki.needs.database.user = "pg_monitor")).map((i) => i.path),
      ["services.wiki.needs.database.user"],
    );
  });

  it("rejects a mariadb request", () => {
    assert.deepEqual(
      edit((raw) => (raw.services.wiki.needs.database.engine = "mariadb")).map((i) => i.path),
      ["services.wiki.needs.database.engine"],
    );
  });

  it("rejects shared buffers below PostgreSQL's minimum and unknown settings", () => {
    assert.deepEqual(
      edit((raw) => (raw.providers.database.sharedBuffers = "64k")).map((i) => i.path),
      ["providers.database.sharedBuffers"],
    );
    assert.deepEqual(
      edit((raw) => (raw.providers.database.sharedBuffers = "128k")),
      [],
    );
    assert.deepEqual(
      edit((raw) => (raw.providers.database.maxConections = 5)).map((i) => i.path),
      ["providers.database.maxConections"],
    );
  });
});
