import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { evaluate, mask } from "../../cli/mock-engine";
import { Outputs } from "../../components/contract";
import { runProgram, validateConfig } from "../../components/program";
import { ProviderArgs, ProviderDefinition, ProviderInstance } from "../../components/provider";
import { Registry } from "../../components/registry";
import { contracts, providers } from "../../providers";
import { borg } from "../../providers/backup/borg";
import { borgScripts } from "../../providers/backup/borg-script";
import { ScriptPaths, planJob, renderEnvFile } from "../../providers/backup/job";
import { restic } from "../../providers/backup/restic";
import { resticScripts } from "../../providers/backup/restic-script";
import { DatabaseDump, DatabaseRequest, DatabaseResult } from "../../providers/database/contract";
import { backupFixture } from "../contracts/backup";
import { declaredContainer } from "../support/mocked-provider";
import { requireProgram } from "../support/real";
import { settingsWith } from "../support/settings";

/**
 * A database engine PSF has never heard of: its "database" is a file, its dump prints a header
 * and the file, its restore keeps whatever it is given. Backup providers must stream it as they
 * stream PostgreSQL, knowing no engine.
 */
const FAKE_DUMP: DatabaseDump = {
  dump: 'printf -- \'-- flatfile dump of %s\\n\' "$FLATFILE_DB"; cat -- "$FLATFILE_DIR/table"',
  restore: 'cat >"$FLATFILE_DIR/restored"',
  env: ["FLATFILE_DB", "FLATFILE_DIR"],
  programs: ["printf", "cat"],
};

class FlatFile extends pulumi.ComponentResource implements ProviderInstance<DatabaseResult> {
  readonly results: Record<string, Outputs<DatabaseResult>> = {};
  constructor(
    name: string,
    args: ProviderArgs<DatabaseRequest>,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("psf:test:FlatFile", name, {}, opts);
    for (const [requester, req] of Object.entries(args.requests)) {
      const out = (v: string) => pulumi.output(v);
      this.results[requester] = {
        host: out("flatfile"),
        port: pulumi.output(0),
        database: out(req.name),
        user: out(req.user),
        password: pulumi.secret(`flatfile-pw-${requester}`),
        url: pulumi.secret(`flatfile:///srv/${req.name}`),
        dumpCommand: out(`flatfile-dump ${req.name}`),
        restoreCommand: out(`flatfile-restore ${req.name}`),
        dump: pulumi.output(FAKE_DUMP),
        dumpEnv: pulumi.secret<Record<string, string>>({
          FLATFILE_DB: req.name,
          FLATFILE_DIR: `/srv/${req.name}`,
        }),
      };
    }
    this.registerOutputs({});
  }
}

const flatfile: ProviderDefinition<DatabaseRequest> = {
  contract: "database",
  name: "flatfile",
  description: "a test engine: one file per database",
  settings: { type: "object", fields: {} },
  create: (name, args, opts) => new FlatFile(name, args, opts),
};

/** The real contracts and providers, with flatfile as the only database provider. */
const withFlatFile: Registry = {
  contracts,
  providers: [...providers.filter((p) => p.contract !== "database"), flatfile],
};

/** The files a backup job's container is given, by path, as the program declares them. */
async function jobFiles(provider: string, job: string): Promise<Record<string, string>> {
  const raw = backupFixture(provider);
  raw.providers.database = { use: "flatfile" };
  assert.deepEqual(validateConfig(raw, "test", withFlatFile).issues, []);
  const declared = await evaluate(withFlatFile, raw, "test", (r, stackName) =>
    runProgram(withFlatFile, { raw: r, stackName }),
  );
  const uploads = (
    mask(declaredContainer(declared, job).inputs, true) as {
      uploads: Array<{ file: string; content: string }>;
    }
  ).uploads;
  return Object.fromEntries(uploads.map((u) => [u.file, u.content]));
}

for (const { name, definition, scripts, run } of [
  {
    name: "borg",
    definition: borg,
    scripts: (paths: ScriptPaths) => (dump: DatabaseDump) =>
      borgScripts({ ...dbJob(), database: dump }, settingsWith(borg), paths),
    run: (dir: string) => ({
      BORG_REPO: path.join(dir, "repo"),
      BORG_PASSPHRASE: "flat passphrase",
      BORG_BASE_DIR: path.join(dir, "borg-home"),
    }),
  },
  {
    name: "restic",
    definition: restic,
    scripts: (paths: ScriptPaths) => (dump: DatabaseDump) =>
      resticScripts({ ...dbJob(), database: dump }, settingsWith(restic), paths),
    run: (dir: string) => ({
      RESTIC_REPOSITORY: path.join(dir, "repo"),
      RESTIC_PASSWORD: "flat passphrase",
      RESTIC_CACHE_DIR: path.join(dir, "restic-cache"),
    }),
  },
]) {
  describe(`${name} backs up whatever dump the database provider gives (a second engine)`, function () {
    it("puts the provider's dump and restore commands in the job's scripts verbatim, and their env in its secret env file", async () => {
      assert.equal(definition.name, name);
      const files = await jobFiles(name, "backup-whoami");
      const backup = files["/usr/local/bin/psf-backup"];
      const restore = files["/usr/local/bin/psf-restore"];
      assert.ok(backup.includes(`psf_db_dump() {\n${FAKE_DUMP.dump}\n}`), backup);
      assert.ok(restore.includes(`psf_db_restore() {\n${FAKE_DUMP.restore}\n}`), restore);
      for (const script of [backup, restore]) {
        assert.doesNotMatch(script, /pg_dump|psql|PSF_DB_/, "nothing of PostgreSQL is left");
        assert.match(script, /for p in printf cat; do/);
        assert.match(script, /for v in FLATFILE_DB FLATFILE_DIR; do/);
      }
      assert.match(files["/etc/psf/backup.env"], /^export FLATFILE_DB=whoami$/m);
      assert.match(files["/etc/psf/backup.env"], /^export FLATFILE_DIR=\/srv\/whoami$/m);
    });

    describe(`with the real ${name}`, function () {
      let dir: string;
      let paths: ScriptPaths;
      let env: Record<string, string>;
      let rendered: ReturnType<ReturnType<typeof scripts>>;
      const table = () => path.join(dir, "db", "table");
      const runScript = (which: "backup" | "restore" | "list", args: string[] = [], extra = {}) => {
        const file = path.join(dir, `psf-${which}`);
        fs.writeFileSync(file, rendered[which], { mode: 0o755 });
        fs.writeFileSync(
          paths.envFile,
          renderEnvFile({
            ...env,
            FLATFILE_DB: "app",
            FLATFILE_DIR: path.join(dir, "db"),
            PSF_MAINTENANCE: "never",
            ...extra,
          }),
        );
        return spawnSync("bash", [file, ...args], {
          env: { PATH: process.env.PATH!, HOME: path.join(dir, "home") },
          encoding: "utf8",
        });
      };

      before(function () {
        requireProgram(this, name);
        dir = fs.mkdtempSync(path.join(os.tmpdir(), `psf-flatfile-${name}-`));
        fs.mkdirSync(path.join(dir, "db"));
        paths = {
          backupRoot: path.join(dir, "root"),
          restoreRoot: path.join(dir, "root"),
          envFile: path.join(dir, "backup.env"),
          statusDir: path.join(dir, "status"),
        };
        env = run(dir);
        rendered = scripts(paths)(FAKE_DUMP);
      });
      after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

      it("streams the dump of each run and hands the chosen run's dump to the provider's restore", () => {
        fs.writeFileSync(table(), "row 1\nrow 2\n");
        let r = runScript("backup", [], { PSF_BACKUP_TIME: "2024-05-01T03:00:00" });
        assert.equal(r.status, 0, r.stderr);
        fs.writeFileSync(table(), "row 1, edited\n");
        r = runScript("backup", [], { PSF_BACKUP_TIME: "2024-05-02T03:00:00" });
        assert.equal(r.status, 0, r.stderr);
        r = runScript("restore", ["app-2024-05-01T03:00:00"]);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(
          fs.readFileSync(path.join(dir, "db", "restored"), "utf8"),
          "-- flatfile dump of app\nrow 1\nrow 2\n",
        );
        r = runScript("restore");
        assert.equal(r.status, 0, r.stderr);
        assert.equal(
          fs.readFileSync(path.join(dir, "db", "restored"), "utf8"),
          "-- flatfile dump of app\nrow 1, edited\n",
        );
      });

      it("fails before backing up when the image lacks a program the dump needs", () => {
        const runs = () => runScript("list").stdout;
        const before = runs();
        rendered = scripts(paths)({ ...FAKE_DUMP, programs: ["cat", "psf-no-such-client"] });
        try {
          const r = runScript("backup", [], { PSF_BACKUP_TIME: "2024-05-03T03:00:00" });
          assert.notEqual(r.status, 0);
          assert.match(r.stderr, /psf-no-such-client is not in this image/);
          assert.equal(runs(), before);
        } finally {
          rendered = scripts(paths)(FAKE_DUMP);
        }
      });
    });
  });
}

/** A job that backs up only its database. */
function dbJob() {
  return planJob(
    "app",
    { volumes: [], paths: [], excludes: [], database: true },
    {},
    { schedule: "0 3 * * *", checkWeekday: 0 },
    true,
  );
}
