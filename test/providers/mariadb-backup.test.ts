import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { borg } from "../../providers/backup/borg";
import { borgScripts } from "../../providers/backup/borg-script";
import { DEFAULT_SCHEDULE } from "../../providers/backup/contract";
import { JobScripts, ScriptPaths, planJob, renderEnvFile } from "../../providers/backup/job";
import { restic } from "../../providers/backup/restic";
import { resticScripts } from "../../providers/backup/restic-script";
import { DatabaseRequest } from "../../providers/database/contract";
import { dumpEnvOf } from "../../providers/database/login-env";
import { MARIADB_DUMP } from "../../providers/database/mariadb-dump";
import { provisioningSql } from "../../providers/database/mariadb-sql";
import { BORG, BackupTool, RESTIC } from "../support/backup-tools";
import { TestMariadb, startMariadb } from "../support/mariadb";
import { requireProgram } from "../support/real";
import { settingsWith } from "../support/settings";

/**
 * A MariaDB database backed up and restored row for row by borg and by restic: each backup
 * provider's own job scripts stream the mariadb provider's dump and restore (its result's
 * `dump`) with the login its result hands the job (`dumpEnv`), against a real MariaDB server
 * the provider's own SQL provisioned. Neither backup provider knows the engine.
 */

const PASSWORD = "app-pw-'quoted' $x";

const TOOLS: BackupTool[] = [BORG, RESTIC];

for (const tool of TOOLS) {
  describe(`${tool.name} backs up and restores a MariaDB database row for row (real ${tool.name} and MariaDB)`, function () {
    let server: TestMariadb;
    let dir: string;
    let scripts: JobScripts;
    let env: Record<string, string>;

    const request: DatabaseRequest = {
      engine: "mariadb",
      name: "app",
      user: "app",
      extensions: [],
    };
    /** SQL as the app's own user, in its database. */
    const asApp = (sql: string): string => {
      const r = spawnSync(
        "mariadb",
        ["--no-defaults", "--protocol=tcp", "-h", "127.0.0.1", "-P", String(server.port)].concat([
          "-u",
          "app",
          "-N",
          "-B",
          "-e",
          sql,
          "app",
        ]),
        { encoding: "utf8", env: { PATH: process.env.PATH, MYSQL_PWD: PASSWORD } },
      );
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim();
    };
    const rows = () =>
      [
        asApp("SELECT id, body, HEX(blob_col), note FROM notes ORDER BY id"),
        asApp("SELECT id, note_id, tag FROM tags ORDER BY id"),
        asApp("SELECT * FROM note_count"),
      ].join("\n--\n");
    const prepare = (which: keyof JobScripts, extra: Record<string, string>) => {
      const file = path.join(dir, `psf-${which}`);
      fs.writeFileSync(file, scripts[which], { mode: 0o755 });
      fs.writeFileSync(
        path.join(dir, "backup.env"),
        renderEnvFile({ ...env, PSF_MAINTENANCE: "never", ...extra }),
        { mode: 0o600 },
      );
      return file;
    };
    /** A job script; `pathFirst` puts fake programs ahead of the real ones. */
    const run = (which: keyof JobScripts, extra: Record<string, string> = {}, pathFirst = "") =>
      spawnSync("bash", [prepare(which, extra)], {
        env: { PATH: pathFirst + process.env.PATH!, HOME: path.join(dir, "home") },
        encoding: "utf8",
      });
    /** A mariadb-dump in front of the real one: `body` filters its output (bash, `real` runs it). */
    const fakeDump = (name: string, body: string) => {
      const fake = path.join(dir, name);
      fs.mkdirSync(fake, { recursive: true });
      const real = spawnSync("sh", ["-c", "command -v mariadb-dump"], { encoding: "utf8" });
      fs.writeFileSync(
        path.join(fake, "mariadb-dump"),
        `#!/bin/bash\nset -o pipefail\nreal() { ${real.stdout.trim()} "$@"; }\n${body}\n`,
        { mode: 0o755 },
      );
      return `${fake}:`;
    };

    before(function () {
      for (const p of [...tool.programs, "mariadbd", "mariadb", "mariadb-dump"])
        requireProgram(this, p);
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `psf-mariadb-${tool.name}-`));
      fs.mkdirSync(path.join(dir, "root", "volumes"), { recursive: true });
      server = startMariadb();
      server.query(provisioningSql([request], { app: PASSWORD }));
      const paths: ScriptPaths = {
        backupRoot: path.join(dir, "root"),
        restoreRoot: path.join(dir, "root"),
        envFile: path.join(dir, "backup.env"),
        statusDir: path.join(dir, "status"),
      };
      const job = planJob(
        "app",
        { volumes: [], paths: [], excludes: [], database: true },
        {},
        { schedule: DEFAULT_SCHEDULE, checkWeekday: 0 },
        true,
      );
      // What the job gets from the mariadb provider's result: its dump, and the login for it.
      scripts = tool.scripts({ ...job, database: MARIADB_DUMP }, paths);
      env = {
        ...tool.repositoryEnv(dir),
        ...dumpEnvOf({
          host: "127.0.0.1",
          port: server.port,
          database: "app",
          user: "app",
          password: PASSWORD,
        }),
      };
      asApp(
        "CREATE TABLE notes (id INT PRIMARY KEY, body TEXT NOT NULL, blob_col VARBINARY(64), note VARCHAR(64)) CHARACTER SET utf8mb4",
      );
      asApp(
        "CREATE TABLE tags (id INT PRIMARY KEY AUTO_INCREMENT, note_id INT NOT NULL, tag VARCHAR(32), FOREIGN KEY (note_id) REFERENCES notes (id))",
      );
      asApp("CREATE VIEW note_count AS SELECT COUNT(*) AS n FROM notes");
      asApp(
        "INSERT INTO notes VALUES (1, 'first', X'00FF10', NULL), (2, 'it''s a \"quote\"\\ttab\\nnewline', NULL, 'ünïcode ✓'), (3, REPEAT('x', 5000), X'', '')",
      );
      asApp("INSERT INTO tags (note_id, tag) VALUES (1, 'a'), (2, 'b'), (2, 'c')");
    });

    after(() => {
      server?.stop();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("restores the rows as they were when the backup ran, and drops what came after", () => {
      const before = rows();
      const backup = run("backup", { PSF_BACKUP_TIME: "2024-03-01T03:00:00" });
      assert.equal(backup.status, 0, `${backup.stdout}\n${backup.stderr}`);

      // Everything changes after the backup: rows, a table, the view.
      asApp("INSERT INTO notes VALUES (4, 'after the backup', NULL, NULL)");
      asApp("DELETE FROM tags WHERE tag = 'a'");
      asApp("UPDATE notes SET body = 'edited' WHERE id = 1");
      asApp("CREATE TABLE junk (x INT)");
      asApp("DROP VIEW note_count");
      assert.equal(asApp("SELECT COUNT(*) FROM notes"), "4");

      const restore = run("restore");
      assert.equal(restore.status, 0, `${restore.stdout}\n${restore.stderr}`);
      assert.equal(rows(), before);
      assert.equal(
        asApp(
          "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'app' AND TABLE_NAME = 'junk'",
        ),
        "0",
        "a table made after the backup is gone",
      );
      // The restored foreign key still holds.
      const orphan = spawnSync(
        "mariadb",
        [
          "--no-defaults",
          "--protocol=tcp",
          "-h",
          "127.0.0.1",
          "-P",
          String(server.port),
          "-u",
          "app",
        ].concat(["-e", "INSERT INTO tags (note_id, tag) VALUES (99, 'orphan')", "app"]),
        { encoding: "utf8", env: { PATH: process.env.PATH, MYSQL_PWD: PASSWORD } },
      );
      assert.notEqual(orphan.status, 0, "the restored foreign key refuses an orphan");
    });

    it("drills the newest run: loads its dump into a scratch MariaDB and finds every table's rows as counted at backup time", () => {
      const backup = run("backup", { PSF_BACKUP_TIME: "2024-03-04T03:00:00" });
      assert.equal(backup.status, 0, `${backup.stdout}\n${backup.stderr}`);
      const drill = run("drill");
      assert.equal(drill.status, 0, `${drill.stdout}\n${drill.stderr}`);
      assert.match(
        drill.stderr,
        /DRILL PASSED: app-2024-03-04T03:00:00 \(\d+ files checked, 2 tables' row counts checked\)/,
      );
    });

    it("counts the rows of the dump's own snapshot: a write sent after the count and before the dump waits for it", () => {
      // Between the count and mariadb-dump's start, another client inserts a row. It must wait
      // for the counting session's read lock, which holds until the dump's snapshot has begun;
      // else the dump would have a row the counts lack, and the drill would fail.
      const racing = fakeDump(
        "racing-dump",
        [
          `mariadb --no-defaults --protocol=tcp -h 127.0.0.1 -P ${server.port} -u app -e "INSERT INTO notes VALUES (50, 'written as the dump starts', NULL, NULL)" app &`,
          'sleep 2; real "$@"; wait $!',
        ].join("\n"),
      );
      const backup = run("backup", { PSF_BACKUP_TIME: "2024-03-05T03:00:00" }, racing);
      assert.equal(backup.status, 0, `${backup.stdout}\n${backup.stderr}`);
      assert.equal(asApp("SELECT COUNT(*) FROM notes WHERE id = 50"), "1", "the insert landed");
      const drill = run("drill");
      assert.equal(drill.status, 0, `${drill.stdout}\n${drill.stderr}`);
      assert.match(drill.stderr, /DRILL PASSED: app-2024-03-05T03:00:00/);
      asApp("DELETE FROM notes WHERE id = 50");
    });

    it("fails a drill whose dump lost a row, naming the table", () => {
      // A mariadb-dump that silently leaves out one row of notes: the backup itself succeeds.
      const lossy = fakeDump(
        "lossy-dump",
        'real "$1" --skip-extended-insert "${@:2}" | awk \'/^INSERT INTO `notes` / && !dropped { dropped = 1; next } { print }\'',
      );
      const want = asApp("SELECT COUNT(*) FROM notes");
      const backup = run("backup", { PSF_BACKUP_TIME: "2024-03-06T03:00:00" }, lossy);
      assert.equal(backup.status, 0, `${backup.stdout}\n${backup.stderr}`);
      const drill = run("drill");
      assert.equal(drill.status, 1, drill.stderr);
      assert.match(
        drill.stderr,
        new RegExp(
          `DRILL FAILED: .*table notes: ${want} rows at backup time, ${Number(want) - 1} restored`,
        ),
      );
    });

    it("fails, naming the service, and keeps no run when the database refuses the login", () => {
      const r = run("backup", {
        PSF_BACKUP_TIME: "2024-03-02T03:00:00",
        PSF_DB_PASSWORD: "wrong",
      });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /app/);
      assert.match(r.stderr, /database dump failed/);
      const list = run("list");
      assert.equal(list.status, 0, list.stderr);
      assert.match(list.stdout, /2024-03-01T03:00:00/);
      assert.match(list.stdout, /2024-03-06T03:00:00/);
      assert.doesNotMatch(list.stdout, /2024-03-02T03:00:00/);
    });
  });
}
