import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { mask } from "../../cli/mock-engine";
import { validateConfig } from "../../components/program";
import { registry } from "../../providers";
import { BORG_IMAGE, borg } from "../../providers/backup/borg";
import { borgScripts } from "../../providers/backup/borg-script";
import { planJob } from "../../providers/backup/job";
import {
  backupContractSuite,
  backupScripts,
  backupFixture,
  declareBackup,
  envFileAsBashReadsIt,
  flipBytesInLargestFile,
  mountsOf,
  tool,
} from "../contracts/backup";
import { isSecret, valueOf } from "../support/mocks";
import { declaredContainer, planStack } from "../support/mocked-provider";
import { BORG } from "../support/backup-tools";
import { settingsWith } from "../support/settings";

// ---------------------------------------------------------------- the contract

backupContractSuite("borg", {
  ...BORG,
  allRuns: (env) => tool("borg", ["list", "--short"], env).split("\n").filter(Boolean).sort(),
  countSnapshots: (env) =>
    tool("borg", ["list", "--short"], env).split("\n").filter(Boolean).length,
  repositoryId: (env) =>
    /^id = (\S+)$/m.exec(fs.readFileSync(path.join(env.BORG_REPO, "config"), "utf8"))![1],
  corrupt: (env) => flipBytesInLargestFile(path.join(env.BORG_REPO, "data")),
});

// ---------------------------------------------------------------- Pulumi (mocked engine)

describe("borg provider in a Pulumi program (mocked engine)", () => {
  it("declares one cron job per service, its volumes read-only to back up and read-write to restore", async () => {
    const { workloads, images } = await declareBackup(backupFixture("borg"));
    assert.deepEqual(images, [`borg=${BORG_IMAGE}`]);
    assert.deepEqual(
      workloads.map((w) => [w.name, w.schedule, w.image, w.stateful]),
      [
        ["backup-whoami", "0 3 * * *", BORG_IMAGE, false],
        ["backup-notes", "30 2 * * 0", BORG_IMAGE, false],
      ],
    );
    assert.deepEqual(mountsOf(workloads[0]), [
      "whoami/data /backup/volumes/data ro",
      "whoami/data /restore/volumes/data",
      "borg/repository /repository",
      "borg/status /status",
    ]);
    assert.deepEqual(mountsOf(workloads[1]), [
      "notes/files /backup/volumes/files ro",
      "notes/files /restore/volumes/files",
      "borg/repository /repository",
      "borg/status /status",
    ]);
    for (const w of workloads) {
      assert.deepEqual(w.command, ["/usr/local/bin/psf-backup"]);
      const files = new Map(w.files!.map((f) => [f.path, f]));
      for (const bin of ["psf-backup", "psf-restore", "psf-list", "psf-drill", "psf-status"])
        assert.equal(files.get(`/usr/local/bin/${bin}`)?.mode, 0o755);
      const env = files.get("/etc/psf/backup.env")!;
      assert.equal(env.secret, true);
      assert.equal(env.mode, 0o600);
      assert.equal(await isSecret(env.content), true);
    }
  });

  it("gives each job the repository, the generated passphrase and its own database login", async () => {
    const { workloads } = await declareBackup(backupFixture("borg"));
    const names = [
      "BORG_REPO",
      "BORG_PASSPHRASE",
      "BORG_KEYS_DIR",
      "PSF_DB_HOST",
      "PSF_DB_PORT",
      "PSF_DB_NAME",
      "PSF_DB_USER",
      "PSF_DB_PASSWORD",
    ];
    assert.deepEqual(await envFileAsBashReadsIt(workloads[0], names), {
      BORG_REPO: "/repository",
      BORG_PASSPHRASE: "mock-password-borg-passphrase",
      PSF_DB_HOST: "postgres",
      PSF_DB_PORT: "5432",
      PSF_DB_NAME: "whoami",
      PSF_DB_USER: "whoami",
      PSF_DB_PASSWORD: "db-pw-whoami",
    });
    assert.deepEqual(await envFileAsBashReadsIt(workloads[1], names), {
      BORG_REPO: "/repository",
      BORG_PASSPHRASE: "mock-password-borg-passphrase",
    });
  });

  it("prunes each service by its own retention over the provider's, and lets only the first job compact", async () => {
    const raw = backupFixture("borg");
    raw.providers.backup.retention = { weekly: 2, yearly: 1 };
    const { workloads } = await declareBackup(raw);
    const [first, second] = await backupScripts(workloads);
    assert.match(first, /--keep-daily 7 --keep-weekly 2 --keep-monthly 12 --keep-yearly 1\n/);
    assert.match(second, /--keep-daily 3 --keep-weekly 2 --keep-monthly 12 --keep-yearly 1\n/);
    assert.match(first, /borg compact/);
    assert.doesNotMatch(second, /borg compact/);
  });

  it("schedules a weekly drill per service on the repository and status volumes, never the service's", async () => {
    const { workloads, drills } = await declareBackup(backupFixture("borg"));
    assert.deepEqual(
      drills.map((w) => [w.name, w.schedule, w.command, mountsOf(w)]),
      workloads.map((b) => [
        b.name.replace("backup-", "drill-"),
        "0 5 * * 0",
        ["/usr/local/bin/psf-drill"],
        ["borg/repository /repository", "borg/status /status"],
      ]),
    );
    const raw = backupFixture("borg");
    raw.providers.backup.drill = { schedule: "15 4 * * 3" };
    assert.deepEqual(
      (await declareBackup(raw)).drills.map((w) => w.schedule),
      ["15 4 * * 3", "15 4 * * 3"],
    );
    raw.providers.backup.drill = { enabled: false };
    assert.deepEqual((await declareBackup(raw)).drills, []);
  });

  it("gives every job the webhook and its signing secret, as secrets, only when alerts are set", async () => {
    const raw = backupFixture("borg");
    raw.providers.backup.alerts = { webhook: "https://hooks.example.org/psf", secret: "hook-key" };
    raw.secrets = { "hook-key": "signing-secret-value" };
    const { workloads, results } = await declareBackup(raw);
    for (const w of workloads)
      assert.deepEqual(await envFileAsBashReadsIt(w, ["PSF_ALERT_URL", "PSF_ALERT_SECRET"]), {
        PSF_ALERT_URL: "https://hooks.example.org/psf",
        PSF_ALERT_SECRET: "signing-secret-value",
      });
    assert.equal(
      await valueOf(results.whoami.verifyCommand),
      "exec backup-whoami /usr/local/bin/psf-drill",
    );
    assert.equal(
      await valueOf(results.whoami.statusCommand),
      "exec backup-whoami /usr/local/bin/psf-status",
    );
    // And an hourly check that alerts when a backup stops running.
    assert.deepEqual(
      workloads.map((w) => [w.name, w.schedule, mountsOf(w).join(", ")]),
      [
        [
          "backup-whoami",
          "0 3 * * *",
          "whoami/data /backup/volumes/data ro, whoami/data /restore/volumes/data, borg/repository /repository, borg/status /status",
        ],
        [
          "backup-notes",
          "30 2 * * 0",
          "notes/files /backup/volumes/files ro, notes/files /restore/volumes/files, borg/repository /repository, borg/status /status",
        ],
        ["backup-freshness", "17 * * * *", "borg/status /status"],
      ],
    );
    const freshness = workloads[2].files!.find((f) => f.path === "/usr/local/bin/psf-freshness")!;
    assert.match(String(await valueOf(freshness.content)), /^for svc in whoami notes; do$/m);
    const plain = await declareBackup(backupFixture("borg"));
    assert.deepEqual(
      plain.workloads.map((w) => w.name),
      ["backup-whoami", "backup-notes"],
    );
    assert.deepEqual(
      await envFileAsBashReadsIt(plain.workloads[0], ["PSF_ALERT_URL", "PSF_ALERT_SECRET"]),
      {},
    );
  });

  it("answers with the job's name and the commands a person runs", async () => {
    const { results } = await declareBackup(backupFixture("borg"));
    assert.deepEqual(await valueOf(results.whoami.jobName), "backup-whoami");
    assert.deepEqual(await valueOf(results.whoami.repository), "/repository");
    assert.deepEqual(await valueOf(results.whoami.backupCommand), "run backup-whoami");
    assert.deepEqual(
      await valueOf(results.whoami.restoreCommand),
      "exec backup-whoami /usr/local/bin/psf-restore",
    );
    assert.deepEqual(
      await valueOf(results.notes.listCommand),
      "exec backup-notes /usr/local/bin/psf-list",
    );
  });

  it("keeps keyfile-mode keys on a volume every job shares", async () => {
    const raw = backupFixture("borg");
    raw.providers.backup.encryption = "keyfile-blake2";
    const { workloads } = await declareBackup(raw);
    for (const w of workloads) {
      assert.ok(
        w.volumes!.some(
          (m) =>
            m.volume.owner === "borg" &&
            m.volume.name === "keys" &&
            m.mountPath === "/etc/psf/borg-keys",
        ),
      );
      assert.equal(
        (await envFileAsBashReadsIt(w, ["BORG_KEYS_DIR"])).BORG_KEYS_DIR,
        "/etc/psf/borg-keys",
      );
    }
  });

  it("reaches a remote repository over ssh with the configured key and passphrase, and no repository volume", async () => {
    const raw = backupFixture("borg");
    Object.assign(raw.providers.backup, {
      repository: "ssh://borg@backup.example.org:2222/./psf",
      sshKey: "backup-key",
      passphrase: "backup-pass",
      knownHosts: "backup.example.org ssh-ed25519 AAAA",
    });
    raw.secrets = {
      "backup-key": "-----BEGIN OPENSSH PRIVATE KEY-----\nmock\n-----END OPENSSH PRIVATE KEY-----",
      "backup-pass": "chosen passphrase",
    };
    const { workloads, results } = await declareBackup(raw);
    const w = workloads[0];
    assert.ok(!w.volumes!.some((m) => m.volume.owner === "borg" && m.volume.name === "repository"));
    assert.deepEqual(await envFileAsBashReadsIt(w, ["BORG_REPO", "BORG_PASSPHRASE"]), {
      BORG_REPO: "ssh://borg@backup.example.org:2222/./psf",
      BORG_PASSPHRASE: "chosen passphrase",
    });
    const key = w.files!.find((f) => f.path === "/etc/psf/ssh/key")!;
    assert.equal(key.mode, 0o600);
    assert.equal(await isSecret(key.content), true);
    assert.match(String(await valueOf(key.content)), /END OPENSSH PRIVATE KEY-----\n$/);
    assert.match(
      String(w.files!.find((f) => f.path === "/root/.ssh/config")!.content),
      /StrictHostKeyChecking yes/,
    );
    assert.equal(
      w.files!.find((f) => f.path === "/etc/psf/ssh/known_hosts")!.content,
      "backup.example.org ssh-ed25519 AAAA",
    );
    assert.equal(
      await valueOf(results.whoami.repository),
      "ssh://borg@backup.example.org:2222/./psf",
    );
  });

  it("runs each job as a cron container on Docker, with the passphrase and database password only as secrets", async () => {
    const { declared } = await planStack(backupFixture("borg"));
    assert.ok(
      declared.some(
        (r) =>
          r.type === "random:index/randomPassword:RandomPassword" && r.name === "borg-passphrase",
      ),
    );
    const job = declaredContainer(declared, "backup-whoami");
    assert.deepEqual(job.inputs.entrypoints, ["/bin/sh", "-c"]);
    assert.deepEqual(job.inputs.command, ["cron -f"]);
    const mounts = (
      job.inputs.mounts as Array<{ source: string; target: string; readOnly: boolean }>
    ).map((m) => `${m.source} ${m.target} ${m.readOnly}`);
    assert.deepEqual(mounts, [
      "psf-test-whoami-data /backup/volumes/data true",
      "psf-test-whoami-data /restore/volumes/data false",
      "psf-test-borg-repository /repository false",
      "psf-test-borg-status /status false",
    ]);
    // The mocked engine's generated values: nothing in plain view may show them.
    assert.doesNotMatch(JSON.stringify(mask(job.inputs)), /mock-password-/);
    const revealed = JSON.stringify(mask(job.inputs, true));
    assert.match(revealed, /mock-password-borg-passphrase/, "the passphrase is there, only masked");
    assert.match(
      revealed,
      /PSF_DB_PASSWORD='?mock-password-postgres-/,
      "so is the database password",
    );
  });
});

// ---------------------------------------------------------------- validation

describe("borg provider validation", () => {
  const issuesOf = (raw: any) => validateConfig(raw, "test", registry).issues;

  it("accepts the fixture and builds the database before the backups that dump it", () => {
    const { plan, issues } = validateConfig(backupFixture("borg"), "test", registry);
    assert.deepEqual(issues, []);
    assert.deepEqual(plan!.providers.find((p) => p.contract === "backup")!.dependsOn, ["database"]);
  });

  it("reads the database contract only when a request streams a database", () => {
    const stack = validateConfig(backupFixture("borg"), "test", registry).plan!.stack;
    const req = (database: boolean) => ({ volumes: ["data"], paths: [], excludes: [], database });
    assert.deepEqual(borg.reads!(settingsWith(borg), stack, { a: req(false), b: req(true) }), [
      "database",
    ]);
    assert.deepEqual(borg.reads!(settingsWith(borg), stack, { a: req(false) }), []);
  });

  it("wants a webhook signed with a secret that is set, and a URL, each at its path", () => {
    const withAlerts = (alerts: unknown, secrets?: Record<string, string>) => {
      const raw = backupFixture("borg");
      raw.providers.backup.alerts = alerts;
      if (secrets) raw.secrets = secrets;
      return issuesOf(raw);
    };
    const unsigned = withAlerts({ webhook: "https://hooks.example.org/psf" });
    assert.deepEqual(
      unsigned.map((i) => [i.path, i.message]),
      [
        [
          "providers.backup.alerts.secret",
          "a webhook needs a secret to sign its notifications with",
        ],
      ],
    );
    const unset = withAlerts({ webhook: "https://hooks.example.org/psf", secret: "hook-key" });
    assert.deepEqual(
      unset.map((i) => i.path),
      ["providers.backup.alerts.secret"],
    );
    assert.match(unset[0].hint!, /psf:secrets.hook-key/);
    assert.deepEqual(
      withAlerts({ webhook: "ftp://x", secret: "hook-key" }, { "hook-key": "k" }).map(
        (i) => i.path,
      ),
      ["providers.backup.alerts.webhook"],
    );
    assert.deepEqual(
      withAlerts(
        { webhook: "https://hooks.example.org/psf", secret: "hook-key" },
        { "hook-key": "k" },
      ),
      [],
    );
    const raw = backupFixture("borg");
    raw.providers.backup.drill = { schedule: "every sunday" };
    assert.deepEqual(
      issuesOf(raw).map((i) => i.path),
      ["providers.backup.drill.schedule"],
    );
  });

  it("reports a retention that keeps nothing where it is written", () => {
    const raw = backupFixture("borg");
    raw.services.notes.needs.backup.retention = { daily: 0, weekly: 0, monthly: 0, yearly: 0 };
    assert.deepEqual(
      issuesOf(raw).map((i) => i.path),
      ["services.notes.needs.backup.retention"],
    );
    const raw2 = backupFixture("borg");
    raw2.providers.backup.retention = { daily: 0, weekly: 0, monthly: 0, yearly: 0 };
    // notes keeps three dailies of its own; whoami inherits nothing to keep.
    assert.deepEqual(
      issuesOf(raw2).map((i) => i.path),
      ["providers.backup.retention"],
    );
  });

  it("accepts borg's compression specs and reports others at providers.backup.compression", () => {
    for (const ok of ["lz4", "zstd", "zstd,10", "auto,lzma,6", "none", "zlib,9"]) {
      const raw = backupFixture("borg");
      raw.providers.backup.compression = ok;
      assert.deepEqual(issuesOf(raw), [], ok);
    }
    for (const bad of ["zstd,23", "gzip", "lz4,3", "auto"]) {
      const raw = backupFixture("borg");
      raw.providers.backup.compression = bad;
      assert.deepEqual(
        issuesOf(raw).map((i) => i.path),
        ["providers.backup.compression"],
        bad,
      );
    }
  });

  it("refuses an unencrypted repository", () => {
    const raw = backupFixture("borg");
    raw.providers.backup.encryption = "none";
    const issues = issuesOf(raw);
    assert.deepEqual(
      issues.map((i) => i.path),
      ["providers.backup.encryption"],
    );
  });

  it("wants a remote repository to be ssh, with a key that is set in the stack's secrets", () => {
    const raw = backupFixture("borg");
    raw.providers.backup.repository = "/srv/backups";
    assert.deepEqual(
      issuesOf(raw)
        .map((i) => i.path)
        .sort(),
      ["providers.backup.repository", "providers.backup.sshKey"],
    );
    raw.providers.backup.repository = "borg@backup.example.org:psf";
    raw.providers.backup.sshKey = "backup-key";
    const missing = issuesOf(raw);
    assert.deepEqual(
      missing.map((i) => i.path),
      ["providers.backup.sshKey"],
    );
    assert.match(missing[0].hint!, /pulumi config set --secret --path 'psf:secrets.backup-key'/);
    raw.secrets = { "backup-key": "key" };
    assert.deepEqual(issuesOf(raw), []);
  });

  it("reports an unknown setting with a suggestion", () => {
    const raw = backupFixture("borg");
    raw.providers.backup.compresion = "lz4";
    const issues = issuesOf(raw);
    assert.deepEqual(
      issues.map((i) => i.path),
      ["providers.backup.compresion"],
    );
    assert.match(issues[0].hint!, /compression/);
  });
});

// ---------------------------------------------------------------- job planning (shared with restic)

describe("backup job planning", () => {
  const settings = { schedule: "0 3 * * *", checkWeekday: 0, retention: { daily: 2 } };

  it("maps paths and excludes into the innermost volume that holds them", () => {
    const job = planJob(
      "svc",
      {
        volumes: [],
        paths: ["/srv/media/x/y", "/data"],
        excludes: ["/srv/media/x/cache", "/elsewhere", "*.log"],
        database: false,
      },
      { media: "/srv/media", inner: "/srv/media/x", data: "/data/" },
      settings,
      false,
    );
    assert.deepEqual(job.targets, ["inner/y", "data"]);
    assert.deepEqual(job.volumes, ["inner", "data"]);
    assert.deepEqual(job.excludes, [
      { pattern: "inner/cache", rooted: true },
      { pattern: "*.log", rooted: false },
    ]);
  });

  it("drops a path inside a volume that is backed up whole, and merges retention field by field", () => {
    const job = planJob(
      "svc",
      {
        volumes: ["data"],
        paths: ["/data/sub"],
        excludes: [],
        database: true,
        retention: { weekly: 1 },
      },
      { data: "/data" },
      settings,
      true,
    );
    assert.deepEqual(job.targets, ["data"]);
    assert.deepEqual(job.retention, { daily: 2, weekly: 1, monthly: 12, yearly: 0 });
    assert.equal(job.schedule, "0 3 * * *");
  });
});
