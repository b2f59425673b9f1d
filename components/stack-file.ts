import * as fs from "fs";
import type { RawConfig } from "./config";
import { Issue, joinPath } from "./errors";
import { LIMITS, bytesText } from "./validate/limits";
import { SecureValue, describe, hasKey, newMap } from "./validate/schema";
import { Segment, readYaml } from "./validate/yaml";

/** Where a stack file's problem is, as a config path: `psf:` keys without the prefix. */
export function configPath(at: Segment[]): string {
  const [first, second, ...rest] = at;
  let path: string;
  let tail: Segment[];
  if (first === "config" && typeof second === "string" && second.startsWith("psf:")) {
    path = joinPath("", second.slice(4));
    tail = rest;
  } else {
    path = first === undefined ? "" : joinPath("", first);
    tail = second === undefined ? [] : [second, ...rest];
  }
  for (const s of tail) path = joinPath(path, s);
  return path;
}

/**
 * Reads a `Pulumi.<stack>.yaml` file: `config:` at the top, `secure:` values kept opaque.
 * `fatal` when nothing could be read (no file, not YAML, over a limit of ./validate/limits.ts);
 * otherwise `issues` are problems of single keys (duplicates, unknown tags) and `raw` holds the rest.
 */
export function readStackFile(file: string): { raw: RawConfig; issues: Issue[]; fatal: boolean } {
  const refuse = (message: string, hint: string) => ({
    raw: newMap(),
    issues: [{ path: file, message, hint }],
    fatal: true,
  });
  let text: string;
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) return refuse("is not a file", "pass a Pulumi.<stack>.yaml file");
    if (stat.size > LIMITS.fileBytes) return refuse(tooLarge(stat.size), TOO_LARGE_HINT);
    // Read at most one byte past the limit: the file may grow between stat and read.
    const fd = fs.openSync(file, "r");
    try {
      const buf = Buffer.alloc(LIMITS.fileBytes + 1);
      let n = 0;
      for (let r = 1; r > 0 && n < buf.length; n += r)
        r = fs.readSync(fd, buf, n, buf.length - n, null);
      if (n > LIMITS.fileBytes) return refuse(tooLarge(n), TOO_LARGE_HINT);
      text = buf.subarray(0, n).toString("utf8");
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return refuse(
      err.code === "ENOENT" ? "file not found" : `cannot be read: ${err.code ?? err.message}`,
      "pass a Pulumi.<stack>.yaml file with a config: map",
    );
  }
  return readStackText(text, file);
}

const TOO_LARGE_HINT = `PSF reads stack files of at most ${bytesText(LIMITS.fileBytes)}; move large values (certificates, scripts) into images or secrets, or split the stack (docs/validation.md)`;

function tooLarge(bytes: number): string {
  return `is ${bytes.toLocaleString("en")} bytes (${bytesText(bytes)}); the largest stack file PSF reads is ${bytesText(LIMITS.fileBytes)} (${LIMITS.fileBytes.toLocaleString("en")} bytes)`;
}

/** {@link readStackFile} on text; a problem of the file as a whole has the path `file`. */
export function readStackText(
  text: string,
  file = "stack file",
): { raw: RawConfig; issues: Issue[]; fatal: boolean } {
  const FILE = file;
  if (Buffer.byteLength(text, "utf8") > LIMITS.fileBytes)
    return {
      raw: newMap(),
      issues: [
        { path: FILE, message: tooLarge(Buffer.byteLength(text, "utf8")), hint: TOO_LARGE_HINT },
      ],
      fatal: true,
    };
  const read = readYaml(text);
  if (read.fatal) {
    const where = read.fatal.line ? ` (line ${read.fatal.line})` : "";
    return {
      raw: newMap(),
      issues: [
        {
          path: read.fatal.at && read.fatal.at.length > 0 ? configPath(read.fatal.at) : FILE,
          message: `${read.fatal.message}${where}`,
          hint: read.fatal.hint,
        },
      ],
      fatal: true,
    };
  }
  const issues: Issue[] = read.issues.map((i) => ({
    path: i.at.length > 0 ? configPath(i.at) : FILE,
    message: i.message,
    hint: i.hint,
  }));
  const doc = read.value;
  const isMap = (x: unknown): x is Record<string, unknown> =>
    !!x && typeof x === "object" && !Array.isArray(x);
  if (!isMap(doc) || !hasKey(doc, "config") || doc.config === null || doc.config === undefined)
    return {
      raw: newMap(),
      issues: [
        ...issues,
        {
          path: FILE,
          message: "has no config: map",
          hint: "a stack file starts with config: and psf: keys under it",
        },
      ],
      fatal: true,
    };
  if (!isMap(doc.config))
    return {
      raw: newMap(),
      issues: [
        ...issues,
        {
          path: "config",
          message: `expected a map of config keys, got ${Array.isArray(doc.config) ? "a list" : describe(doc.config)}`,
          hint: "write config: with psf: keys under it, one per line (psf:domain: example.org), not - items",
        },
      ],
      fatal: true,
    };
  const raw = rawFromConfigMap(doc.config);
  // Read from YAML within the limits, as plain data already: validateConfig need not copy it.
  READ_PLAIN.add(raw);
  return { raw, issues, fatal: false };
}

/** Configs read by readStackText: maps without prototype, within the limits. */
const READ_PLAIN = new WeakSet<object>();

/** Whether `raw` came from readStackText, so it is plain data within the limits already. */
export function readAsPlain(raw: RawConfig): boolean {
  return READ_PLAIN.has(raw);
}

/** `{"psf:domain": ...}` → `{domain: ...}`, with `{secure: x}` leaves as `SecureValue`. */
export function rawFromConfigMap(config: Record<string, unknown>): RawConfig {
  const raw: RawConfig = newMap();
  for (const [key, value] of Object.entries(config)) {
    if (key.startsWith("psf:")) raw[key.slice(4)] = toSecure(value, 0);
  }
  return raw;
}

function toSecure(value: unknown, depth: number): unknown {
  if (depth > LIMITS.depth) return value;
  if (Array.isArray(value)) return value.map((x) => toSecure(x, depth + 1));
  if (value && typeof value === "object" && !(value instanceof SecureValue)) {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === "secure" && typeof o.secure === "string")
      return new SecureValue(o.secure);
    const out = newMap();
    for (const k of keys) out[k] = toSecure(o[k], depth + 1);
    return out;
  }
  return value;
}
