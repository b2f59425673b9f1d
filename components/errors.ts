/** A problem in user input, addressed by the config path a user can find. */
export interface Issue {
  /** Config path, e.g. `services.notes.needs.database.extensions[1]`. */
  path: string;
  message: string;
  /** What would be valid. */
  hint?: string;
}

/**
 * Thrown only at the boundary (program entry, CLI) to carry every issue found at once.
 * Validation code returns `Issue[]`; it never throws for user input.
 */
export class ConfigError extends Error {
  constructor(readonly issues: Issue[]) {
    super(formatIssues(issues));
    this.name = "ConfigError";
    // A stack trace says nothing useful about a user's YAML.
    this.stack = `${this.name}: ${this.message}`;
  }
}

export function formatIssue(issue: Issue): string {
  const head = `error: ${issue.path}: ${issue.message}`;
  return issue.hint ? `${head}\n  hint: ${issue.hint}` : head;
}

export function formatIssues(issues: Issue[]): string {
  return issues.map(formatIssue).join("\n");
}

/** Joins config path segments: `join("services", "a b", 2)` → `services["a b"][2]`. */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === "number") return `${base}[${key}]`;
  const safe = /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? key : JSON.stringify(key);
  if (!base) return safe;
  return safe.startsWith('"') ? `${base}[${safe}]` : `${base}.${safe}`;
}

/**
 * `services.a.env.B` → itself, `services.a.env`, `services.a`, `services`: cut between segments
 * only, never inside a quoted key (`services["a.b"]`), so the work is linear in the path.
 */
export function pathAndParents(path: string): string[] {
  const cuts: number[] = [];
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    if (c === '"') {
      // A quoted key: skip to its closing quote.
      for (i++; i < path.length && path[i] !== '"'; i++) if (path[i] === "\\") i++;
    } else if ((c === "." || c === "[") && i > 0) cuts.push(i);
  }
  return [path, ...cuts.reverse().map((i) => path.slice(0, i))];
}

/**
 * `later` without the issues at or under a path that `first` reports: a value that failed its
 * own check is not checked again downstream, so each mistake is reported once, where it is.
 */
export function notWithin(first: Issue[], later: Issue[]): Issue[] {
  if (first.length === 0) return later;
  const reported = new Set(first.map((i) => i.path));
  return later.filter((i) => !pathAndParents(i.path).some((p) => reported.has(p)));
}
