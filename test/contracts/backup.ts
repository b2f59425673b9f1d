import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import { createHash, createHmac, randomBytes } from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { evaluate } from "../../cli/mock-engine";
import { readRecords, serviceStatuses, statusTable } from "../../cli/status-command";
import { readStackFile } from "../../components/stack-file";
import { ContractDefinition, ContractResult, Outputs } from "../../components/contract";
import { validateConfig } from "../../components/program";
import { snapshotNamed } from "../../components/pre-change-snapshot";
import { ProviderInstance } from "../../components/provider";
import { Target } from "../../components/targets/target";
import { Workload } from "../../components/workload";
import { registry } from "../../providers";
import { BackupRequest, DEFAULT_SCHEDULE } from "../../providers/backup/contract";
import {
  BackupJob,
  JobScripts,
  ScriptPaths,
  planJob,
  renderEnvFile,
} from "../../providers/backup/job";
import { freshnessScript } from "../../providers/backup/status-parts";
import { DatabaseResult } from "../../providers/database/contract";
import { dumpEnvOf } from "../../providers/database/login-env";
import { POSTGRES_DUMP } from "../../providers/database/postgres-dump";
import { valueOf } from "../support/mocks";
import { PG_BIN, TestPostgres, requireProgram, startPostgres } from "../support/real";

/**
 * The backup contract, as every backup provider must honour it with its real program: the
 * provider's own scripts back up volumes, paths and a PostgreSQL database, restore each run
 * byte for byte and row for row, prune per service by the retention policy, and fail loudly
 * (non-zero, a FAILED line naming the service) instead of skipping anything.
 */
export interface BackupAdapter {
  /** Real programs the scripts run. */
  programs: string[];
  /** The provider's scripts for a job, with the suite's paths. */
  scripts(job: BackupJob, paths: ScriptPaths): JobScripts;
  /** Environment pointing the scripts at a (not yet created) repository inside `dir`. */
  repositoryEnv(dir: string): Record<string, string>;
  /** Every run in the repository, read with the tool itself (not the scripts), sorted. */
  allRuns(env: Record<string, string>): string[];
  /** How many archives or snapshots the repository holds, whatever they are. */
  countSnapshots(env: Record<string, string>): number;
  /** Changes when the repository is initialised again. */
  repositoryId(env: Record<string, string>): string;
  /** Damages stored data so that a repository check must fail. */
  corrupt(env: Record<string, string>): void;
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

const SERVICE_VOLUMES = { data: "/data", media: "/srv/media" };
const PASSWORD = "app-db-password";

/** Runs a tool for an adapter, failing the test with its output when it fails. */
export function tool(cmd: string, args: string[], env: Record<string, string>): string {
  const r = spawnSync(cmd, args, { env: { PATH: process.env.PATH!, ...env }, encoding: "utf8" });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The largest file under `dir` (a data segment or pack), with bytes in its middle flipped. */
export function flipBytesInLargestFile(dir: string): void {
  let best = { file: "", size: -1 };
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && fs.statSync(p).size > best.size)
        best = { file: p, size: fs.statSync(p).size };
    }
  };
  walk(dir);
  fs.chmodSync(best.file, 0o644);
  const buf = fs.readFileSync(best.file);
  const mid = Math.floor(buf.length / 2);
  for (let i = mid; i < Math.min(mid + 64, buf.length); i++) buf[i] ^= 0xff;
  fs.writeFileSync(best.file, buf);
}

/**
 * The tree under `dir` as path → "file <sha256> <mode>", "dir <mode>" or "link <target>".
 * `skip` leaves out what a backup should exclude: the expectation, computed by the suite.
 */
function tree(dir: string, skip: (rel: string) => boolean = () => false): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (skip(r)) continue;
      const p = path.join(dir, r);
      const st = fs.lstatSync(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out[r] = `link ${fs.readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[r] = `dir ${mode}`;
        walk(r);
      } else
        out[r] = `file ${createHash("sha256").update(fs.readFileSync(p)).digest("hex")} ${mode}`;
    }
  };
  walk("");
  return out;
}

/** Bytes of the files under `dir`, leaving out what `skip` matches (relative paths). */
function duBytes(dir: string, skip: (rel: string) => boolean): number {
  let n = 0;
  for (const [rel, v] of Object.entries(tree(dir, skip)))
    if (v.startsWith("file ")) n += fs.statSync(path.join(dir, rel)).size;
  return n;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A local HTTP server that records every request (headers, raw body) and answers 204. */
async function webhookReceiver(): Promise<{
  url: string;
  received: Array<{ headers: http.IncomingHttpHeaders; body: Buffer }>;
  close(): Promise<void>;
}> {
  const received: Array<{ headers: http.IncomingHttpHeaders; body: Buffer }> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/psf-hook`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export function backupContractSuite(provider: string, adapter: BackupAdapter): void {
  describe(`${provider} honours the backup contract (real ${adapter.programs.join(", ")} and PostgreSQL)`, function () {
    let dir: string;
    let pg: TestPostgres;
    let root: string;
    let paths: ScriptPaths;
    let repoEnv: Record<string, string>;
    let dbEnv: Record<string, string>;
    const scripts: Record<string, Record<keyof JobScripts, string>> = {};
    const expected: Array<{
      run: string;
      files: Record<string, Record<string, string>>;
      rows: string;
    }> = [];

    const vol = (...p: string[]) => path.join(root, "volumes", ...p);
    // The suite's own idea of what the request excludes: *.tmp anywhere, and /data/cache.
    const excluded = (rel: string) => rel.endsWith(".tmp") || rel === "cache";
    const backedUp = () => ({
      data: tree(vol("data"), excluded),
      keep: tree(vol("media", "keep")),
    });
    const present = () => ({ data: tree(vol("data")), keep: tree(vol("media", "keep")) });
    const asApp = (sql: string) => pg.query(`SET ROLE app; ${sql}`, "app").replace(/^SET\n?/, "");
    const rows = () => asApp("SELECT id, body, encode(blob, 'hex') FROM notes ORDER BY id");

    /** Writes the job's scripts for a service (once) and runs one of them with the env file. */
    function run(
      service: string,
      which: keyof JobScripts,
      args: string[] = [],
      env: Record<string, string> = {},
      pathPrefix = "",
    ): Run {
      const bin = path.join(dir, "bin", service);
      const file = path.join(bin, `psf-${which}`);
      if (!scripts[service]) throw new Error(`no job for ${service}`);
      fs.mkdirSync(bin, { recursive: true });
      fs.writeFileSync(file, scripts[service][which], { mode: 0o755 });
      fs.writeFileSync(
        paths.envFile,
        renderEnvFile({ ...repoEnv, ...dbEnv, PSF_MAINTENANCE: "never", ...env }),
        { mode: 0o600 },
      );
      const r = spawnSync("bash", [file, ...args], {
        env: { PATH: pathPrefix + process.env.PATH!, HOME: path.join(dir, "home") },
        encoding: "utf8",
      });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    }
    const ok = (r: Run) => assert.equal(r.status, 0, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
    /** The service's last status record of a kind, as the job wrote it. */
    const record = (service: string, kind: "backup" | "drill") =>
      JSON.parse(fs.readFileSync(path.join(paths.statusDir, `${service}.${kind}.json`), "utf8"));
    /** As `run`, without blocking the event loop (a webhook receiver runs in this process). */
    const runAsync = (service: string, which: keyof JobScripts, env: Record<string, string>) => {
      fs.writeFileSync(
        paths.envFile,
        renderEnvFile({ ...repoEnv, ...dbEnv, PSF_MAINTENANCE: "never", ...env }),
        { mode: 0o600 },
      );
      const file = path.join(dir, "bin", service, `psf-${which}`);
      fs.writeFileSync(file, scripts[service][which], { mode: 0o755 });
      return runFile(file);
    };
    const runFile = (file: string) =>
      new Promise<Run>((resolve) => {
        const child = spawn("bash", [file], {
          env: { PATH: process.env.PATH!, HOME: path.join(dir, "home") },
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("close", (status) => resolve({ status, stdout, stderr }));
      });
    const addJob = (service: string, req: Partial<BackupRequest>) => {
      const full: BackupRequest = { volumes: [], paths: [], excludes: [], database: false, ...req };
      const job = planJob(
        service,
        full,
        SERVICE_VOLUMES,
        { schedule: DEFAULT_SCHEDULE, checkWeekday: 0 },
        true,
      );
      // The postgres provider's own dump and restore, as its result hands them to the job.
      scripts[service] = adapter.scripts(
        full.database ? { ...job, database: POSTGRES_DUMP } : job,
        paths,
      );
    };
    const backupAt = (service: string, time: string, env: Record<string, string> = {}) =>
      run(service, "backup", [], { PSF_BACKUP_TIME: time, ...env });
    const destroy = () => {
      for (const d of [vol("data"), vol("media", "keep")])
        fs.rmSync(d, { recursive: true, force: true });
      fs.mkdirSync(vol("data"));
      fs.writeFileSync(vol("data", "stray.txt"), "made after every backup\n");
      asApp("DROP TABLE notes; CREATE TABLE junk (x int); INSERT INTO junk VALUES (1)");
    };
    const assertRestored = (i: number) => {
      assert.deepEqual(present(), expected[i].files, `files of ${expected[i].run}`);
      assert.equal(rows(), expected[i].rows, `rows of ${expected[i].run}`);
      assert.equal(
        asApp("SELECT count(*) FROM pg_tables WHERE tablename = 'junk'"),
        "0",
        "objects made after the backup are gone",
      );
      assert.equal(
        fs.readFileSync(vol("media", "skip", "other.txt"), "utf8"),
        "not backed up\n",
        "what is not backed up is left alone",
      );
    };

    before(function () {
      for (const p of [...adapter.programs, "pg_dump", "psql"]) requireProgram(this, p);
      requireProgram(this, `${PG_BIN}/initdb`);
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `psf-${provider}-`));
      root = path.join(dir, "root");
      paths = {
        backupRoot: root,
        restoreRoot: root,
        envFile: path.join(dir, "backup.env"),
        statusDir: path.join(dir, "status"),
      };
      repoEnv = adapter.repositoryEnv(dir);
      pg = startPostgres();
      pg.query(`CREATE ROLE app LOGIN PASSWORD '${PASSWORD}'`);
      pg.query("CREATE DATABASE app OWNER app");
      // As the postgres provider does: extensions belong to the superuser.
      pg.query("CREATE EXTENSION pg_trgm", "app");
      dbEnv = dumpEnvOf({
        host: pg.host,
        port: pg.port,
        database: "app",
        user: "app",
        password: PASSWORD,
      });

      fs.mkdirSync(vol("data", "nested", "deeper"), { recursive: true });
      fs.mkdirSync(vol("data", "cache"), { recursive: true });
      fs.mkdirSync(vol("media", "keep", "2024"), { recursive: true });
      fs.mkdirSync(vol("media", "skip"), { recursive: true });
      fs.writeFileSync(vol("data", "readme.txt"), "first version\n");
      fs.writeFileSync(vol("data", "blob.bin"), randomBytes(300_000));
      fs.writeFileSync(vol("data", "nested", "deeper", "leaf.json"), '{"deep": true}\n');
      fs.writeFileSync(vol("data", "empty"), "");
      fs.writeFileSync(vol("data", "name with spaces & ünïcode.txt"), "odd name\n");
      fs.writeFileSync(vol("data", "secret.key"), "private\n", { mode: 0o600 });
      fs.symlinkSync("readme.txt", vol("data", "link-to-readme"));
      fs.writeFileSync(vol("data", "scratch.tmp"), "excluded by name\n");
      fs.writeFileSync(vol("data", "nested", "deep.tmp"), "excluded by name, deeper\n");
      fs.writeFileSync(vol("data", "cache", "big"), randomBytes(1000));
      fs.writeFileSync(vol("media", "keep", "2024", "photo.jpg"), randomBytes(50_000));
      fs.writeFileSync(vol("media", "skip", "other.txt"), "not backed up\n");
      asApp(
        "CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL, blob bytea); COMMENT ON TABLE notes IS 'kept'",
      );
      asApp(
        "INSERT INTO notes VALUES (1, 'first', '\\x00ff'), (2, 'it''s a \"quote\"\ttab', NULL)",
      );

      addJob("app", {
        volumes: ["data"],
        paths: ["/srv/media/keep"],
        excludes: ["*.tmp", "/data/cache"],
        database: true,
        retention: { daily: 3, weekly: 0, monthly: 0, yearly: 0 },
      });
    });

    after(() => {
      pg?.stop();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("backs up volumes, paths and the database twice, and lists both runs", function () {
      const first = backupAt("app", "2024-03-01T03:00:00");
      ok(first);
      // The snapshot before a risky change reads the run's name from the job's output.
      assert.equal(snapshotNamed(first.stdout + first.stderr), "app-2024-03-01T03:00:00");
      expected.push({ run: "app-2024-03-01T03:00:00", files: backedUp(), rows: rows() });
      fs.writeFileSync(vol("data", "readme.txt"), "second version\n");
      fs.writeFileSync(vol("data", "nested", "new.txt"), "added\n");
      fs.rmSync(vol("data", "empty"));
      const blob = fs.readFileSync(vol("data", "blob.bin"));
      blob.write("changed", 150_000);
      fs.writeFileSync(vol("data", "blob.bin"), blob);
      fs.chmodSync(vol("data", "readme.txt"), 0o640);
      asApp(
        "UPDATE notes SET body = 'first, edited' WHERE id = 1; DELETE FROM notes WHERE id = 2; INSERT INTO notes VALUES (3, 'third', '\\xdeadbeef')",
      );
      ok(backupAt("app", "2024-03-02T03:00:00"));
      expected.push({ run: "app-2024-03-02T03:00:00", files: backedUp(), rows: rows() });
      assert.notDeepEqual(expected[0].files, expected[1].files);
      assert.notEqual(expected[0].rows, expected[1].rows);

      const listed = run("app", "list");
      ok(listed);
      assert.deepEqual(
        listed.stdout.trim().split("\n"),
        expected.map((e) => e.run),
      );
      assert.deepEqual(
        adapter.allRuns(repoEnv),
        expected.map((e) => e.run),
      );
    });

    it("restores the first run byte for byte and row for row, replacing what is there", function () {
      destroy();
      ok(run("app", "restore", [expected[0].run]));
      assertRestored(0);
      assert.equal(asApp("SELECT obj_description('notes'::regclass)"), "kept");
    });

    it("restores the second run byte for byte and row for row", function () {
      destroy();
      ok(run("app", "restore", [expected[1].run]));
      assertRestored(1);
    });

    it("restores the latest run when no run is named", function () {
      destroy();
      ok(run("app", "restore"));
      assertRestored(1);
    });

    it("refuses to restore a run that does not exist, says so, and changes nothing", function () {
      const before = present();
      const r = run("app", "restore", ["app-1999-01-01T00:00:00"]);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /"app-1999-01-01T00:00:00"/);
      assert.match(r.stderr, /psf-restore: service app: FAILED \(exit [1-9]/);
      assert.deepEqual(present(), before);
      assert.equal(rows(), expected[1].rows);
    });

    it("prunes each service to its retention policy, never another service's runs", function () {
      // `app-2` shares the repository and the `app-` prefix; it keeps two days.
      addJob("app-2", {
        volumes: ["data"],
        retention: { daily: 2, weekly: 0, monthly: 0, yearly: 0 },
      });
      for (const t of [
        "2024-01-01T03:00:00",
        "2024-01-02T03:00:00",
        "2024-01-03T03:00:00",
        "2024-01-03T09:00:00",
      ])
        ok(backupAt("app-2", t));
      // The newest run of each of the last two days.
      const app2 = ["app-2-2024-01-02T03:00:00", "app-2-2024-01-03T09:00:00"];
      const app = expected.map((e) => e.run);
      assert.deepEqual(run("app-2", "list").stdout.trim().split("\n"), app2);
      assert.deepEqual(adapter.allRuns(repoEnv), [...app, ...app2].sort());
      // And app's own pruning (three days) leaves app-2's older runs alone.
      ok(backupAt("app", "2024-03-03T03:00:00"));
      assert.deepEqual(
        adapter.allRuns(repoEnv),
        [...app, "app-2024-03-03T03:00:00", ...app2].sort(),
      );
    });

    it("refuses to restore another service's run, even one whose name starts with its own", function () {
      const before = present();
      const r = run("app", "restore", ["app-2-2024-01-03T09:00:00"]);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /psf-restore: service app: FAILED/);
      assert.deepEqual(present(), before);
      assert.equal(rows(), expected[1].rows);
    });

    it("drills the newest run: restores it into scratch space, loads the dump into a scratch server, and passes", function () {
      const live = { files: present(), rows: rows() };
      const r = run("app", "drill");
      ok(r);
      assert.match(
        r.stderr,
        /psf-drill: service app: DRILL PASSED: app-2024-03-03T03:00:00 \(\d+ files checked, 1 tables' row counts checked\)/,
      );
      assert.match(r.stderr, /loading the dump into a scratch database server/);
      assert.deepEqual({ files: present(), rows: rows() }, live, "the service's data is untouched");
      const drill = record("app", "drill");
      assert.equal(drill.result, "ok");
      assert.equal(drill.snapshot, "app-2024-03-03T03:00:00");
      assert.equal(drill.error, null);
      // Files checked: the suite's own count of what the request backs up.
      const files = [backedUp().data, backedUp().keep].flatMap((t) =>
        Object.values(t).filter((v) => v.startsWith("file ")),
      ).length;
      assert.match(drill.summary, new RegExp(`^${files} files checked`));
    });

    it("drills a named run against the facts recorded with that run", function () {
      const r = run("app", "drill", [expected[0].run]);
      ok(r);
      assert.match(r.stderr, new RegExp(`DRILL PASSED: ${expected[0].run}`));
      const other = run("app", "drill", ["app-1999-01-01T00:00:00"]);
      assert.notEqual(other.status, 0);
      assert.match(other.stderr, /there is no (archive|snapshot) named "app-1999-01-01T00:00:00"/);
      assert.equal(record("app", "drill").result, "failed");
    });

    it("records each backup's outcome (time, size, run, result) and metrics promtool accepts", function () {
      requireProgram(this, "promtool");
      const started = Math.floor(Date.now() / 1000);
      ok(backupAt("app", "2024-03-03T09:00:00"));
      const backup = record("app", "backup");
      assert.equal(backup.result, "ok");
      assert.equal(backup.kind, "backup");
      assert.equal(backup.snapshot, "app-2024-03-03T09:00:00");
      assert.ok(backup.timestamp >= started && backup.timestamp <= Date.now() / 1000 + 1);
      // At least the bytes of the files backed up (the dump adds its own).
      const fileBytes = ["data", "media/keep"].reduce((n, v) => n + duBytes(vol(v), excluded), 0);
      assert.ok(backup.sizeBytes >= fileBytes, `${backup.sizeBytes} < ${fileBytes}`);
      assert.equal(backup.maxAgeSeconds, 2 * 86400, "twice a daily schedule");
      assert.deepEqual(backup.lastOk, {
        timestamp: backup.timestamp,
        sizeBytes: backup.sizeBytes,
        snapshot: backup.snapshot,
      });
      for (const kind of ["backup", "drill"]) {
        const prom = path.join(paths.statusDir, `app.${kind}.prom`);
        const check = spawnSync("promtool", ["check", "metrics"], {
          input: fs.readFileSync(prom),
          encoding: "utf8",
        });
        assert.equal(check.status, 0, `${prom}: ${check.stdout}${check.stderr}`);
      }
      const metrics = fs.readFileSync(path.join(paths.statusDir, "app.backup.prom"), "utf8");
      assert.match(
        metrics,
        new RegExp(
          `^psf_backup_last_success_timestamp_seconds\\{service="app"\\} ${backup.timestamp}$`,
          "m",
        ),
      );
      assert.match(metrics, /^psf_backup_last_run_success\{service="app"\} 1$/m);
      // A failed run keeps the last good one in its record.
      const failed = backupAt("app", "not-a-time");
      assert.notEqual(failed.status, 0);
      const after = record("app", "backup");
      assert.equal(after.result, "failed");
      assert.match(after.error, /PSF_BACKUP_TIME must look like/);
      assert.deepEqual(after.lastOk, backup.lastOk);
      assert.match(
        fs.readFileSync(path.join(paths.statusDir, "app.backup.prom"), "utf8"),
        /^psf_backup_last_run_success\{service="app"\} 0$/m,
      );
      const listed = run("app", "status");
      ok(listed);
      assert.deepEqual(
        listed.stdout
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l).kind),
        ["backup", "drill"],
      );
    });

    it("fails a drill whose dump lost rows, naming the table, and sends a signed alert", async function () {
      // A pg_dump that silently leaves out a row of notes: the backup itself succeeds.
      const fake = path.join(dir, "lossy-pg-dump");
      fs.mkdirSync(fake, { recursive: true });
      const realPgDump = spawnSync("sh", ["-c", "command -v pg_dump"], {
        encoding: "utf8",
      }).stdout.trim();
      fs.writeFileSync(
        path.join(fake, "pg_dump"),
        `#!/bin/bash\nset -o pipefail\n${realPgDump} "$@" | awk 'copy && !dropped && $0 != "\\\\." { dropped = 1; next } /^COPY public.notes / { copy = 1 } /^\\\\.$/ { copy = 0 } { print }'\n`,
        { mode: 0o755 },
      );
      addJob("lossy", { database: true });
      const want = asApp("SELECT count(*) FROM notes");
      ok(run("lossy", "backup", [], { PSF_BACKUP_TIME: "2024-03-03T03:00:00" }, `${fake}:`));
      const hook = await webhookReceiver();
      try {
        const secret = "webhook-signing-secret";
        const r = await runAsync("lossy", "drill", {
          PSF_ALERT_URL: hook.url,
          PSF_ALERT_SECRET: secret,
        });
        assert.equal(r.status, 1, r.stderr);
        assert.match(
          r.stderr,
          new RegExp(
            `DRILL FAILED: .*table public.notes: ${want} rows at backup time, ${Number(want) - 1} restored`,
          ),
        );
        const drill = record("lossy", "drill");
        assert.equal(drill.result, "failed");
        assert.match(drill.error, /public.notes/);
        // The alert: one POST, its signature an HMAC-SHA256 of the raw body with the secret.
        assert.equal(hook.received.length, 1);
        const [req] = hook.received;
        const expectedSig = createHmac("sha256", secret).update(req.body).digest("hex");
        assert.equal(req.headers["x-psf-signature-256"], `sha256=${expectedSig}`);
        assert.equal(req.headers["x-psf-event"], "drill.failed");
        const body = JSON.parse(req.body.toString("utf8"));
        assert.equal(body.event, "drill.failed");
        assert.equal(body.record.service, "lossy");
        assert.equal(body.record.error, drill.error);
        assert.doesNotMatch(req.body.toString("utf8"), new RegExp(secret));
      } finally {
        await hook.close();
      }
      // What psf status makes of it, reading the records with the job's own psf-status.
      ok(run("lossy", "status"));
      const now = Date.now() / 1000;
      const rows = await serviceStatuses(
        {
          lossy: {
            url: "https://lossy.example.org",
            healthCommand: "echo healthy",
            backupStatusCommand: `bash ${path.join(dir, "bin", "lossy", "psf-status")}`,
          },
          gone: {
            healthCommand: "echo 'Error: No such container: psf-x' >&2; exit 1",
            backupStatusCommand: "echo 'Error: No such container: psf-x' >&2; exit 1",
          },
          plain: { url: "https://plain.example.org" },
        },
        readRecords,
        (t) => t,
        now,
      );
      const drill = record("lossy", "drill");
      assert.deepEqual(
        rows.map((r) => [r.name, r.backup?.alerts]),
        [
          ["gone", ["backup status unreadable"]],
          ["lossy", [`drill failed: ${drill.error}`]],
          ["plain", undefined],
        ],
      );
      const table = statusTable(rows, now).split("\n");
      assert.match(
        table[2],
        /^lossy +https:\/\/lossy\.example\.org +healthy +ok \d+ s ago, [\d.]+ k?B \(lossy-2024-03-03T03:00:00\) +FAILED \d+ s ago \(lossy-2024-03-03T03:00:00\) +drill failed: /,
      );
      assert.match(table[1], /^gone +- +unknown +unknown \(/);
      assert.match(table[3], /^plain +https:\/\/plain\.example\.org +- +no backup +- +-$/);
    });

    it("sends one signed backup.stale alert when the last good backup is older than its schedule allows", async function () {
      const file = path.join(dir, "bin", "psf-freshness");
      fs.writeFileSync(file, freshnessScript(["app", "never-backed-up"], paths), {
        mode: 0o755,
      });
      const app = record("app", "backup");
      const secret = "webhook-signing-secret";
      const hook = await webhookReceiver();
      const check = async (now: number) => {
        fs.writeFileSync(
          paths.envFile,
          renderEnvFile({
            PSF_ALERT_URL: hook.url,
            PSF_ALERT_SECRET: secret,
            PSF_FRESHNESS_NOW: String(now),
          }),
          { mode: 0o600 },
        );
        const r = await runFile(file);
        assert.equal(r.status, 0, r.stderr);
        return r;
      };
      try {
        // Fresh: nothing. Stale: one alert for app. Still stale: no second one.
        await check(app.lastOk.timestamp + 60);
        assert.equal(hook.received.length, 0);
        const stale = app.lastOk.timestamp + app.maxAgeSeconds + 3600;
        const r = await check(stale);
        assert.match(
          r.stderr,
          /service app: the last good backup is 49 h old \(stale after 48 h\)/,
        );
        await check(stale + 3600);
        assert.equal(hook.received.length, 1, "one alert per stale backup");
        const [req] = hook.received;
        assert.equal(
          req.headers["x-psf-signature-256"],
          `sha256=${createHmac("sha256", secret).update(req.body).digest("hex")}`,
        );
        const body = JSON.parse(req.body.toString("utf8"));
        assert.equal(body.event, "backup.stale");
        assert.equal(body.service, "app");
        assert.equal(body.ageSeconds, app.maxAgeSeconds + 3600);
        assert.deepEqual(body.record, app);
      } finally {
        await hook.close();
      }
    });

    it("fails loudly, naming the service, when the database is unreachable, and keeps no run", function () {
      const before = { runs: adapter.allRuns(repoEnv), count: adapter.countSnapshots(repoEnv) };
      const r = backupAt("app", "2024-03-04T03:00:00", {
        PSF_DB_HOST: "127.0.0.1",
        PSF_DB_PORT: "1",
      });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /psf-backup: service app: FAILED \(exit [1-9][0-9]*\)/);
      assert.match(r.stderr, /database dump failed/);
      assert.deepEqual(
        { runs: adapter.allRuns(repoEnv), count: adapter.countSnapshots(repoEnv) },
        before,
      );
    });

    it("keeps no run when the database dump breaks off midway", function () {
      const before = { runs: adapter.allRuns(repoEnv), count: adapter.countSnapshots(repoEnv) };
      // A pg_dump that has sent part of a dump when the connection drops.
      const fake = path.join(dir, "broken-pg-dump");
      fs.mkdirSync(fake, { recursive: true });
      fs.writeFileSync(
        path.join(fake, "pg_dump"),
        "#!/bin/sh\necho 'CREATE TABLE half (x int);'\nhead -c 100000 /dev/zero | tr '\\0' x\necho\nexit 1\n",
        { mode: 0o755 },
      );
      const r = run("app", "backup", [], { PSF_BACKUP_TIME: "2024-03-04T04:00:00" }, `${fake}:`);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /psf-backup: service app: FAILED/);
      assert.match(r.stderr, /database dump failed/);
      assert.deepEqual(
        { runs: adapter.allRuns(repoEnv), count: adapter.countSnapshots(repoEnv) },
        before,
      );
    });

    it("fails when a path to back up is missing, instead of skipping it", function () {
      const before = adapter.allRuns(repoEnv);
      fs.renameSync(vol("media", "keep"), vol("media", "keep-away"));
      try {
        const r = backupAt("app", "2024-03-05T03:00:00");
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /volumes\/media\/keep does not exist/);
        assert.match(r.stderr, /psf-backup: service app: FAILED/);
        assert.deepEqual(adapter.allRuns(repoEnv), before);
      } finally {
        fs.renameSync(vol("media", "keep-away"), vol("media", "keep"));
      }
    });

    it("never initialises an existing repository again, even when its passphrase is wrong", function () {
      const id = adapter.repositoryId(repoEnv);
      const before = adapter.allRuns(repoEnv);
      const wrong = Object.fromEntries(
        Object.entries(repoEnv).map(([k, v]) => [k, /PASS/.test(k) ? `${v}-wrong` : v]),
      );
      const r = run("app", "backup", [], { ...wrong, PSF_BACKUP_TIME: "2024-03-06T03:00:00" });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /psf-backup: service app: FAILED/);
      assert.equal(adapter.repositoryId(repoEnv), id);
      assert.deepEqual(adapter.allRuns(repoEnv), before);
    });

    it("backs up and restores a service that has only a database", function () {
      addJob("dbonly", { database: true });
      const files = present();
      ok(backupAt("dbonly", "2024-03-06T03:00:00"));
      const kept = rows();
      asApp("DELETE FROM notes; INSERT INTO notes VALUES (9, 'after the backup', NULL)");
      assert.deepEqual(run("dbonly", "list").stdout.trim().split("\n"), [
        "dbonly-2024-03-06T03:00:00",
      ]);
      ok(run("dbonly", "restore"));
      assert.equal(rows(), kept);
      assert.deepEqual(present(), files, "no file is touched");
      assert.deepEqual(
        fs.readdirSync(root),
        ["volumes"],
        "nothing is extracted beside the volumes",
      );
    });

    it("checks the repository in maintenance, and fails when its data is damaged", function () {
      ok(backupAt("app", "2024-03-07T03:00:00", { PSF_MAINTENANCE: "always" }));
      adapter.corrupt(repoEnv);
      const r = backupAt("app", "2024-03-08T03:00:00", { PSF_MAINTENANCE: "always" });
      assert.notEqual(r.status, 0, `a check passed a damaged repository:\n${r.stderr}`);
      assert.match(r.stderr, /psf-backup: service app: FAILED/);
    });

    it("fails a drill of the damaged repository and says why", function () {
      const r = run("app", "drill");
      assert.notEqual(r.status, 0, `a drill passed a damaged repository:\n${r.stderr}`);
      assert.match(r.stderr, /psf-drill: service app: FAILED \(exit [1-9]/);
      const drill = record("app", "drill");
      assert.equal(drill.result, "failed");
      assert.ok(drill.error.length > 10, drill.error);
      assert.match(r.stderr, new RegExp(escapeRe(drill.error)));
    });
  });
}

// ---------------------------------------------------------------- mocked engine helpers

/** What a backup provider declared through a recording target, and its results. */
export interface DeclaredJobs {
  /** The backup jobs, in the requests' order. */
  workloads: Workload[];
  /** The scheduled drills (`drill-<service>`), in the same order. */
  drills: Workload[];
  results: Record<string, ContractResult>;
  images: string[];
}

/** A workload's mounts as `owner/volume path[ ro]`, in order. */
export const mountsOf = (w: Workload) =>
  w.volumes!.map(
    (m) => `${m.volume.owner}/${m.volume.name} ${m.mountPath}${m.readOnly ? " ro" : ""}`,
  );

/** Each job's backup script (`/usr/local/bin/psf-backup`), in the jobs' order. */
export const backupScripts = (workloads: Workload[]): Promise<string[]> =>
  Promise.all(
    workloads.map(async (w) =>
      String(await valueOf(w.files!.find((f) => f.path === "/usr/local/bin/psf-backup")!.content)),
    ),
  );

/** The backup fixture a user would write, as raw `psf:` config (`use` switched to `provider`). */
export function backupFixture(provider: string): any {
  const raw = structuredClone(
    readStackFile(path.join(__dirname, "..", "providers", "fixtures", "Pulumi.backup.yaml")).raw,
  ) as any;
  raw.providers.backup.use = provider;
  return raw;
}

/**
 * Builds the stack's backup provider under the mocked engine with a target that records
 * workloads. Database results stand in for the postgres provider's (password `db-pw-<name>`).
 */
export async function declareBackup(raw: any): Promise<DeclaredJobs> {
  const { plan, issues } = validateConfig(raw, "test", registry);
  assert.deepEqual(issues, []);
  const p = plan!.providers.find((x) => x.contract === "backup")!;
  const workloads: Workload[] = [];
  const drills: Workload[] = [];
  const images: string[] = [];
  const target: Target = {
    kind: "docker",
    deploy: (w) => {
      (w.name.startsWith("drill-") ? drills : workloads).push(w);
      return {
        address: w.name,
        resources: [],
        exec: (cmd) => pulumi.output(`exec ${w.name} ${cmd.join(" ")}`),
        runNow: pulumi.output(`run ${w.name}`),
      };
    },
    address: (n) => n,
    volume: () => {
      throw new Error("providers mount volumes through workloads");
    },
  };
  let instance: ProviderInstance | undefined;
  await evaluate(registry, {}, "test", () => {
    instance = p.definition.create(
      p.definition.name,
      {
        settings: p.settings,
        requests: p.requests,
        stack: plan!.stack,
        target,
        result: <Result>(contract: ContractDefinition<any, Result>, requester: string) =>
          contract === registry.contracts.database
            ? (postgresResult(requester) as unknown as Outputs<Result>)
            : undefined,
        publicUrl: (host) => `https://${host}`,
        shared: () => undefined,
        configSecret: (name) =>
          raw.secrets?.[name] === undefined ? undefined : pulumi.secret(String(raw.secrets[name])),
        image: (key, fallback) => (
          images.push(`${key}=${fallback}`),
          raw.images?.[key] ?? fallback
        ),
      },
      {},
    );
  });
  return { workloads, drills, results: instance!.results, images };
}

/** The postgres provider's result for `requester` (password `db-pw-<name>`), as a backup job reads it. */
function postgresResult(requester: string): Partial<Outputs<DatabaseResult>> {
  const login = {
    host: "postgres",
    port: 5432,
    database: requester,
    user: requester,
    password: `db-pw-${requester}`,
  };
  return {
    host: pulumi.output(login.host),
    port: pulumi.output(login.port),
    database: pulumi.output(login.database),
    user: pulumi.output(login.user),
    password: pulumi.secret(login.password),
    dump: pulumi.output(POSTGRES_DUMP),
    dumpEnv: pulumi.secret(dumpEnvOf(login)),
  };
}

/** The variables a job's env file sets, as bash reads it (`set -a; . file`). */
export async function envFileAsBashReadsIt(
  w: Workload,
  names: string[],
): Promise<Record<string, string | undefined>> {
  const file = w.files!.find((f) => f.path === "/etc/psf/backup.env")!;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-env-"));
  try {
    fs.writeFileSync(path.join(dir, "env"), String(await valueOf(file.content)));
    const script = `set -a; . "$1"; set +a; for v in ${names.join(" ")}; do if [ -n "\${!v+x}" ]; then printf '%s=%s\\0' "$v" "\${!v}"; fi; done`;
    const out = spawnSync("bash", ["-c", script, "bash", path.join(dir, "env")], {
      env: { PATH: process.env.PATH! },
      encoding: "utf8",
    });
    assert.equal(out.status, 0, out.stderr);
    const vars: Record<string, string | undefined> = {};
    for (const entry of out.stdout.split("\0").filter(Boolean))
      vars[entry.slice(0, entry.indexOf("="))] = entry.slice(entry.indexOf("=") + 1);
    return vars;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
