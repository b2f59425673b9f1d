/**
 * Exponential backoff for operations that fail for transient reasons: attempt n+1 waits
 * `firstDelayMs * factor^(n-1)` (capped at `maxDelayMs`), each failed attempt is logged with its
 * cause, and after `attempts` tries the last failure stands. Only failures `transient` names a
 * cause for are retried: anything else would fail the same way again.
 */
export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  firstDelayMs: number;
  factor: number;
  maxDelayMs: number;
}

export type Attempt<T> = { ok: true; value: T } | { ok: false; why: string; output: string };

export interface RetryOutcome<T> {
  result: Attempt<T>;
  attempts: number;
  /** Set when it gave up on a transient failure after the last attempt. */
  exhausted: boolean;
}

/** The wait before attempt `next` (2 for the first retry). */
export function backoffDelay(policy: RetryPolicy, next: number): number {
  return Math.min(policy.maxDelayMs, policy.firstDelayMs * policy.factor ** (next - 2));
}

export async function withRetries<T>(
  label: string,
  policy: RetryPolicy,
  run: (attempt: number) => Promise<Attempt<T>>,
  o: {
    transient: (output: string) => string | undefined;
    log: (line: string) => void;
    /** Stops retrying (an interrupt): the last failure stands. */
    stopped?: () => boolean;
  },
): Promise<RetryOutcome<T>> {
  for (let attempt = 1; ; attempt++) {
    const result = await run(attempt);
    if (result.ok) return { result, attempts: attempt, exhausted: false };
    const cause = o.transient(result.output);
    if (!cause || o.stopped?.()) return { result, attempts: attempt, exhausted: false };
    if (attempt >= policy.attempts) {
      o.log(
        `${label}: attempt ${attempt}/${policy.attempts} failed (${cause.trim()}); giving up after ${attempt} attempts`,
      );
      return { result, attempts: attempt, exhausted: true };
    }
    const wait = backoffDelay(policy, attempt + 1);
    o.log(
      `${label}: attempt ${attempt}/${policy.attempts} failed with a transient error (${cause.trim()}); retrying in ${wait / 1000} s`,
    );
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}
