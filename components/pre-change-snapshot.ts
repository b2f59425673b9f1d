import * as pulumi from "@pulumi/pulumi";
import { execFile } from "child_process";

/**
 * A snapshot before a risky change: when the engine is about to delete a stateful workload's
 * container (replacing it for a new image or config, or removing it), the backups of the
 * services whose data it holds run first, in the backup jobs already deployed. A failed backup
 * fails the hook, and with it the delete: the old container keeps running and the up stops.
 *
 * Backup providers say which workloads hold which service's data (`guardWithBackup`); targets
 * bind `snapshotHooks(workload)` to a stateful workload's resource. The hook reads the guards
 * when it runs, after the whole program has registered them.
 */

/** workload → service → the command that backs the service up now. */
const guards = new Map<string, Map<string, string>>();
const hooks = new Map<string, pulumi.ResourceHook>();

/** Environment variable `psf destroy` sets: a stack being destroyed takes no snapshots. */
export const OPERATION_ENV = "PSF_OPERATION";
/** Output lines a backup script prints; the snapshot's name follows "as". */
const SNAPSHOT_LINE = /\bas (\S+)\s*$/m;
const TIMEOUT_MS = 2 * 60 * 60 * 1000;

export function guardWithBackup(
  workload: pulumi.Input<string>,
  service: string,
  command: pulumi.Input<string>,
): void {
  pulumi.all([workload, command]).apply(([w, c]) => {
    if (!guards.has(w)) guards.set(w, new Map());
    guards.get(w)!.set(service, c);
  });
}

/**
 * The hooks a target binds to a stateful workload's resource (named hooks, one set per
 * workload): before it is deleted and, where the platform updates a workload in place (a
 * Kubernetes StatefulSet), before an update that `risky` finds risky, given the resource's old
 * and new inputs. None where the monitor cannot register hooks (Pulumi's mocks, `psf plan`).
 */
export function snapshotHooks(
  workload: string,
  o: {
    /** Its address, when other than its name: a database's guard names its host. */
    address?: string;
    risky?: (oldInputs: Record<string, unknown>, newInputs: Record<string, unknown>) => boolean;
  } = {},
): pulumi.ResourceHookBinding | undefined {
  if (!monitorRunsHooks()) return undefined;
  const risky = o.risky;
  const keys = [...new Set([workload, o.address ?? workload])];
  let hook = hooks.get(workload);
  if (!hook) {
    hook = new pulumi.ResourceHook(`psf-snapshot-${workload}`, () => snapshot(workload, keys));
    hooks.set(workload, hook);
  }
  if (!risky) return { beforeDelete: [hook] };
  const key = `${workload} update`;
  let update = hooks.get(key);
  if (!update) {
    update = new pulumi.ResourceHook(`psf-snapshot-${workload}-update`, (a) =>
      risky(a.oldInputs ?? {}, a.newInputs ?? {}) ? snapshot(workload, keys) : undefined,
    );
    hooks.set(key, update);
  }
  return { beforeDelete: [hook], beforeUpdate: [update] };
}

/** The snapshot a backup job's output names ("... as <run>"): what `--snapshot` takes. */
export function snapshotNamed(output: string): string | undefined {
  return SNAPSHOT_LINE.exec(output)?.[1];
}

function monitorRunsHooks(): boolean {
  const settings = require("@pulumi/pulumi/runtime/settings") as {
    getMonitor(): { registerResourceHook?: unknown } | undefined;
  };
  return typeof settings.getMonitor()?.registerResourceHook === "function";
}

/** Backs up the services guarding `workload` under any of `keys` (its name, its address). */
async function snapshot(workload: string, keys: string[]): Promise<void> {
  if (process.env[OPERATION_ENV] === "destroy") return;
  const guarding = new Map(keys.flatMap((k) => [...(guards.get(k) ?? new Map<string, string>())]));
  const services = [...guarding.entries()].sort();
  for (const [service, command] of services) {
    pulumi.log.info(`psf: taking a snapshot of ${service} before ${workload} changes`);
    const out = await run(command).catch((e: Error & { output?: string }) => {
      throw new Error(
        `psf: the snapshot of ${service} before ${workload} changes failed, so ${workload} was left as it is:\n` +
          `${(e.output ?? e.message).trim().split("\n").slice(-15).join("\n")}\n` +
          `  hint: fix the backup (psf backup run --stack ${pulumi.getStack()} ${service}), then run psf up again`,
      );
    });
    const id = snapshotNamed(out) ?? "(the newest)";
    pulumi.log.info(
      `psf: snapshot ${id} of ${service} taken before ${workload} changes; ` +
        `to go back to it: psf backup restore --stack ${pulumi.getStack()} ${service} --snapshot ${id}`,
    );
  }
}

function run(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "sh",
      ["-c", command],
      { timeout: TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const output = `${stdout}${stderr}`;
        if (err) reject(Object.assign(err, { output }));
        else resolve(output);
      },
    );
  });
}
