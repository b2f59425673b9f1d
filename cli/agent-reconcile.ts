/** What one `psf reconcile --json` run found and did, as the agent counts it. */
export interface ReconcileOutcome {
  ok: boolean;
  drifted: number;
  healed: number;
  summary: Record<string, unknown>;
}

/**
 * Reads `psf reconcile --stack S --json`: its exit code says whether it failed, its JSON how
 * many resources drifted and whether they were put back. Unreadable JSON is a failure.
 */
export function reconcileOutcome(code: number | null, stdout: string): ReconcileOutcome {
  let doc: Record<string, unknown> | undefined;
  try {
    const start = stdout.indexOf("{");
    doc = start >= 0 ? JSON.parse(stdout.slice(start)) : undefined;
  } catch {
    doc = undefined;
  }
  if (!doc || typeof doc !== "object")
    return { ok: false, drifted: 0, healed: 0, summary: { exitCode: code } };
  const drift = Array.isArray(doc.drift)
    ? doc.drift
    : Array.isArray(doc.resources)
      ? doc.resources
      : [];
  const healed =
    doc.healed === true ? drift.length : typeof doc.healed === "number" ? doc.healed : 0;
  const failed = code === null || doc.result === "failed" || doc.ok === false || code === 1;
  return {
    ok: !failed,
    drifted: drift.length,
    healed,
    summary: { exitCode: code, result: doc.result, drifted: drift.length, healed },
  };
}
