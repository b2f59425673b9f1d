import type { ReconcileReport } from "./reconcile";

/** What one `psf reconcile --json` run found and did, as the agent counts it. */
export interface ReconcileOutcome {
  /** `locked`: another psf run held the stack (a deploy by hand); not a failure of the stack. */
  result: "success" | "failure" | "locked" | "cancelled";
  drifted: number;
  healed: number;
  summary: Record<string, unknown>;
}

/**
 * Reads `psf reconcile --stack S --json` (cli/reconcile.ts, docs/reconcile.md): its report
 * says what drifted and whether it was put back. Output that is not a report is a failure.
 */
export function reconcileOutcome(code: number | null, stdout: string): ReconcileOutcome {
  let report: Partial<ReconcileReport> | undefined;
  try {
    const start = stdout.indexOf("{");
    report = start >= 0 ? JSON.parse(stdout.slice(start)) : undefined;
  } catch {
    report = undefined;
  }
  if (!report || typeof report.outcome !== "string")
    return { result: "failure", drifted: 0, healed: 0, summary: { exitCode: code } };
  const drift = Array.isArray(report.drift) ? report.drift : [];
  const healed = report.outcome === "healed" ? drift.length : 0;
  const result =
    report.outcome === "noDrift" || report.outcome === "healed"
      ? "success"
      : report.outcome === "locked"
        ? "locked"
        : report.outcome === "interrupted"
          ? "cancelled"
          : "failure";
  return {
    result,
    drifted: drift.length,
    healed,
    summary: {
      outcome: report.outcome,
      exitCode: code,
      drifted: drift.map((d) => `${d.resource} (${d.kind})`),
      changes: Array.isArray(report.changes) ? report.changes.length : 0,
      durationMs: report.durationMs,
      ...(report.error ? { error: report.error } : {}),
      ...(report.lockedBy ? { lockedBy: report.lockedBy } : {}),
    },
  };
}
