import fc from "fast-check";
import * as YAML from "yaml";

/**
 * Mutations of a stack file, as a careless person or script makes them: keys dropped,
 * duplicated, retyped and renamed, values swapped across fields, extreme strings and numbers,
 * and YAML oddities (tags, anchors, indentation, documents, nesting, truncation).
 *
 * A case is data (which stack, which mutations with which numbers), so fast-check can shrink
 * a failure to the fewest, simplest mutations; the numbers pick their targets modulo what the
 * document offers.
 */

/** Secret markers: only ever written where config is secret (secure:, psf:secrets, hardcoded values). */
export const SECURE_MARK = "FUZZSECRET";
export const HARDCODED_MARK = "fuzz-hardcoded-secret-";

const WEIRD_STRINGS = [
  "",
  " ",
  "x",
  "a".repeat(300),
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "{{",
  "}}",
  "{{ database.url }}",
  "{{ sso.clientSecret }}",
  "{{ nope.field }}",
  "{{ database }}",
  "{{{ database.url }}}",
  "{{" + " ".repeat(3000),
  "{{ database.url" + " ".repeat(3000) + "}}",
  "10.0.0.1",
  "example.123",
  "example.0x1f",
  "xn--a.example.org",
  "Example.org",
  "example.org.",
  "*.example.org",
  "a..b",
  "localhost",
  "psf.localhost",
  "../etc/passwd",
  "/",
  "/data",
  "/a b",
  "0 3 * * *",
  "* * * * * *",
  "61 * * * *",
  "512M",
  "1.5G",
  "500m",
  "0",
  "-1",
  "1e309",
  "0x1F",
  "true",
  "null",
  "~",
  "-",
  "#",
  "!foo",
  "&a",
  "*a",
  "%",
  "@",
  "`",
  "a\u0000b",
  "line\nbreak",
  "cr\r\nlf",
  "tab\there",
  "\u2028",
  "\ud800",
  "😀",
  "İ",
  "ß",
  "${HOME}",
  "$(id)",
  "'; DROP TABLE x; --",
  '"',
  "\\",
  "https://example.org",
  "http://[::1]:8080/x",
  "javascript:alert(1)",
  "ssh://user@host",
  "unix:///var/run/docker.sock",
  "postgres",
  "mariadb",
  "authelia",
  "nginx",
  "borg",
  "restic",
  "selfsigned",
  "generated",
  "hardcoded",
  "config",
  "docker",
  "kubernetes",
  "production",
  "staging",
  "development",
  "one_factor",
  "two_factor",
  "none",
  "traefik/whoami:v1.10",
  "Not An Image",
  "alice@example.org",
  "dc=example,dc=org",
  "pg_trgm",
  "admins",
  "data",
];

const NUMBERS = [
  0,
  -0,
  -1,
  1,
  1.5,
  80,
  443,
  65535,
  65536,
  2 ** 31,
  2 ** 53 + 2,
  Number.MAX_SAFE_INTEGER,
  1e21,
  1e-300,
  Infinity,
  -Infinity,
  NaN,
];

const KEYS = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "",
  " ",
  "a b",
  "é",
  "KEY",
  "1",
  "true",
  "null",
  "<<",
  "x".repeat(300),
  // Known keys of every level, so a rename lands on a real field of the wrong kind.
  "image",
  "port",
  "subdomain",
  "command",
  "env",
  "volumes",
  "healthcheck",
  "needs",
  "publish",
  "replicas",
  "resources",
  "use",
  "domain",
  "name",
  "extensions",
  "auth",
  "policy",
  "redirectPaths",
  "allowedGroups",
  "schedule",
  "retention",
  "database",
  "proxy",
  "sso",
  "backup",
  "secrets",
  "ldap",
  "ssl",
  "kind",
  "namespace",
  "groups",
  "people",
  "email",
  "values",
  "sharedBuffers",
  "httpPort",
  "httpsPort",
  "listenAddress",
  "psf:domain",
  "psf:domian",
  "psf:",
  "psf:__proto__",
  "psf:services",
  "psf:providers",
  "psf:secrets",
  "psf:images",
  "aws:region",
];

/** A value of any kind, including extremes. */
export const valueArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...WEIRD_STRINGS) },
  { weight: 3, arbitrary: fc.constantFrom(...NUMBERS) },
  { weight: 1, arbitrary: fc.constantFrom(true, false, null, [], {}, [null], { "": null }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 8 }) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  {
    weight: 1,
    arbitrary: fc.nat({ max: 1000 }).map((n) => ({ secure: `v1:${SECURE_MARK}${n}AAAA==` })),
  },
  // Long strings: linear time, whatever the field (the 1 MiB case is test/unit/limits.test.ts's).
  { weight: 1, arbitrary: fc.constantFrom(2_000, 20_000, 100_000).map((n) => "x".repeat(n)) },
);

export const keyArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...KEYS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
);

const ODDITIES = [
  "tag-foo",
  "tag-binary",
  "tag-int",
  "tag-str",
  "tag-set",
  "tag-timestamp",
  "dup-line",
  "indent+1",
  "indent-1",
  "tab",
  "anchor-alias",
  "alias-cycle",
  "doc-separator",
  "truncate",
  "deep-40",
  "deep-10000",
  "bom",
  "crlf",
  "merge-key",
  "colon",
  "quote",
  "comment",
  "huge-comment",
  "many-keys",
] as const;
export type Oddity = (typeof ODDITIES)[number];

export type Op =
  | { kind: "drop"; at: number }
  | { kind: "retype"; at: number; value: unknown }
  | { kind: "rename"; at: number; to: string }
  | { kind: "swap"; a: number; b: number }
  | { kind: "copy"; from: number; to: number }
  | { kind: "add"; at: number; key: string; value: unknown }
  | { kind: "secrets"; how: "hardcoded" | "config" | "env"; n: number }
  | { kind: "yaml"; at: number; oddity: Oddity };

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("drop" as const), at: fc.nat() }) },
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant("retype" as const), at: fc.nat(), value: valueArb }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant("rename" as const), at: fc.nat(), to: keyArb }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant("swap" as const), a: fc.nat(), b: fc.nat() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("copy" as const), from: fc.nat(), to: fc.nat() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("add" as const),
      at: fc.nat(),
      key: keyArb,
      value: valueArb,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("secrets" as const),
      how: fc.constantFrom("hardcoded" as const, "config" as const, "env" as const),
      n: fc.nat({ max: 999 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("yaml" as const),
      at: fc.nat(),
      oddity: fc.constantFrom(...ODDITIES),
    }),
  },
);

export interface Case {
  stack: string;
  ops: Op[];
  /** Write the mutated data in flow style (`{a: 1}`) rather than block style. */
  flow: boolean;
}

export function caseArb(stacks: string[]): fc.Arbitrary<Case> {
  return fc.record({
    stack: fc.constantFrom(...stacks),
    ops: fc.array(opArb, { minLength: 1, maxLength: 3 }),
    flow: fc.boolean(),
  });
}

type Container = Record<string, unknown> | unknown[];
interface Slot {
  parent: Container;
  key: string | number;
}

/** Every map entry and list item of `root`, in document order. */
function slots(root: unknown): Slot[] {
  const out: Slot[] = [];
  const walk = (node: unknown) => {
    if (!node || typeof node !== "object") return;
    if (Array.isArray(node))
      node.forEach((v, i) => {
        out.push({ parent: node, key: i });
        walk(v);
      });
    else
      for (const [k, v] of Object.entries(node)) {
        out.push({ parent: node as Record<string, unknown>, key: k });
        walk(v);
      }
  };
  walk(root);
  return out;
}

const get = (s: Slot) => (s.parent as any)[s.key];
function set(s: Slot, value: unknown): void {
  if (Array.isArray(s.parent)) s.parent[s.key as number] = value;
  else
    Object.defineProperty(s.parent, s.key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
}
function remove(s: Slot): void {
  if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 1);
  else delete s.parent[s.key as string];
}
/** A map with one key renamed in place (order kept); `defineProperty` so `__proto__` is a key. */
function renamed(map: Record<string, unknown>, from: string, to: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(map))
    Object.defineProperty(out, k === from ? to : k, {
      value: v,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return out;
}

function clone(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(clone);
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v))
      Object.defineProperty(out, k, {
        value: clone(x),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return out;
  }
  return v;
}

/** Applies the data mutations to a parsed stack file. */
function mutateData(doc: Record<string, unknown>, ops: Op[]): void {
  for (const op of ops) {
    const all = slots(doc).filter((s) => !(s.parent === doc && s.key === "config"));
    if (all.length === 0) return;
    const pick = (n: number) => all[n % all.length];
    switch (op.kind) {
      case "drop":
        remove(pick(op.at));
        break;
      case "retype":
        set(pick(op.at), clone(op.value));
        break;
      case "rename": {
        const maps = all.filter((s) => !Array.isArray(s.parent));
        if (maps.length === 0) break;
        const s = maps[op.at % maps.length];
        const parentSlot = all.find((p) => get(p) === s.parent);
        const next = renamed(s.parent as Record<string, unknown>, s.key as string, op.to);
        if (parentSlot) set(parentSlot, next);
        else if (s.parent === doc.config) doc.config = next;
        break;
      }
      case "swap": {
        const [a, b] = [pick(op.a), pick(op.b)];
        const va = get(a);
        const vb = get(b);
        // A value swapped into its own descendant would make a cycle; skip those.
        if (contains(va, b.parent) || contains(vb, a.parent)) break;
        set(a, vb);
        set(b, va);
        break;
      }
      case "copy": {
        const [from, to] = [pick(op.from), pick(op.to)];
        set(to, clone(get(from)));
        break;
      }
      case "add": {
        const containers = all
          .map(get)
          .filter(
            (v): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v),
          );
        const target = containers.length
          ? containers[op.at % containers.length]
          : (doc.config as Record<string, unknown>);
        if (target && typeof target === "object")
          Object.defineProperty(target, op.key, {
            value: clone(op.value),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        break;
      }
      case "secrets": {
        const config = doc.config as Record<string, any>;
        if (!config || typeof config !== "object" || Array.isArray(config)) break;
        const name = `fuzz-${op.n}`;
        if (op.how === "hardcoded") {
          config["psf:environment"] = "development";
          config["psf:providers"] = { ...(config["psf:providers"] ?? {}) };
          config["psf:providers"].secrets = {
            use: "hardcoded",
            values: { [name]: `${HARDCODED_MARK}${op.n}-abcdefgh` },
          };
        } else if (op.how === "config") {
          config["psf:providers"] = { ...(config["psf:providers"] ?? {}) };
          config["psf:providers"].secrets = { use: "config" };
          config["psf:secrets"] = { [name]: { secure: `v1:${SECURE_MARK}${op.n}BBBB==` } };
        }
        // A service asks for the secret, and gets a secure env value too.
        const services = config["psf:services"];
        const first =
          services && typeof services === "object" ? Object.values(services)[0] : undefined;
        if (first && typeof first === "object" && !Array.isArray(first)) {
          const svc = first as Record<string, any>;
          svc.env = {
            ...(svc.env ?? {}),
            FUZZ_TOKEN: "{{ secrets.value }}",
            FUZZ_SECURE: { secure: `v1:${SECURE_MARK}${op.n}CCCC==` },
          };
          svc.needs = { ...(svc.needs ?? {}), secrets: { name } };
        }
        break;
      }
      case "yaml":
        break;
    }
  }
}

function contains(haystack: unknown, needle: unknown): boolean {
  if (haystack === needle) return true;
  if (!haystack || typeof haystack !== "object") return false;
  return Object.values(haystack).some((v) => contains(v, needle));
}

/** Applies one YAML oddity to the text. */
function oddity(text: string, kind: Oddity, at: number): string {
  const lines = text.split("\n");
  const valued = lines
    .map((l, i) => ({ l, i }))
    .filter(({ l }) => /^\s*(- )?[^\s#][^:]*: \S/.test(l));
  const line = lines.length ? at % lines.length : 0;
  const withValue = valued.length ? valued[at % valued.length] : undefined;
  const tagged = (tag: string) => {
    if (!withValue) return text;
    lines[withValue.i] = withValue.l.replace(/: (\S)/, `: ${tag} $1`);
    return lines.join("\n");
  };
  switch (kind) {
    case "tag-foo":
      return tagged("!foo");
    case "tag-binary":
      return tagged("!!binary");
    case "tag-int":
      return tagged("!!int");
    case "tag-str":
      return tagged("!!str");
    case "tag-set":
      return tagged("!!set");
    case "tag-timestamp":
      return tagged("!!timestamp");
    case "dup-line":
      lines.splice(line, 0, lines[line] ?? "");
      return lines.join("\n");
    case "indent+1":
      lines[line] = ` ${lines[line] ?? ""}`;
      return lines.join("\n");
    case "indent-1":
      lines[line] = (lines[line] ?? "").replace(/^ /, "");
      return lines.join("\n");
    case "tab":
      lines[line] = (lines[line] ?? "").replace(/^ +/, "\t");
      return lines.join("\n");
    case "anchor-alias": {
      if (valued.length < 2 || !withValue) return text;
      const other = valued[(at + 1) % valued.length];
      lines[withValue.i] = withValue.l.replace(/: (\S)/, ": &fz $1");
      if (other.i > withValue.i) lines[other.i] = other.l.replace(/: .*$/, ": *fz");
      return lines.join("\n");
    }
    case "alias-cycle":
      if (!withValue) return text;
      lines[withValue.i] = withValue.l.replace(/: .*$/, ": &cy [a, *cy]");
      return lines.join("\n");
    case "doc-separator":
      lines.splice(line, 0, "---");
      return lines.join("\n");
    case "truncate":
      return text.slice(0, at % (text.length + 1));
    case "deep-40":
    case "deep-10000": {
      if (!withValue) return text;
      const d = kind === "deep-40" ? 40 : 10000;
      lines[withValue.i] = withValue.l.replace(/: .*$/, `: ${"[".repeat(d)}${"]".repeat(d)}`);
      return lines.join("\n");
    }
    case "bom":
      return `\ufeff${text}`;
    case "crlf":
      return text.replace(/\n/g, "\r\n");
    case "merge-key": {
      if (!withValue) return text;
      const indent = /^\s*/.exec(withValue.l)?.[0] ?? "";
      lines.splice(withValue.i, 0, `${indent}<<: {merged: 1}`);
      return lines.join("\n");
    }
    case "colon":
      lines[line] = (lines[line] ?? "").replace(": ", ":");
      return lines.join("\n");
    case "quote": {
      const q = text.indexOf('"', at % (text.length + 1));
      return q < 0 ? text : text.slice(0, q) + text.slice(q + 1);
    }
    case "comment":
      lines[line] = `${lines[line] ?? ""} # ${"#".repeat(at % 5)} comment: with: colons`;
      return lines.join("\n");
    case "huge-comment":
      // Over the file limit: refused before parsing.
      return `${text}\n# ${"x".repeat(1024 * 1024)}\n`;
    case "many-keys": {
      // Many keys in one map, under the limit: the duplicate check must stay linear.
      const extra = Array.from({ length: 5000 }, (_, i) => `  fuzz:k${i}: ${i}`).join("\n");
      return `${text}\n${extra}\n`;
    }
  }
}

const parsed = new Map<string, unknown>();

/**
 * The stack file of a case: its text, and (when only data was mutated, no YAML oddity) the
 * document it holds, as a reader of the text would find it.
 */
export function mutated(original: string, c: Case): { text: string; data?: unknown } {
  if (!parsed.has(original)) parsed.set(original, YAML.parse(original));
  const doc = clone(parsed.get(original)) as Record<string, unknown>;
  mutateData(doc, c.ops);
  let text = YAML.stringify(doc, {
    collectionStyle: c.flow ? "flow" : "block",
    lineWidth: 0,
  });
  const oddities = c.ops.filter((op) => op.kind === "yaml");
  for (const op of oddities) text = oddity(text, op.oddity, op.at);
  return { text, data: oddities.length ? undefined : doc };
}

/** The stack file text of a case. */
export function mutatedText(original: string, c: Case): string {
  return mutated(original, c).text;
}
