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
