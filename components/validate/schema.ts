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
      default?: unknown[];
      doc?: string;
    }
  | {
      type: "map";
      values: Spec;
      keyFormat?: FormatName;
      default?: Record<string, unknown>;
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
  fields: Record<string, Spec>;
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
  let best: string | undefined;
  let bestD = Infinity;
  for (const o of options) {
    const dd = distance(word.toLowerCase(), o.toLowerCase());
    if (dd < bestD) [best, bestD] = [o, dd];
  }
  if (bestD <= Math.max(2, Math.floor(word.length / 3))) return best;
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
    message: `unknown ${what} "${key}"`,
    hint: (guess ? `did you mean "${guess}"? ` : "") + `known: ${known.join(", ") || "(none)"}`,
  };
}

/**
 * Checks `value` against `spec`, pushing every problem to `issues`, and returns the value
 * with defaults applied (or `undefined` where the value was unusable).
 */
export function check(value: unknown, spec: Spec, path: string, issues: Issue[]): any {
  if (value === undefined || value === null) {
    return "default" in spec && spec.default !== undefined
      ? structuredClone(spec.default)
      : undefined;
  }
  switch (spec.type) {
    case "any":
      return value;
    case "scalar":
      if (value instanceof SecureValue || ["string", "number", "boolean"].includes(typeof value))
        return value;
      issues.push({
        path,
        message: `expected a string, number or boolean, got ${typeName(value)}`,
      });
      return undefined;
    case "string":
      return checkString(value, spec, path, issues);
    case "int":
      if (typeof value !== "number" || !Number.isInteger(value)) {
        issues.push({
          path,
          message: `expected an integer, got ${typeName(value)} ${JSON.stringify(value)}`,
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
        issues.push({ path, message: `expected true or false, got ${typeName(value)}` });
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
        issues.push({ path, message: `needs at least ${spec.minItems} item(s)` });
      if (spec.maxItems !== undefined && value.length > spec.maxItems)
        issues.push({ path, message: `has ${value.length} items; at most ${spec.maxItems}` });
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
              message: `duplicates item ${seen.get(k)} (${k})`,
              hint: "remove the duplicate",
            });
          else seen.set(k, i);
        });
      }
      return out;
    }
    case "map": {
      if (typeof value !== "object" || Array.isArray(value) || value instanceof SecureValue) {
        issues.push({ path, message: `expected a map, got ${typeName(value)}` });
        return undefined;
      }
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (spec.keyFormat) {
          const bad = formats[spec.keyFormat](k);
          if (bad) {
            issues.push({
              path: joinPath(path, k),
              message: `key "${k}" ${bad}`,
              hint: `e.g. ${formatExamples[spec.keyFormat]}`,
            });
            continue;
          }
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
  if (typeof value === "number" && !spec.enum && !spec.format) return String(value);
  if (typeof value !== "string") {
    issues.push({ path, message: `expected a string, got ${typeName(value)}` });
    return undefined;
  }
  if (spec.enum && !spec.enum.includes(value)) {
    const guess = suggest(value, spec.enum);
    issues.push({
      path,
      message: `"${value}" is not one of ${spec.enum.join(", ")}`,
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
    issues.push({ path, message: `is ${value.length} characters long; at most ${spec.maxLength}` });
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
    issues.push({
      path,
      message: `expected a map of ${Object.keys(spec.fields).join(", ")}, got ${typeName(value)}`,
    });
    return undefined;
  }
  const input = value as Record<string, unknown>;
  const known = Object.keys(spec.fields);
  for (const key of Object.keys(input)) {
    if (!(key in spec.fields)) issues.push(unknownKeyIssue(path, key, known));
  }
  for (const req of spec.required ?? []) {
    if (input[req] === undefined || input[req] === null) {
      const f = spec.fields[req];
      const eg = f.type === "string" && f.format ? ` (e.g. ${formatExamples[f.format]})` : "";
      issues.push({ path: joinPath(path, req), message: "is required", hint: `add ${req}${eg}` });
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, fieldSpec] of Object.entries(spec.fields)) {
    const v = check(input[key], fieldSpec, joinPath(path, key), issues);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

function truncate(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
