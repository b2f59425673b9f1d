import { previewHostSuffix } from "../components/config";
import type { Issue } from "../components/errors";

/** Pull request N's stack: `pr-N`; its Docker objects are then `psf-pr-N-*` (components/targets). */
export function previewStackName(pr: number): string {
  return `pr-${pr}`;
}

/** The PR number of a preview stack's name, or undefined for any other stack. */
export function prOfStack(name: string): number | undefined {
  const m = /^pr-([1-9]\d{0,7})$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** A service's host in PR N's preview: `<subdomain>-pr-N.<domain>`. */
export function previewHost(subdomain: string, domain: string, pr: number): string {
  return `${subdomain}${previewHostSuffix(pr)}.${domain}`;
}

/** `--pr 14` (also `#14`): a positive integer, or an issue at `--pr`. */
export function parsePr(text: string | undefined): { pr?: number; issue?: Issue } {
  const m = /^#?([1-9]\d{0,7})$/.exec((text ?? "").trim());
  if (m) return { pr: Number(m[1]) };
  return {
    issue: {
      path: "--pr",
      message: text === undefined ? "is required" : `"${text}" is not a pull request number`,
      hint: "the PR's number, e.g. --pr 14 (in a workflow: ${{ github.event.number }})",
    },
  };
}

/** `--open 3,14,15` (spaces and # allowed; "" for none): the open PRs, or an issue at `--open`. */
export function parseOpenList(text: string): { open?: Set<number>; issue?: Issue } {
  const parts = text
    .split(/[\s,]+/)
    .map((p) => p.trim())
    .filter(Boolean);
  const open = new Set<number>();
  for (const p of parts) {
    const { pr } = parsePr(p);
    if (pr === undefined)
      return {
        issue: {
          path: "--open",
          message: `"${p}" is not a pull request number`,
          hint: 'a comma-separated list of open PR numbers, e.g. --open 3,14 ("" when none is open)',
        },
      };
    open.add(pr);
  }
  return { open };
}
