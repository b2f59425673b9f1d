import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { Outputs } from "../../components/contract";
import { guardWithBackup } from "../../components/pre-change-snapshot";
import { ProviderArgs } from "../../components/provider";
import { VolumeMount, Workload, WorkloadFile } from "../../components/workload";
import { databaseContract } from "../database/contract";
import { BackupRequest, BackupResult } from "./contract";
import {
  BIN,
  BackupJob,
  CONTAINER_PATHS,
  JobScripts,
  planJob,
  renderEnvFile,
  slug,
  sshConfig,
} from "./job";
import { CommonSettings, DEFAULT_DRILL_SCHEDULE } from "./settings";
import { freshnessScript } from "./status-parts";

const FRESHNESS_BIN = "/usr/local/bin/psf-freshness";
/** Hourly, off the hour when most jobs start. */
const FRESHNESS_SCHEDULE = "17 * * * *";

/** What differs between borg and restic when their jobs are deployed. */
export interface BackupEngine {
  /** Image with the tool, bash, cron and the database clients the dumps need. */
  image: string;
  /** Where the repository is, as the job's tool reaches it. */
  repository: string;
  /** Environment of every script (repository, passphrase): written to the secret env file. */
  env: Record<string, pulumi.Input<string>>;
  /** Provider-owned volumes every job mounts (the local repository, borg's key files). */
  mounts: VolumeMount[];
  scripts(job: BackupJob): JobScripts;
}

/** The repository passphrase: a `psf:secrets` value when the settings name one, else generated once. */
export function passphrase(
  parent: pulumi.Resource,
  name: string,
  args: ProviderArgs<BackupRequest, CommonSettings>,
): pulumi.Output<string> {
  const configured = args.settings.passphrase
    ? args.configSecret(args.settings.passphrase)
    : undefined;
  if (configured) return pulumi.secret(configured);
  // Never change these inputs: a new passphrase would lock every job out of the repository.
  const generated = new random.RandomPassword(
    `${name}-passphrase`,
    { length: 48, special: false },
    { parent },
  );
  return pulumi.secret(generated.result);
}

/** The repository on a volume the provider owns, mounted in every job, unless it is remote. */
export function localRepository(
  owner: string,
  settings: { repository?: string },
): { repository: string; mounts: VolumeMount[] } {
  if (settings.repository) return { repository: settings.repository, mounts: [] };
  return {
    repository: "/repository",
    mounts: [{ volume: { owner, name: "repository" }, mountPath: "/repository" }],
  };
}

/**
 * One scheduled job per requester: its service's volumes mounted read-only to back up and
 * read-write to restore, the scripts and a secret env file baked in. Returns the results.
 */
export function deployBackupJobs(
  parent: pulumi.ComponentResource,
  name: string,
  args: ProviderArgs<BackupRequest, CommonSettings>,
  engine: BackupEngine,
): Record<string, Outputs<BackupResult>> {
  const results: Record<string, Outputs<BackupResult>> = {};
  const ssh = sshFiles(args);
  const drill = {
    enabled: args.settings.drill?.enabled ?? true,
    schedule: args.settings.drill?.schedule ?? DEFAULT_DRILL_SCHEDULE,
  };
  // Outcomes of every job and drill, on a volume of the provider that `psf status` reads.
  const status: VolumeMount = {
    volume: { owner: name, name: "status" },
    mountPath: CONTAINER_PATHS.statusDir,
  };
  const alerts = alertEnv(args);
  Object.entries(args.requests).forEach(([requester, req], index) => {
    const owner = requester.split(":")[0];
    const service = args.stack.services[requester];
    // The first job also checks and compacts the shared repository: once, not once per service.
    const job = planJob(requester, req, service?.volumes ?? {}, args.settings, index === 0);
    const db = req.database ? databaseOf(args, requester) : undefined;
    // One secret file, read by the scheduled job and by restore/list run with `exec` alike.
    const env = pulumi.secret(
      pulumi
        .all([pulumi.all(engine.env), db?.dumpEnv ?? {}, alerts])
        .apply(([own, dump, alert]) => renderEnvFile({ ...own, ...dump, ...alert })),
    );
    // The scripts run the database provider's own dump and restore commands.
    const scripts = db?.dump.apply((dump) => engine.scripts({ ...job, database: dump }));
    const plain = scripts ? undefined : engine.scripts(job);
    const script = (which: keyof JobScripts) => plain?.[which] ?? scripts!.apply((s) => s[which]);
    const files: WorkloadFile[] = [
      ...(Object.keys(BIN) as Array<keyof JobScripts>).map((which) => ({
        path: BIN[which],
        content: script(which),
        mode: 0o755,
      })),
      { path: CONTAINER_PATHS.envFile, content: env, secret: true, mode: 0o600 },
      ...ssh,
    ];
    const volumes: VolumeMount[] = job.volumes.flatMap((v) => [
      {
        volume: { owner, name: v },
        mountPath: `${CONTAINER_PATHS.backupRoot}/volumes/${v}`,
        readOnly: true,
      },
      { volume: { owner, name: v }, mountPath: `${CONTAINER_PATHS.restoreRoot}/volumes/${v}` },
    ]);
    const workload: Workload = {
      name: `backup-${job.service}`,
      component: "backup",
      partOf: name,
      image: engine.image,
      command: [BIN.backup],
      files,
      volumes: [...volumes, ...engine.mounts, status],
      schedule: job.schedule,
      stateful: false,
      labels: { "psf.backup-of": requester.replace(/[^A-Za-z0-9_.-]/g, "-") },
    };
    const deployed = args.target.deploy(workload, { parent });
    const backupNow = deployed.runNow ?? deployed.exec([BIN.backup]);
    // Before the workloads holding this service's data go away, this backup runs.
    const holders = [...(db ? [db.host] : []), ...(job.volumes.length ? [owner] : [])];
    for (const holder of holders) guardWithBackup(holder, owner, backupNow);
    // The drill restores into its own scratch space: the service's volumes stay unmounted.
    if (drill.enabled)
      args.target.deploy(
        {
          ...workload,
          name: `drill-${job.service}`,
          command: [BIN.drill],
          volumes: [...engine.mounts, status],
          schedule: drill.schedule,
          labels: { "psf.drill-of": workload.labels!["psf.backup-of"] },
        },
        { parent },
      );
    results[requester] = {
      repository: pulumi.output(engine.repository),
      jobName: pulumi.output(workload.name),
      backupCommand: backupNow,
      restoreCommand: deployed.exec([BIN.restore]),
      listCommand: deployed.exec([BIN.list]),
      verifyCommand: deployed.exec([BIN.drill]),
      statusCommand: deployed.exec([BIN.status]),
    };
  });
  // A backup that stops running reports nothing itself: with a webhook, an hourly check does.
  if (args.settings.alerts?.webhook) {
    const services = Object.keys(args.requests).map(slug);
    args.target.deploy(
      {
        name: "backup-freshness",
        component: "backup",
        partOf: name,
        image: engine.image,
        command: [FRESHNESS_BIN],
        files: [
          {
            path: FRESHNESS_BIN,
            content: freshnessScript(services, CONTAINER_PATHS),
            mode: 0o755,
          },
          {
            path: CONTAINER_PATHS.envFile,
            content: pulumi.secret(alerts.apply(renderEnvFile)),
            secret: true,
            mode: 0o600,
          },
        ],
        volumes: [status],
        schedule: FRESHNESS_SCHEDULE,
        stateful: false,
      },
      { parent },
    );
  }
  return results;
}

/** The requester's database result: its provider's dump commands and their (secret) env. */
function databaseOf(args: ProviderArgs<BackupRequest, CommonSettings>, requester: string) {
  const db = args.result(databaseContract, requester);
  if (!db)
    throw new Error(`bug: ${requester} asks to back up its database, but has no database result`);
  return db;
}

/** The webhook URL and its signing secret, for the env file (none without `alerts.webhook`). */
function alertEnv(
  args: ProviderArgs<BackupRequest, CommonSettings>,
): pulumi.Output<Record<string, string>> {
  const a = args.settings.alerts;
  const secret = a?.webhook && a.secret ? args.configSecret(a.secret) : undefined;
  if (!a?.webhook || !secret) return pulumi.output({} as Record<string, string>);
  return pulumi.secret(
    secret.apply((s): Record<string, string> => ({
      PSF_ALERT_URL: a.webhook!,
      PSF_ALERT_SECRET: s,
    })),
  );
}

/** The SSH key (and known hosts) for a remote repository, where ssh looks for them. */
function sshFiles(args: ProviderArgs<BackupRequest, CommonSettings>): WorkloadFile[] {
  const key = args.settings.sshKey ? args.configSecret(args.settings.sshKey) : undefined;
  if (!key) return [];
  const knownHosts = args.settings.knownHosts;
  return [
    {
      path: "/etc/psf/ssh/key",
      content: pulumi.secret(key.apply((k) => (k.endsWith("\n") ? k : `${k}\n`))),
      secret: true,
      mode: 0o600,
    },
    { path: "/root/.ssh/config", content: sshConfig(!!knownHosts), mode: 0o600 },
    ...(knownHosts ? [{ path: "/etc/psf/ssh/known_hosts", content: knownHosts, mode: 0o644 }] : []),
  ];
}
