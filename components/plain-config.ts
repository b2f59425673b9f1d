import { RawConfig, TOP_LEVEL_KEYS } from "./config";
import { Issue, joinPath } from "./errors";
import { readAsPlain } from "./stack-file";
import { LIMITS } from "./validate/limits";
import { SecureValue, newMap, unknownKeyIssue } from "./validate/schema";

/**
 * Config as plain data PSF can read safely: maps without a prototype (a `__proto__` key is a
 * key), lists, scalars and secrets; or why not (nested or numerous beyond ./validate/limits.ts).
 * The engine hands the program config as JSON, with neither limit applied.
 */
export function plainConfig(raw: RawConfig): { raw: RawConfig; issue?: Issue } {
  if (readAsPlain(raw)) return { raw };
  // `raw.__proto__ = value` on a plain object replaces its prototype instead of adding a key.
  const proto = Object.getPrototypeOf(raw);
  if (proto !== null && proto !== Object.prototype)
    return {
      raw: newMap(),
      issue: unknownKeyIssue("", "__proto__", TOP_LEVEL_KEYS, "config key psf:"),
    };
  let count = 0;
  let problem: Issue | undefined;
  const copy = (v: unknown, path: string, depth: number): unknown => {
    if (problem) return undefined;
    if (++count > LIMITS.values) {
      problem = {
        path: path || "config",
        message: `is one value too many: PSF reads at most ${LIMITS.values.toLocaleString("en")} keys and values`,
        hint: "split the stack (docs/validation.md)",
      };
      return undefined;
    }
    if (v === null || typeof v !== "object" || v instanceof SecureValue) return v;
    if (depth > LIMITS.depth) {
      problem = {
        path,
        message: `is nested deeper than ${LIMITS.depth} levels of maps and lists`,
        hint: `a stack config needs 7; PSF reads at most ${LIMITS.depth} (docs/validation.md)`,
      };
      return undefined;
    }
    if (Array.isArray(v)) return v.map((x, i) => copy(x, joinPath(path, i), depth + 1));
    const out = newMap();
    for (const [k, x] of Object.entries(v)) out[k] = copy(x, joinPath(path, k), depth + 1);
    return out;
  };
  const out = newMap();
  // The file's top level is level 1, `config:` level 2, a psf: key's value level 3.
  for (const [k, x] of Object.entries(raw)) out[k] = copy(x, joinPath("", k), 3);
  return problem ? { raw: newMap(), issue: problem } : { raw: out };
}
