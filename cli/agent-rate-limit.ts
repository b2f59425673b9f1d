/**
 * A token bucket: `perMinute` requests at once, refilled at `perMinute` a minute. Global, not
 * per address: GitHub delivers from many addresses, and a flood is refused before its
 * signatures cost anything to check.
 */
export class RateLimit {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = perMinute;
    this.last = now();
  }

  /** Takes a token; false when none is left. */
  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(
      this.perMinute,
      this.tokens + ((t - this.last) / 60_000) * this.perMinute,
    );
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Seconds until a token is back, for Retry-After. */
  retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(((1 - this.tokens) * 60) / this.perMinute));
  }
}

/** The last `size` ids seen, oldest forgotten first: GitHub redelivers with the same id. */
export class RecentIds {
  private readonly seen = new Set<string>();

  constructor(private readonly size = 10_000) {}

  /** Records the id; false when it was seen already. */
  add(id: string): boolean {
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    if (this.seen.size > this.size) this.seen.delete(this.seen.values().next().value as string);
    return true;
  }
}
