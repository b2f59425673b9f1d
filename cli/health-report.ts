import { spawnSync } from "child_process";

interface Inspected {
  Id: string;
  Config: { Labels?: Record<string, string>; Healthcheck?: { Test?: string[] } };
  State: {
    Status: string;
    ExitCode: number;
    Health?: {
      Status: string;
      FailingStreak: number;
      Log?: { ExitCode: number; Output: string }[];
    };
  };
}

/** What a person needs to fix a failed check: which service, which probe, what it printed. */
export function describeUnhealthy(c: Inspected, logs: () => string): string | undefined {
  const service = c.Config.Labels?.["psf.workload"] ?? c.Id.slice(0, 12);
  const health = c.State.Health;
  const test = c.Config.Healthcheck?.Test ?? [];
  // ["CMD", exe, args...] or ["CMD-SHELL", script]: the part after the kind is the probe.
  const probe = test.slice(1).join(" ");
  if (health && health.Status === "unhealthy") {
    const last = health.Log?.[health.Log.length - 1];
    return [
      `psf: service ${service} failed its health check (container ${c.Id.slice(0, 12)}, ${health.FailingStreak} failures in a row)`,
      `  probe: ${probe}`,
      `  last output: ${last ? last.Output.trim() || `(none, exit ${last.ExitCode})` : "(the probe never ran)"}`,
    ].join("\n");
  }
  if (c.State.Status === "exited" || c.State.Status === "restarting" || c.State.Status === "dead")
    return [
      `psf: service ${service} is ${c.State.Status} (exit code ${c.State.ExitCode}); its last log lines:`,
      ...logs()
        .split("\n")
        .filter(Boolean)
        .slice(-10)
        .map((l) => `  ${l}`),
    ].join("\n");
  return undefined;
}

/**
 * After a failed `up`: the stack's containers that are unhealthy or not running, each with its
 * probe and the probe's last output (Docker's health log), printed to stderr.
 */
export function explainUnhealthy(stack: string, host?: string): void {
  const docker = (...args: string[]) =>
    spawnSync("docker", [...(host ? ["-H", host] : []), ...args], {
      encoding: "utf8",
      timeout: 30_000,
    });
  const ids = docker("ps", "-aq", "--filter", `label=psf.stack=${stack}`)
    .stdout?.split("\n")
    .filter(Boolean);
  if (!ids?.length) return;
  let inspected: Inspected[];
  try {
    inspected = JSON.parse(docker("inspect", ...ids).stdout);
  } catch {
    return;
  }
  for (const c of inspected) {
    // Scheduled jobs (cron runners) exit by design between runs; they are not services.
    if (c.Config.Labels?.["psf.component"] === "backup" && !c.State.Health) continue;
    const text = describeUnhealthy(c, () => {
      const r = docker("logs", "--tail", "10", c.Id);
      return `${r.stdout ?? ""}${r.stderr ?? ""}`;
    });
    if (text) process.stderr.write(`${text}\n`);
  }
}
