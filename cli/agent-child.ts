import { spawn } from "child_process";
import type { AgentLog } from "./agent-log";
import { maskedLines } from "./secret-mask";

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stdout as one text, for commands whose output is read (`--json`). */
  stdout: string;
  cancelled: boolean;
}

/** A running child: its outcome, and how to stop it. */
export interface ChildRun {
  done: Promise<ChildResult>;
  /** SIGINT to its process group, then waits until the group is gone (SIGKILL after `graceMs`). */
  cancel(graceMs: number): Promise<void>;
}

/**
 * Runs a command in its own process group, every line it prints logged as a JSON entry
 * (`source`, `stream`, `line`), masked like the agent's own lines before it is written.
 * A psf child runs the Pulumi CLI under it; SIGINT to the group reaches the engine, which
 * finishes the step it is in and records its state rather than leave it half-applied.
 */
export function runChild(o: {
  command: string;
  args: string[];
  cwd: string;
  source: string;
  log: AgentLog;
  /** Keep stdout out of the log (it is parsed instead). */
  quietStdout?: boolean;
  env?: NodeJS.ProcessEnv;
}): ChildRun {
  const child = spawn(o.command, o.args, {
    cwd: o.cwd,
    env: o.env ?? process.env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let cancelled = false;
  let stdout = "";
  // Masking happens in the log itself; here a line is only split at its newline.
  const lines = (stream: string) =>
    maskedLines(
      (t) => t,
      (line) => o.log.info(line.replace(/\n$/, ""), { source: o.source, stream }),
    );
  const out = lines("stdout");
  const err = lines("stderr");
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
    if (!o.quietStdout) out.push(d);
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => err.push(d));
  const done = new Promise<ChildResult>((resolve) => {
    child.on("error", (e) => {
      o.log.error(`could not start ${o.command}`, { source: o.source, error: e.message });
      resolve({ code: 127, signal: null, stdout, cancelled });
    });
    child.on("close", (code, signal) => {
      out.end();
      err.end();
      resolve({ code, signal, stdout, cancelled });
    });
  });
  const group = child.pid;
  const signalGroup = (sig: NodeJS.Signals | 0): boolean => {
    if (group === undefined) return false;
    try {
      process.kill(-group, sig);
      return true;
    } catch {
      return false;
    }
  };
  return {
    done,
    async cancel(graceMs) {
      cancelled = true;
      if (!signalGroup("SIGINT")) return;
      const deadline = Date.now() + graceMs;
      // The group outlives the psf process while the engine cleans up: wait for all of it.
      while (signalGroup(0)) {
        if (Date.now() > deadline) {
          o.log.warn("child did not stop after SIGINT; killing it", {
            source: o.source,
            graceMs,
          });
          signalGroup("SIGKILL");
          break;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      await done;
    },
  };
}
