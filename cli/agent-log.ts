/** Fields of one log entry besides its time, level and message. */
export type LogFields = Record<string, unknown>;

export type Level = "debug" | "info" | "warn" | "error";

/**
 * The agent's log: one JSON object per line (`time`, `level`, `msg`, then fields), every
 * string in it passed through the current secret mask first, so a secret the stack holds
 * never reaches a line, whichever part of the entry carries it. The mask is replaced when
 * the stack's secrets change (after an `up` generated new ones).
 */
export class AgentLog {
  private mask: (text: string) => string = (t) => t;

  constructor(private readonly write: (line: string) => void) {}

  setMask(mask: (text: string) => string): void {
    this.mask = mask;
  }

  debug(msg: string, fields: LogFields = {}): void {
    this.entry("debug", msg, fields);
  }
  info(msg: string, fields: LogFields = {}): void {
    this.entry("info", msg, fields);
  }
  warn(msg: string, fields: LogFields = {}): void {
    this.entry("warn", msg, fields);
  }
  error(msg: string, fields: LogFields = {}): void {
    this.entry("error", msg, fields);
  }

  private entry(level: Level, msg: string, fields: LogFields): void {
    const entry = { time: new Date().toISOString(), level, msg, ...fields };
    this.write(`${JSON.stringify(this.masked(entry))}\n`);
  }

  /** Masks strings before serialising: a secret holding `"` or `\` is escaped in the JSON. */
  private masked(v: unknown): unknown {
    if (typeof v === "string") return this.mask(v);
    if (Array.isArray(v)) return v.map((x) => this.masked(x));
    if (v instanceof Error) return this.mask(v.message);
    if (v && typeof v === "object")
      return Object.fromEntries(
        Object.entries(v).map(([k, x]) => [this.mask(k), this.masked(x)] as const),
      );
    return v;
  }
}
