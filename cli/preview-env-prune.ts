/** A preview stack as `prune` sees it. */
export interface PreviewStack {
  stack: string;
  pr: number;
  /** When its first `up` ran (`psf:preview.createdAt`); undefined when unknown. */
  createdAt?: Date;
}

export interface PruneRule {
  /** The PRs still open; undefined when unknown (then only age counts). */
  open?: ReadonlySet<number>;
  /** Remove previews created longer ago than this. */
  olderThanMs?: number;
  now: Date;
}

/** Which previews to remove, each with why: its PR is closed, or it is older than the bound. */
export function selectForPrune(
  previews: readonly PreviewStack[],
  rule: PruneRule,
): Array<PreviewStack & { reason: string }> {
  const out: Array<PreviewStack & { reason: string }> = [];
  for (const p of previews) {
    const reasons: string[] = [];
    if (rule.open && !rule.open.has(p.pr)) reasons.push(`PR #${p.pr} is not open`);
    if (rule.olderThanMs !== undefined && p.createdAt) {
      const age = rule.now.getTime() - p.createdAt.getTime();
      if (age > rule.olderThanMs) reasons.push(`created ${ageText(age)} ago`);
    }
    if (reasons.length) out.push({ ...p, reason: reasons.join("; ") });
  }
  return out;
}

function ageText(ms: number): string {
  const h = ms / 3_600_000;
  return h >= 48
    ? `${Math.floor(h / 24)}d`
    : h >= 1
      ? `${Math.floor(h)}h`
      : `${Math.floor(ms / 60_000)}m`;
}
