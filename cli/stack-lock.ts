import * as fs from "fs";
import * as path from "path";
import { PROJECT_ROOT } from "./source";

/**
 * Exit code of `psf up` and `psf reconcile` refused because another run holds the stack's lock
 * (docs/reconcile.md). Distinct from a failure: nothing was tried, a later run may succeed.
 */
export const EXIT_LOCKED = 6;

/** One lock file of Pulumi's `file://` backend: who took it and when. */
export interface StackLock {
  file: string;
  username: string;
  hostname: string;
  pid: number;
  timestamp: string;
}

/**
 * The locks the `file://` backend holds on a stack. The engine writes one per running update,
 * refresh or destroy (`.pulumi/locks/<org>/<project>/<stack>/<uuid>.json`; before projects,
 * `.pulumi/locks/<stack>/`) and refuses to start while another exists. Other backends: none
 * known here (the engine still refuses, and lockedMessage words its error).
 */
export function stackLocks(stack: string, backend = backendDir()): StackLock[] {
  if (!backend) return [];
  const root = path.join(backend, ".pulumi", "locks");
  const project = projectName();
  const dirs = [path.join(root, "organization", project, stack), path.join(root, stack)];
  return dirs.flatMap((dir) => {
    let names: string[];
    try {
      names = fs.readdirSync(dir).filter((n) => n.endsWith(".json"));
    } catch {
      return [];
    }
    return names.flatMap((n) => {
      const file = path.join(dir, n);
      try {
        const c = JSON.parse(fs.readFileSync(file, "utf8"));
        return [
          { file, username: c.username, hostname: c.hostname, pid: c.pid, timestamp: c.timestamp },
        ];
      } catch {
        // Being written or removed right now.
        return [];
      }
    });
  });
}

/** The refusal printed when another run holds the stack, naming who and since when. */
export function describeLocks(stack: string, locks: StackLock[]): string {
  const holders = locks.map((l) => {
    const since = new Date(l.timestamp);
    const age = Number.isNaN(since.getTime()) ? "" : ` (${ago(Date.now() - since.getTime())} ago)`;
    return `  held by ${l.username}@${l.hostname} (pid ${l.pid}) since ${l.timestamp}${age}: ${l.file}`;
  });
  return (
    `error: stack ${stack} is locked: another psf up, reconcile, refresh or destroy is running on it\n` +
    `${holders.join("\n")}\n` +
    `  hint: wait for it to end and run this again; if that process is gone (a crash, a reboot), ` +
    `\`pulumi cancel --stack ${stack}\` removes the lock\n`
  );
}

/** Before anything runs: the refusal's exit code when the stack is locked, else undefined. */
export function refuseWhenLocked(stack: string): number | undefined {
  const locks = stackLocks(stack);
  if (!locks.length) return undefined;
  process.stderr.write(describeLocks(stack, locks));
  return EXIT_LOCKED;
}

/**
 * The engine's own refusal (a run that took the lock between our check and its start, or a
 * backend whose lock files we do not read), as the same message. Undefined for other errors.
 */
export function lockedMessage(stack: string, engineStderr: string): string | undefined {
  if (!/the stack is currently locked/i.test(engineStderr)) return undefined;
  const locks = stackLocks(stack);
  if (locks.length) return describeLocks(stack, locks);
  // Gone already, or not a file:// backend: the engine's lines name the holder.
  const lines = engineStderr
    .split("\n")
    .filter((l) => /created by|currently locked/.test(l))
    .map((l) => `  ${l.trim()}`);
  return (
    `error: stack ${stack} is locked: another run holds it\n${lines.join("\n")}\n` +
    `  hint: wait for it to end and run this again\n`
  );
}

function backendDir(): string | undefined {
  const url =
    process.env.PULUMI_BACKEND_URL ?? `file://${path.join(PROJECT_ROOT, ".pulumi-state")}`;
  return url.startsWith("file://") ? url.slice("file://".length) : undefined;
}

function projectName(): string {
  const yaml = fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), "utf8");
  return /^name:\s*(\S+)/m.exec(yaml)?.[1] ?? "";
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}
