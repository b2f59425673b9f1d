import { Issue, joinPath } from "../errors";
import { FormatName, formatExamples, formats } from "./formats";

/**
 * A small declarative schema for the stack config. Every contract request, provider
 * setting and service field is described with it, so every field gets the same checks
 * (type, enum, range, format, unknown keys) and the same error shape.
 */
export type Spec =
  | StringSpec
  | { type: "int"; min?: number; max?: number; default?: number; doc?: string }
  | { type: "bool"; default?: boolean; doc?: string }
  | { type: "scalar"; doc?: string }
  | {
      type: "list";
      items: Spec;
      minItems?: number;
      maxItems?: number;
      unique?: boolean;
      default?: readonly unknown[];
      doc?: string;
    }
  | {
      type: "map";
      values: Spec;
      keyFormat?: FormatName;
      default?: Readonly<Record<string, unknown>>;
      doc?: string;
    }
  | ObjectSpec
  | { type: "any"; doc?: string };

export interface StringSpec {
  type: "string";
  format?: FormatName;
  enum?: readonly string[];
  minLength?: number;
  maxLength?: number;
  default?: string;
  /** A `{secure: ...}` config value is accepted (and stays secret). */
  secret?: boolean;
  doc?: string;
}

export interface ObjectSpec {
  type: "object";
  fields: Readonly<Record<string, Spec>>;
  required?: readonly string[];
  doc?: string;
}

/** An encrypted config value (`secure:` in a stack file), opaque outside Pulumi. */
export class SecureValue {
  constructor(readonly ciphertext: string) {}
  toJSON(): string {
    return "[secret]";
  }
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (v instanceof SecureValue) return "a secret";
  return typeof v === "object" ? "a map" : `a ${typeof v}`;
}

/** A value as an error message shows it: short, and never `null` for a number JSON cannot write. */
export function describe(v: unknown): string {
  if (typeof v === "number") {
    if (Number.isNaN(v)) return "NaN (not a number)";
    if (!Number.isFinite(v)) return `a ${v < 0 ? "negative " : ""}number too large to represent`;
    return String(v);
  }
  if (typeof v === "string") return `"${truncate(v)}"`;
  if (typeof v === "boolean") return String(v);
  return typeName(v);
}

/**
 * A copy of a spec's default list or map (plain data): a tenth of `structuredClone`'s cost,
 * which was 5% of validating a 1 MB stack (--cpu-prof).
 */
function copyOf<T>(value: T): T {
  if (Array.isArray(value)) return value.map(copyOf) as T;
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = copyOf(v);
  return out as T;
}

/** Whether `key` is an own key of a spec's or config's dictionary (never one inherited from Object). */
export function hasKey(o: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}

/** A map built from config keys: no prototype, so no key (`__proto__`, `constructor`) is special. */
export function newMap<T = unknown>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/**
 * Keys refused everywhere: code outside the validator may copy a map into a plain object,
 * where `__proto__` would replace the prototype instead of adding a key.
 */
export const RESERVED_KEYS: readonly string[] = ["__proto__"];

export function reservedKeyIssue(path: string, key: string): Issue {
  return {
    path: joinPath(path, key),
    message: `the key "${key}" is not allowed`,
    hint: "rename or remove it (it names a JavaScript object internal)",
  };
}

/** Why a string cannot be passed on as it is, or undefined. */
function badCharacters(value: string): string | undefined {
  if (value.includes("\0")) return "contains a NUL character (\\0), which no program can receive";
  return undefined;
}

/** Levenshtein distance, for "did you mean" hints on unknown keys. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i][j] = Math.min(
        d[i - 1][j] + 1,
        d[i][j - 1] + 1,
        d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
  return d[a.length][b.length];
}

export function suggest(word: string, options: readonly string[]): string | undefined {
  // A guess is worth a bounded amount of work: long words and long option lists get none.
  if (word.length > 64 || options.length > 200) return undefined;
  let best: string | undefined;
  let bestD = Infinity;
  const limit = Math.max(2, Math.floor(word.length / 3));
  for (const o of options) {
    if (Math.abs(o.length - word.length) > limit || o.length > 64) continue;
    const dd = distance(word.toLowerCase(), o.toLowerCase());
    if (dd < bestD) [best, bestD] = [o, dd];
  }
  if (bestD <= limit) return best;
  // An abbreviation (`prod`, `dev`) names the one option it starts.
  const prefixed = options.filter(
    (o) => word.length >= 3 && o.toLowerCase().startsWith(word.toLowerCase()),
  );
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

export function unknownKeyIssue(
  path: string,
  key: string,
  known: readonly string[],
  what = "key",
): Issue {
  const guess = suggest(key, known);
  return {
    path: joinPath(path, key),
    message: `unknown ${what} "${truncate(key)}"`,
    hint: (guess ? `did you mean "${guess}"? ` : "") + `known: ${listed(known)}`,
  };
}

/** A list for a hint: at most 20 names, so a hint stays a line however large the stack. */
export function listed(names: readonly string[]): string {
  if (names.length === 0) return "(none)";
  if (names.length <= 20) return names.join(", ");
  return `${names.slice(0, 20).join(", ")} and ${names.length - 20} more`;
}

/**
 * Checks `value` against `spec`, pushing every problem to `issues`, and returns the value
 * with defaults applied (or `undefined` where the value was unusable).
 */
export function check(value: unknown, spec: Spec, path: string, issues: Issue[]): any {
  if (value === undefined || value === null) {
    if (!("default" in spec) || spec.default === undefined) return undefined;
    // Each use gets its own copy of a default list or map; strings and numbers need none.
    return typeof spec.default === "object" ? copyOf(spec.default) : spec.default;
  }
  switch (spec.type) {
    case "any":
      return value;
    case "scalar": {
      if (value instanceof SecureValue || typeof value === "boolean") return value;
      if (typeof value === "number") {
        if (!Number.isFinite(value)) {
          issues.push({
            path,
            message: `expected a string, number or boolean, got ${describe(value)}`,
            hint: "quote it to pass it as text",
          });
          return undefined;
        }
        if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
          issues.push({
            path,
            message: `${value} is too large to be kept exactly as a number`,
            hint: "quote it to pass it as text",
          });
          return undefined;
        }
        return value;
      }
      if (typeof value === "string") {
        const bad = badCharacters(value);
        if (bad) {
          issues.push({ path, message: bad, hint: "remove it" });
          return undefined;
        }
        return value;
      }
      issues.push({
        path,
        message: `expected a string, number or boolean, got ${typeName(value)}`,
        hint: Array.isArray(value)
          ? "write one value, or quote the list to pass it as text"
          : "write one value, or quote it to pass it as text",
      });
      return undefined;
    }
    case "string":
      return checkString(value, spec, path, issues);
    case "int":
      if (typeof value !== "number" || !Number.isInteger(value)) {
        issues.push({
          path,
          message: `expected an integer, got ${
            typeof value === "number"
              ? Number.isFinite(value)
                ? `the number ${value}`
                : describe(value)
              : typeof value === "string"
                ? `the string ${describe(value)}`
                : typeName(value)
          }`,
          hint: intHint(spec),
        });
        return undefined;
      }
      if (spec.min !== undefined && value < spec.min) {
        issues.push({
          path,
          message: `${value} is below the minimum ${spec.min}`,
          hint: `use a value of at least ${spec.min}`,
        });
        return undefined;
      }
      if (spec.max !== undefined && value > spec.max) {
        issues.push({
          path,
          message: `${value} is above the maximum ${spec.max}`,
          hint: `use a value of at most ${spec.max}`,
        });
        return undefined;
      }
      return value;
    case "bool":
      if (typeof value !== "boolean") {
        issues.push({
          path,
          message: `expected true or false, got ${typeName(value)}`,
          hint: "write true or false, without quotes",
        });
        return undefined;
      }
      return value;
    case "list": {
      if (!Array.isArray(value)) {
        issues.push({
          path,
          message: `expected a list, got ${typeName(value)}`,
          hint: "write it as [a, b] or one `- item` per line",
        });
        return undefined;
      }
      if (spec.minItems !== undefined && value.length < spec.minItems)
        issues.push({
          path,
          message: `needs at least ${spec.minItems} item(s)`,
          hint: "add an item, or remove the key",
        });
      if (spec.maxItems !== undefined && value.length > spec.maxItems)
        issues.push({
          path,
          message: `has ${value.length} items; at most ${spec.maxItems}`,
          hint: `remove ${value.length - spec.maxItems} item(s)`,
        });
      const out = value.map((item, i) => {
        // `- ` with nothing after it is null in YAML: an empty item, never a default.
        if (item === null || item === undefined) {
          issues.push({
            path: joinPath(path, i),
            message: "is an empty item",
            hint: "remove it, or give it a value",
          });
          return undefined;
        }
        return check(item, spec.items, joinPath(path, i), issues);
      });
      if (spec.unique) {
        const seen = new Map<string, number>();
        value.forEach((item, i) => {
          const k = JSON.stringify(item);
          if (seen.has(k))
            issues.push({
              path: joinPath(path, i),
              message: `duplicates item ${seen.get(k)} (${truncate(k)})`,
              hint: "remove the duplicate",
            });
          else seen.set(k, i);
        });
      }
      return out;
    }
    case "map": {
      if (typeof value !== "object" || Array.isArray(value) || value instanceof SecureValue) {
        issues.push({
          path,
          message: `expected a map, got ${typeName(value)}`,
          hint: "write it as key: value lines, or {key: value}",
        });
        return undefined;
      }
      const out = newMap();
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (RESERVED_KEYS.includes(k)) {
          issues.push(reservedKeyIssue(path, k));
          continue;
        }
        const badKey = spec.keyFormat ? formats[spec.keyFormat](k) : badCharacters(k);
        if (badKey) {
          issues.push({
            path: joinPath(path, k),
            message: `key "${truncate(k)}" ${badKey}`,
            hint: spec.keyFormat ? `e.g. ${formatExamples[spec.keyFormat]}` : "rename it",
          });
          continue;
        }
        // `KEY:` with nothing after it is null in YAML; it would otherwise vanish or become "undefined".
        if (
          (v === null || v === undefined) &&
          spec.values.type !== "any" &&
          !("default" in spec.values && spec.values.default !== undefined)
        ) {
          issues.push({
            path: joinPath(path, k),
            message: "has no value",
            hint: ["string", "scalar"].includes(spec.values.type)
              ? `give ${k} a value (write "" for an empty string), or remove it`
              : `give ${k} a value, or remove it`,
          });
          out[k] = undefined;
          continue;
        }
        out[k] = check(v, spec.values, joinPath(path, k), issues);
      }
      return out;
    }
    case "object":
      return checkObject(value, spec, path, issues);
  }
}

function checkString(value: unknown, spec: StringSpec, path: string, issues: Issue[]): unknown {
  if (value instanceof SecureValue) {
    if (spec.secret) return value;
    issues.push({ path, message: "must not be a secret value", hint: "use a plain value here" });
    return undefined;
  }
  // A number where text is expected is its text, as written: only while it is exact.
  if (
    typeof value === "number" &&
    !spec.enum &&
    !spec.format &&
    Number.isFinite(value) &&
    !(Number.isInteger(value) && !Number.isSafeInteger(value))
  )
    value = String(value);
  if (typeof value !== "string") {
    issues.push({
      path,
      message: `expected a string, got ${typeof value === "number" ? `a number ${describe(value)}` : typeName(value)}`,
      hint: spec.enum
        ? `use one of: ${spec.enum.join(", ")}`
        : spec.format
          ? `e.g. ${formatExamples[spec.format]}`
          : "quote it to pass it as text",
    });
    return undefined;
  }
  const badChars = badCharacters(value);
  if (badChars) {
    issues.push({ path, message: badChars, hint: "remove it" });
    return undefined;
  }
  if (spec.enum && !spec.enum.includes(value)) {
    const guess = suggest(value, spec.enum);
    issues.push({
      path,
      message: `"${truncate(value)}" is not one of ${spec.enum.join(", ")}`,
      hint: guess ? `did you mean "${guess}"?` : `use one of: ${spec.enum.join(", ")}`,
    });
    return undefined;
  }
  const minLength = spec.minLength ?? (spec.format ? 0 : 1);
  if (value.length < minLength) {
    issues.push({
      path,
      message: "must not be empty",
      hint: spec.format ? `e.g. ${formatExamples[spec.format]}` : undefined,
    });
    return undefined;
  }
  if (spec.maxLength !== undefined && value.length > spec.maxLength) {
    issues.push({
      path,
      message: `is ${value.length} characters long; at most ${spec.maxLength}`,
      hint: `shorten it to ${spec.maxLength} characters`,
    });
    return undefined;
  }
  if (spec.format) {
    const bad = formats[spec.format](value);
    if (bad) {
      issues.push({
        path,
        message: `"${truncate(value)}" ${bad}`,
        hint: `e.g. ${formatExamples[spec.format]}`,
      });
      return undefined;
    }
  }
  return value;
}

function checkObject(value: unknown, spec: ObjectSpec, path: string, issues: Issue[]): unknown {
  if (typeof value !== "object" || Array.isArray(value) || value instanceof SecureValue) {
    const known = Object.keys(spec.fields);
    issues.push({
      path,
      message: `expected a map of ${known.join(", ")}, got ${typeName(value)}`,
      hint: known.length
        ? `e.g. {${known[0]}: ...}`
        : "write {} (this takes no settings), or remove it",
    });
    return undefined;
  }
  const input = value as Record<string, unknown>;
  const known = Object.keys(spec.fields);
  for (const key of Object.keys(input)) {
    if (!hasKey(spec.fields, key)) issues.push(unknownKeyIssue(path, key, known));
  }
  for (const req of spec.required ?? []) {
    if (!hasKey(input, req) || input[req] === undefined || input[req] === null) {
      const f = spec.fields[req];
      const eg = f.type === "string" && f.format ? ` (e.g. ${formatExamples[f.format]})` : "";
      issues.push({ path: joinPath(path, req), message: "is required", hint: `add ${req}${eg}` });
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, fieldSpec] of Object.entries(spec.fields)) {
    const v = check(
      hasKey(input, key) ? input[key] : undefined,
      fieldSpec,
      joinPath(path, key),
      issues,
    );
    if (v !== undefined) out[key] = v;
  }
  return out;
}

function intHint(spec: { min?: number; max?: number }): string {
  if (spec.min !== undefined && spec.max !== undefined)
    return `use a whole number from ${spec.min} to ${spec.max}`;
  if (spec.min !== undefined) return `use a whole number of at least ${spec.min}`;
  if (spec.max !== undefined) return `use a whole number of at most ${spec.max}`;
  return "use a whole number, e.g. 1";
}

export function truncate(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
