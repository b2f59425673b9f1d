import { SecureValue } from "../../../components/validate/schema";

/** `services.a["b c"][2]` → ["services", "a", "b c", 2] (the syntax of components/errors.ts joinPath). */
export function parsePath(path: string): Array<string | number> | undefined {
  const out: Array<string | number> = [];
  let i = 0;
  const quoted = (): string | undefined => {
    // A JSON string from i (at its opening quote).
    let j = i + 1;
    for (; j < path.length && path[j] !== '"'; j++) if (path[j] === "\\") j++;
    try {
      const s = JSON.parse(path.slice(i, j + 1)) as string;
      i = j + 1;
      return s;
    } catch {
      return undefined;
    }
  };
  if (path.startsWith('"')) {
    const s = quoted();
    if (s === undefined) return undefined;
    out.push(s);
  }
  while (i < path.length) {
    const c = path[i];
    if (c === "." || (i === 0 && out.length === 0)) {
      if (c === ".") i++;
      const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(path.slice(i));
      if (!m) return undefined;
      out.push(m[0]);
      i += m[0].length;
    } else if (c === "[") {
      i++;
      if (path[i] === '"') {
        const s = quoted();
        if (s === undefined || path[i] !== "]") return undefined;
        out.push(s);
      } else {
        const m = /^\d+/.exec(path.slice(i));
        if (!m || path[i + m[0].length] !== "]") return undefined;
        out.push(Number(m[0]));
        i += m[0].length;
      }
      i++;
    } else return undefined;
  }
  return out;
}

/**
 * Whether an error's path names a place in the input: the place itself, or (for a key that is
 * missing, e.g. "is required") its parent.
 */
export function pathExists(raw: unknown, segments: Array<string | number>): boolean {
  let node: unknown = raw;
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i];
    // A `secure:` value is the map {secure: <ciphertext>} in the file.
    if (node instanceof SecureValue) node = { secure: node.ciphertext };
    const container = !!node && typeof node === "object";
    const has =
      container &&
      (Array.isArray(node)
        ? typeof s === "number" && s < node.length
        : Object.prototype.hasOwnProperty.call(node, s));
    // A missing key (a default, or "is required") is named under its parent, which exists.
    if (!has) return i === segments.length - 1;
    node = (node as any)[s];
  }
  return true;
}
