export interface BackoffPolicy {
  /** Wait after the first restart before another; doubled after each. */
  baseMs: number;
  /** The longest wait between two restarts. */
  maxMs: number;
  /** Restarts within `windowMs` after which a workload is reported as crash-looping instead. */
  maxRestarts: number;
  windowMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = {
  baseMs: 60_000,
  maxMs: 30 * 60_000,
  maxRestarts: 5,
  windowMs: 60 * 60_000,
};

export type Decision =
  | { action: "restart"; attempt: number }
  | { action: "wait"; untilMs: number }
  /** `first`: the first time it is seen crash-looping in this window (report it then). */
  | { action: "give-up"; restarts: number; first: boolean };

/**
 * When to restart an unhealthy workload: at once the first time, then after a wait that
 * doubles, and not at all once it has been restarted `maxRestarts` times within the window
 * (a crash loop: restarting it again would only hide it). Old restarts leave the window, so
 * a workload that recovered is treated as new.
 */
export class RestartBackoff {
  private readonly restarts = new Map<string, number[]>();
  private readonly reported = new Set<string>();

  constructor(private readonly policy: BackoffPolicy = DEFAULT_BACKOFF) {}

  /** What to do about `key` (a workload) found unhealthy at `now`. */
  decide(key: string, now: number): Decision {
    const recent = (this.restarts.get(key) ?? []).filter((t) => now - t < this.policy.windowMs);
    this.restarts.set(key, recent);
    if (recent.length >= this.policy.maxRestarts) {
      const first = !this.reported.has(key);
      this.reported.add(key);
      return { action: "give-up", restarts: recent.length, first };
    }
    this.reported.delete(key);
    if (recent.length) {
      const wait = Math.min(this.policy.maxMs, this.policy.baseMs * 2 ** (recent.length - 1));
      const until = recent[recent.length - 1] + wait;
      if (now < until) return { action: "wait", untilMs: until };
    }
    return { action: "restart", attempt: recent.length + 1 };
  }

  /** Records a restart of `key` at `now`. */
  restarted(key: string, now: number): void {
    this.restarts.set(key, [...(this.restarts.get(key) ?? []), now]);
  }

  /** Workloads currently given up on, for the crash-looping gauge. */
  givenUp(): string[] {
    return [...this.reported];
  }
}
