import { execFile } from "child_process";
import { promisify } from "util";
import type { AgentLog } from "./agent-log";
import type { AgentMetrics } from "./agent-metrics";
import { RestartBackoff } from "./agent-backoff";

const run = promisify(execFile);

interface Unhealthy {
  id: string;
  name: string;
  workload: string;
}

/**
 * Restarts the stack's containers Docker reports `unhealthy`: Docker's restart policy acts
 * on exited containers only, so a hung server would stay down. The stack's containers are
 * those the docker target labelled `psf.stack=<stack>` (components/targets/index.ts); the
 * back-off (agent-backoff.ts) turns a crash loop into a report instead of endless restarts.
 */
export class HealthWatch {
  private readonly backoff: RestartBackoff;

  constructor(
    private readonly o: {
      stack: string;
      /** The target's Docker host (psf:target.host); default the local engine. */
      dockerHost?: string;
      log: AgentLog;
      metrics: AgentMetrics;
      backoff: RestartBackoff;
    },
  ) {
    this.backoff = o.backoff;
  }

  /** One pass: find unhealthy containers, restart or report each. */
  async check(now = Date.now()): Promise<void> {
    let found: Unhealthy[];
    try {
      found = await this.unhealthy();
    } catch (e) {
      this.o.log.error("could not list the stack's containers", {
        error: (e as Error).message.split("\n")[0],
        hint: "is the Docker engine running? (bash scripts/docker-engine.sh)",
      });
      return;
    }
    const looping = new Set<string>();
    for (const c of found) {
      const d = this.backoff.decide(c.workload, now);
      if (d.action === "give-up") {
        looping.add(c.workload);
        if (d.first)
          this.o.log.error("workload is crash-looping; not restarting it again", {
            workload: c.workload,
            container: c.name,
            restarts: d.restarts,
            hint: `docker logs ${c.name}`,
          });
      } else if (d.action === "wait")
        this.o.log.debug("unhealthy; waiting before the next restart", {
          workload: c.workload,
          container: c.name,
          until: new Date(d.untilMs).toISOString(),
        });
      else await this.restart(c, d.attempt, now);
    }
    this.o.metrics.crashLooping.reset();
    for (const w of looping) this.o.metrics.crashLooping.set({ workload: w }, 1);
  }

  private async restart(c: Unhealthy, attempt: number, now: number): Promise<void> {
    this.o.log.warn("restarting an unhealthy container", {
      workload: c.workload,
      container: c.name,
      attempt,
    });
    this.backoff.restarted(c.workload, now);
    try {
      await this.docker("restart", c.id);
      this.o.metrics.unhealthyRestarts.inc({ workload: c.workload });
    } catch (e) {
      this.o.log.error("restart failed", {
        workload: c.workload,
        container: c.name,
        error: (e as Error).message.split("\n")[0],
      });
    }
  }

  private async unhealthy(): Promise<Unhealthy[]> {
    const out = await this.docker(
      "ps",
      "--filter",
      `label=psf.stack=${this.o.stack}`,
      "--filter",
      "health=unhealthy",
      "--format",
      '{{.ID}}\t{{.Names}}\t{{.Label "psf.workload"}}',
    );
    return out
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [id, name, workload] = line.split("\t");
        return { id, name, workload: workload || name };
      });
  }

  private async docker(...args: string[]): Promise<string> {
    const env = this.o.dockerHost
      ? { ...process.env, DOCKER_HOST: this.o.dockerHost }
      : process.env;
    const { stdout } = await run("docker", args, { env, timeout: 120_000 });
    return stdout;
  }
}
