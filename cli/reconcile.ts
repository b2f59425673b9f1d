import { DriftCollector, DriftedResource, PlannedChange } from "./drift";
import { prepareStack } from "./engine";
import { upWithOutputs } from "./engine-stack";
import { retryEngine } from "./engine-retry";
import { EXIT_INTERRUPTED, interruptible, interrupted } from "./interrupt";
import { EXIT_INVALID } from "./output";
import { EXIT_PREREQUISITE } from "./prerequisite-error";
import { EXIT_LOCKED, StackLock, describeLocks, lockedMessage, stackLocks } from "./stack-lock";

/** Exit codes of `psf reconcile` (docs/reconcile.md; 2, 3 and 6 as every engine command). */
export const RECONCILE_EXIT = {
  noDrift: 0,
  failed: 1,
  invalid: EXIT_INVALID,
  missingPrerequisite: EXIT_PREREQUISITE,
  healed: 4,
  driftFound: 5,
  locked: EXIT_LOCKED,
  interrupted: EXIT_INTERRUPTED,
} as const;

export type ReconcileOutcome = keyof typeof RECONCILE_EXIT;

/** What `psf reconcile --json` prints on stdout, whatever the outcome (docs/reconcile.md). */
export interface ReconcileReport {
  stack: string;
  dryRun: boolean;
  outcome: ReconcileOutcome;
  exitCode: number;
  startedAt: string;
  durationMs: number;
  /** Resources whose real state differs from the stack's state, field by field. */
  drift: DriftedResource[];
  /** What the update changed to heal it (dry run: what it would change). */
  changes: PlannedChange[];
  /** Who holds the stack (outcome `locked`). */
  lockedBy?: { username: string; hostname: string; pid: number; since: string }[];
  /** Why it failed (outcome `failed`); invalid and missing-prerequisite errors go to stderr. */
  error?: string;
}

export interface ReconcileOptions {
  stack: string;
  dryRun?: boolean;
  json?: boolean;
}

/**
 * `psf reconcile`: refreshes the stack against what really runs, reports the drift and, unless
 * a dry run, updates to put it back. Refresh and update are one engine operation
 * (`up --refresh`), so the backend's lock is held from the first read to the last change;
 * a dry run is `preview --refresh`, which changes neither the resources nor the state.
 */
export async function reconcileCommand(o: ReconcileOptions): Promise<number> {
  const started = new Date();
  const report: ReconcileReport = {
    stack: o.stack,
    dryRun: !!o.dryRun,
    outcome: "noDrift",
    exitCode: 0,
    startedAt: started.toISOString(),
    durationMs: 0,
    drift: [],
    changes: [],
  };
  const finish = (outcome: ReconcileOutcome, extra: Partial<ReconcileReport> = {}) => {
    Object.assign(report, extra, {
      outcome,
      exitCode: RECONCILE_EXIT[outcome],
      durationMs: Date.now() - started.getTime(),
    });
    if (o.json) process.stdout.write(JSON.stringify(report, null, 2) + "\n");
    else printReport(report);
    return report.exitCode;
  };
  const locked = (locks: StackLock[]) =>
    finish("locked", {
      lockedBy: locks.map((l) => ({
        username: l.username,
        hostname: l.hostname,
        pid: l.pid,
        since: l.timestamp,
      })),
    });

  const held = stackLocks(o.stack);
  if (held.length) {
    process.stderr.write(describeLocks(o.stack, held));
    return locked(held);
  }
  const prepared = await prepareStack(o.dryRun ? "preview" : "up", o.stack);
  if ("code" in prepared)
    return finish(prepared.code === EXIT_INVALID ? "invalid" : "missingPrerequisite");
  const { stack } = prepared;
  if (!(await stack.exportStack()).deployment?.resources?.length)
    return finish("failed", {
      error: `stack ${o.stack} has never been deployed: nothing to reconcile (run psf up --stack ${o.stack})`,
    });

  const collector = new DriftCollector();
  // The engine's progress goes to stderr: stdout is the report (JSON with --json).
  const opts = {
    refresh: true,
    color: "never" as const,
    onOutput: (out: string) => process.stderr.write(out),
    onEvent: (e: Parameters<DriftCollector["onEvent"]>[0]) => {
      collector.onEvent(e);
      if (!o.json && e.resOutputsEvent?.metadata.op === "refresh") {
        const d = collector.drift[collector.drift.length - 1];
        if (d && d.urn === e.resOutputsEvent.metadata.urn) process.stdout.write(driftLines(d));
      }
    },
  };
  try {
    await interruptible(async (signal, onCancelEvent) => {
      const run = {
        ...opts,
        signal,
        onEvent: (e: Parameters<DriftCollector["onEvent"]>[0]) => {
          onCancelEvent(e);
          opts.onEvent(e);
        },
      };
      if (o.dryRun) await stack.preview(run);
      else await retryEngine(`reconcile ${o.stack}`, () => upWithOutputs(stack, run));
    });
  } catch (e) {
    const err = e as { commandResult?: { stderr?: string }; message?: string };
    const stderr = err.commandResult?.stderr ?? "";
    if (lockedMessage(o.stack, stderr) !== undefined) {
      process.stderr.write(lockedMessage(o.stack, stderr)!);
      return locked(stackLocks(o.stack));
    }
    process.stderr.write(stderr);
    if (interrupted.signal)
      return finish("interrupted", {
        drift: collector.drift,
        changes: collector.planned,
        error: `stopped by ${interrupted.signal}; the next run finishes what was left`,
      });
    const last = (stderr || err.message || String(e)).trim().split("\n").filter(Boolean).pop();
    return finish("failed", {
      drift: collector.drift,
      changes: collector.planned,
      error: last ?? "the engine failed",
    });
  }
  const extra = { drift: collector.drift, changes: collector.planned };
  if (!extra.drift.length && !extra.changes.length) return finish("noDrift", extra);
  return finish(o.dryRun ? "driftFound" : "healed", extra);
}

function printReport(r: ReconcileReport): void {
  const n = r.drift.length;
  const what = `${n} drifted resource${n === 1 ? "" : "s"}`;
  const steps = r.changes.map((c) => `${c.op} ${c.resource}`).join(", ");
  const line: Record<ReconcileOutcome, string> = {
    noDrift: "no drift: the resources match the stack",
    healed: `${what}; healed (${steps || "state refreshed, nothing to change"})`,
    driftFound: `${what}; dry run, nothing changed${steps ? `; up would: ${steps}` : ""}`,
    failed: `failed${r.error ? `: ${r.error}` : ""}`,
    invalid: "the stack config is invalid (see above)",
    missingPrerequisite: "a prerequisite is missing (see above)",
    locked: "refused: another run holds the stack (see above)",
    interrupted: `interrupted${r.error ? `: ${r.error}` : ""}`,
  };
  process.stdout.write(
    `psf: reconcile ${r.stack}: ${line[r.outcome]} (exit ${r.exitCode}, ${(r.durationMs / 1000).toFixed(1)} s)\n`,
  );
}

/** One drifted resource, a line per field, as the refresh finds it. */
function driftLines(d: DriftedResource): string {
  const head = `drift: ${d.resource} (${d.type})${d.kind === "missing" ? ": gone" : ""}\n`;
  return (
    head +
    d.fields
      .map((f) => `  ${f.field}: ${JSON.stringify(f.before)} -> ${JSON.stringify(f.after)}\n`)
      .join("")
  );
}
