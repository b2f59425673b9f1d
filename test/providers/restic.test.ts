import { strict as assert } from "assert";
import * as path from "path";
import { mask } from "../../cli/mock-engine";
import { validateConfig } from "../../components/program";
import { registry } from "../../providers";
import { RESTIC_IMAGE, restic } from "../../providers/backup/restic";
import { resticScripts } from "../../providers/backup/restic-script";
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
import { valueOf } from "../support/mocks";
import { declaredContainer, planStack } from "../support/mocked-provider";
import { RESTIC } from "../support/backup-tools";
import { settingsWith } from "../support/settings";

// ---------------------------------------------------------------- the contract

backupContractSuite("restic", {
  ...RESTIC,
  allRuns: (env) =>
    (
      JSON.parse(tool("restic", ["snapshots", "--json", "--tag", "files"], env)) as Array<{
        tags: string[];
      }>
    )
      .map((s) => s.tags.filter((t) => t !== "files").join(","))
      .sort(),
  countSnapshots: (env) => JSON.parse(tool("restic", ["snapshots", "--json"], env)).length,
  repositoryId: (env) => JSON.parse(tool("restic", ["cat", "config"], env)).id,
  corrupt: (env) => flipBytesInLargestFile(path.join(env.RESTIC_REPOSITORY, "data")),
});

// ---------------------------------------------------------------- Pulumi (mocked engine)

describe("restic provider in a Pulumi program (mocked engine)", () => {
  it("declares one cron job per service with the restic image, its volumes and the repository volume", async () => {
    const { workloads, images } = await declareBackup(backupFixture("restic"));
    assert.deepEqual(images, [`restic=${RESTIC_IMAGE}`]);
    assert.deepEqual(
      workloads.map((w) => [w.name, w.schedule, w.image]),
      [
        ["backup-whoami", "0 3 * * *", RESTIC_IMAGE],
        ["backup-notes", "30 2 * * 0", RESTIC_IMAGE],
      ],
    );
    assert.deepEqual(mountsOf(workloads[1]), [
      "notes/files /backup/volumes/files ro",
      "notes/files /restore/volumes/files",
      "restic/repository /repository",
      "restic/status /status",
    ]);
  });

  it("gives each job the repository, the generated password and its own database login", async () => {
    const { workloads } = await declareBackup(backupFixture("restic"));
    const names = ["RESTIC_REPOSITORY", "RESTIC_PASSWORD", "PSF_DB_HOST", "PSF_DB_PASSWORD"];
    assert.deepEqual(await envFileAsBashReadsIt(workloads[0], names), {
      RESTIC_REPOSITORY: "/repository",
      RESTIC_PASSWORD: "mock-password-restic-passphrase",
      PSF_DB_HOST: "postgres",
      PSF_DB_PASSWORD: "db-pw-whoami",
    });
    assert.deepEqual(await envFileAsBashReadsIt(workloads[1], names), {
      RESTIC_REPOSITORY: "/repository",
      RESTIC_PASSWORD: "mock-password-restic-passphrase",
    });
  });

  it("lets only the first job check and prune the shared repository", async () => {
    const { workloads } = await declareBackup(backupFixture("restic"));
    const [first, second] = await backupScripts(workloads);
    assert.match(first, /restic check --read-data-subset=5%/);
    assert.match(first, /restic prune/);
    assert.doesNotMatch(second, /restic check|restic prune/);
    assert.match(
      second,
      /--keep-daily 3 --keep-weekly 4 --keep-monthly 12;/,
      "a zero keeps nothing, so yearly 0 is left out",
    );
  });

  it("passes a remote backend its plain and secret environment, with no repository volume", async () => {
    const raw = backupFixture("restic");
    Object.assign(raw.providers.backup, {
      repository: "s3:https://s3.example.org/psf-backups",
      env: { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE" },
      secretEnv: { AWS_SECRET_ACCESS_KEY: "s3-secret" },
    });
    raw.secrets = { "s3-secret": "wJalrXUtnFEMI/K7MDENG" };
    const { workloads, results } = await declareBackup(raw);
    assert.ok(
      !workloads[0].volumes!.some(
        (m) => m.volume.owner === "restic" && m.volume.name === "repository",
      ),
    );
    assert.deepEqual(
      await envFileAsBashReadsIt(workloads[0], [
        "RESTIC_REPOSITORY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
      ]),
      {
        RESTIC_REPOSITORY: "s3:https://s3.example.org/psf-backups",
        AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
        AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG",
      },
    );
    assert.equal(await valueOf(results.whoami.repository), "s3:https://s3.example.org/psf-backups");
  });

  it("runs each job as a cron container on Docker, with the password only as a secret", async () => {
    const raw = backupFixture("restic");
    const { declared } = await planStack(raw);
    assert.ok(
      declared.some(
        (r) =>
          r.type === "random:index/randomPassword:RandomPassword" && r.name === "restic-passphrase",
      ),
    );
    const job = declaredContainer(declared, "backup-notes");
    assert.deepEqual(job.inputs.command, ["cron -f"]);
    assert.doesNotMatch(JSON.stringify(mask(job.inputs)), /mock-password-/);
    assert.match(JSON.stringify(mask(job.inputs, true)), /mock-password-restic-passphrase/);
  });
});

// ---------------------------------------------------------------- validation

describe("restic provider validation", () => {
  const issuesOf = (raw: any) => validateConfig(raw, "test", registry).issues;
  const withSettings = (settings: Record<string, unknown>) => {
    const raw = backupFixture("restic");
    Object.assign(raw.providers.backup, settings);
    return raw;
  };

  it("accepts the fixture and builds the database before the backups that dump it", () => {
    const { plan, issues } = validateConfig(backupFixture("restic"), "test", registry);
    assert.deepEqual(issues, []);
    assert.deepEqual(plan!.providers.find((p) => p.contract === "backup")!.dependsOn, ["database"]);
  });

  it("wants a remote repository on a network backend, sftp with an SSH key", () => {
    assert.deepEqual(
      issuesOf(withSettings({ repository: "/srv/restic" })).map((i) => i.path),
      ["providers.backup.repository"],
    );
    assert.deepEqual(
      issuesOf(withSettings({ repository: "ftp:host/x" })).map((i) => i.path),
      ["providers.backup.repository"],
    );
    assert.deepEqual(
      issuesOf(withSettings({ repository: "sftp:backup@host:/psf" })).map((i) => i.path),
      ["providers.backup.sshKey"],
    );
    assert.deepEqual(
      issuesOf(withSettings({ repository: "rest:https://backup.example.org/psf" })),
      [],
    );
  });

  it("keeps the repository and password its own, and wants secret env to name set secrets", () => {
    const issues = issuesOf(
      withSettings({ env: { RESTIC_PASSWORD: "x" }, secretEnv: { B2_ACCOUNT_KEY: "b2-key" } }),
    );
    assert.deepEqual(
      issues.map((i) => i.path),
      ["providers.backup.env.RESTIC_PASSWORD", "providers.backup.secretEnv.B2_ACCOUNT_KEY"],
    );
    assert.match(issues[1].hint!, /psf:secrets.b2-key/);
  });

  it("accepts check subsets restic reads and reports others at providers.backup.checkReadData", () => {
    for (const ok of ["5%", "2.5%", "100%", "1/7", "500M"])
      assert.deepEqual(issuesOf(withSettings({ checkReadData: ok })), [], ok);
    for (const bad of ["5", "101%", "0/7", "all"])
      assert.deepEqual(
        issuesOf(withSettings({ checkReadData: bad })).map((i) => i.path),
        ["providers.backup.checkReadData"],
        bad,
      );
  });

  it("reports a retention that keeps nothing", () => {
    assert.deepEqual(
      issuesOf(withSettings({ retention: { daily: 0, weekly: 0, monthly: 0 } })).map((i) => i.path),
      ["providers.backup.retention"],
    );
  });
});
