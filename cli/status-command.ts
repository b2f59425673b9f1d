import { execFile } from "child_process";
import { BackupStatus, describe, parseStatus } from "./backup-status";
import { openDeployedStack } from "./deployed-stack";
import { secretMasker } from "./secret-mask";
import { stackSecretValues } from "./stack-secrets";

export interface StatusOptions {
  stack: string;
  json?: boolean;
}

export interface ServiceStatus {
  name: string;
  url?: string;
  /** What its target says (`healthy`, `unhealthy`, `exited`, `ready 1/2`); absent: not known. */
  health?: string;
  /** Absent: the service has no backup. */
  backup?: BackupStatus & { error?: string };
}

/** Seconds a service's status command may take (a `docker exec` or `kubectl exec` of `cat`). */
const READ_TIMEOUT_MS = 30_000;

/**
 * `psf status --stack S [--json]`: per service its URL, its health and, with a backup, the last backup's
 * age, size and result, the last drill's result and the alerts (failed backup, failed drill,
 * stale backup). The records are read with the command the stack outputs for each service
 * (`backupStatusCommand`), on whatever target it runs; secret values are masked. Exit 0, also
 * with alerts (they are for people and for Prometheus); 1 when the stack cannot be read.
 */
export async function statusCommand(o: StatusOptions): Promise<number> {
  const opened = await openDeployedStack(o.stack);
  if ("error" in opened) {
    process.stderr.write(`error: ${opened.error}\n  hint: ${opened.hint}\n`);
    return 1;
  }
  const services = (opened.outputs.services?.value ?? {}) as Record<
    string,
    Record<string, unknown>
  >;
  const needsMask = Object.values(services).some((s) => s.backupStatusCommand || s.healthCommand);
  const mask = needsMask
    ? secretMasker(await stackSecretValues(opened.stack, opened.outputs))
    : (t: string) => t;
  const now = Date.now() / 1000;
  const rows = await serviceStatuses(services, readRecords, mask, now);
  if (o.json) process.stdout.write(`${JSON.stringify({ services: rows }, null, 2)}\n`);
  else process.stdout.write(statusTable(rows, now));
  return 0;
}

/**
 * Each service's URL and backup status, its records read with `read` (the service's
 * `backupStatusCommand`) and masked before they are parsed.
 */
export async function serviceStatuses(
  services: Record<string, Record<string, unknown>>,
  read: (command: string) => Promise<{ stdout: string } | { error: string }>,
  mask: (text: string) => string,
  now: number,
): Promise<ServiceStatus[]> {
  return Promise.all(
    Object.keys(services)
      .sort()
      .map(async (name) => {
        const s = services[name];
        const row: ServiceStatus = { name, url: typeof s.url === "string" ? s.url : undefined };
        if (typeof s.healthCommand === "string") {
          const got = await read(s.healthCommand);
          row.health = "error" in got ? "unknown" : mask(got.stdout.trim()) || "unknown";
        }
        if (typeof s.backupStatusCommand === "string") {
          const got = await read(s.backupStatusCommand);
          row.backup =
            "error" in got
              ? { unreadable: [], alerts: ["backup status unreadable"], error: mask(got.error) }
              : parseStatus(mask(got.stdout), now);
        }
        return row;
      }),
  );
}

/** Runs a status command (`docker exec …`, `kubectl exec …`) with a timeout. */
export function readRecords(command: string): Promise<{ stdout: string } | { error: string }> {
  return new Promise((resolve) =>
    execFile("/bin/sh", ["-c", command], { timeout: READ_TIMEOUT_MS }, (err, stdout, stderr) =>
      resolve(
        err
          ? {
              error: `${command.split(" ")[0]} failed: ${(stderr || err.message).trim().split("\n").pop()}`,
            }
          : { stdout },
      ),
    ),
  );
}

/** The table `psf status` prints: one line per service. */
export function statusTable(rows: ServiceStatus[], now: number): string {
  const lines = [["SERVICE", "URL", "HEALTH", "LAST BACKUP", "LAST DRILL", "ALERTS"]];
  for (const r of rows) {
    const b = r.backup;
    const d = b && !b.error ? describe(b, now) : undefined;
    lines.push([
      r.name,
      r.url ?? "-",
      r.health ?? "-",
      !b ? "no backup" : (d?.backup ?? `unknown (${b.error})`),
      d?.drill ?? "-",
      b?.alerts.length ? b.alerts.join("; ") : "-",
    ]);
  }
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  return (
    lines
      .map((l) =>
        l
          .map((c, i) => c.padEnd(widths[i]))
          .join("  ")
          .trimEnd(),
      )
      .join("\n") + "\n"
  );
}
