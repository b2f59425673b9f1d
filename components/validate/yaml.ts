import type * as YAML from "yaml";
import { LIMITS } from "./limits";
import { readSimpleYaml } from "./yaml-simple";

/** The `yaml` package, loaded for the files the fast reader declines: its load is 50 ms of a start. */
let yamlPackage: typeof YAML | undefined;
const yaml = () => (yamlPackage ??= require("yaml") as typeof YAML);

/**
 * Reads YAML text into plain data, refusing what would make a stack config mean something
 * other than what it shows:
 * - the core schema only (strings, numbers, booleans, null, maps, lists); an unknown tag
 *   (`!foo bar`) is an error, never silently read as plain;
 * - a key set twice in one map is an error (the first one is kept), found in linear time:
 *   the `yaml` package's own check compares each key with every earlier one;
 * - maps are objects without a prototype, so no key (`__proto__`) can change what they are;
 * - the limits of ./limits.ts (nesting depth, number of values after aliases are expanded),
 *   checked while reading, so a hostile file costs no more than its size.
 */

export type Segment = string | number;

/** A problem at a place in the document; the rest is still read. */
export interface YamlIssue {
  at: Segment[];
  message: string;
  hint: string;
}

/** A problem that leaves nothing to read. */
export interface YamlFatal {
  message: string;
  hint: string;
  line?: number;
  at?: Segment[];
}

export interface YamlRead {
  value: unknown;
  issues: YamlIssue[];
  fatal?: YamlFatal;
}

const CORE_TAGS = new Set(
  ["str", "int", "float", "bool", "null", "map", "seq"].map((t) => `tag:yaml.org,2002:${t}`),
);

/** What a value with an explicit core tag must have become (`!!int abc` stays the text "abc"). */
const TAG_TYPES: Record<string, (v: unknown) => boolean> = {
  "tag:yaml.org,2002:str": (v) => typeof v === "string",
  "tag:yaml.org,2002:int": (v) => typeof v === "number" && Number.isInteger(v),
  "tag:yaml.org,2002:float": (v) => typeof v === "number",
  "tag:yaml.org,2002:bool": (v) => typeof v === "boolean",
  "tag:yaml.org,2002:null": (v) => v === null,
  "tag:yaml.org,2002:map": () => false,
  "tag:yaml.org,2002:seq": () => false,
};

const COMPOSE_OPTIONS = {
  version: "1.2",
  schema: "core",
  // Duplicates are found below, in linear time; `true` here compares each key with every earlier one.
  uniqueKeys: false,
  // Keys are text as written (`1:` is the key "1"); a map or list as a key is an error.
  stringKeys: true,
  merge: false,
  prettyErrors: false,
} as const;

class Stop extends Error {
  constructor(readonly fatal: YamlFatal) {
    super(fatal.message);
  }
}

/**
 * The yaml parser reads `process.env.LOG_TOKENS` once per token, a call into the C++ runtime
 * that was half its time on a 1 MB stack file (--cpu-prof). While it runs, synchronously,
 * `process.env` is a plain copy; the real one is back before anything else can run.
 */
function withPlainEnv<T>(run: () => T): T {
  const real = process.env;
  // A broken file makes an error per line; their stack traces are never shown, and under a
  // test runner's unlimited stack depth capturing them took 12 s for 20,000 lines (--cpu-prof).
  const traces = Error.stackTraceLimit;
  try {
    process.env = { ...real };
    Error.stackTraceLimit = 0;
    return run();
  } finally {
    process.env = real;
    Error.stackTraceLimit = traces;
  }
}

function newlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf("\n"); i >= 0; i = s.indexOf("\n", i + 1)) n++;
  return n;
}

/** Lexes and parses to CST tokens, stopping as soon as the text is certainly over a limit. */
function tokensOf(text: string, lines: YAML.LineCounter): YAML.CST.Token[] {
  const Y = yaml();
  const lexer = new Y.Lexer();
  const parser = new Y.Parser(lines.addNewLine);
  lines.addNewLine(0);
  const tokens: YAML.CST.Token[] = [];
  // A lower bound of the nesting at each token: open flow collections, plus the block levels
  // implied by indentation and by `- `/`? ` indicators on one line. Only when the bound is over
  // the limit is the file refused here; the exact depth is checked on the parsed document.
  let flow = 0;
  let scalars = 0;
  const indents: number[] = [];
  let atLineStart = true;
  let lineIndent = 0;
  let lineStarted = false;
  let indicators = 0;
  let atScalarText = false;
  let line = 1;
  const startLine = () => {
    if (lineStarted || flow > 0) return;
    lineStarted = true;
    while (indents.length > 0 && indents[indents.length - 1] >= lineIndent) indents.pop();
    indents.push(lineIndent);
  };
  const checkDepth = () => {
    // The document's own top-level collection is level 1, as in the exact check.
    const depth = indents.length + Math.max(0, indicators - 1) + flow;
    if (depth > LIMITS.depth) throw new Stop(tooDeep(line));
  };
  for (const lexeme of lexer.lex(text)) {
    if (atScalarText) {
      atScalarText = false;
      line += newlines(lexeme);
    } else {
      const type = Y.CST.tokenType(lexeme);
      switch (type) {
        case "newline":
          atLineStart = true;
          lineStarted = false;
          lineIndent = 0;
          indicators = 0;
          if (lexeme) line++;
          break;
        case "space":
          if (atLineStart && !lineStarted) lineIndent = lexeme.length;
          break;
        case "doc-start":
        case "doc-end":
          indents.length = 0;
          break;
        case "seq-item-ind":
        case "explicit-key-ind":
          startLine();
          if (flow === 0) indicators++;
          checkDepth();
          break;
        case "flow-map-start":
        case "flow-seq-start":
          startLine();
          flow++;
          checkDepth();
          break;
        case "flow-map-end":
        case "flow-seq-end":
          flow = Math.max(0, flow - 1);
          break;
        case "scalar":
          atScalarText = true;
          startLine();
          if (++scalars > LIMITS.values) throw new Stop(tooMany(line));
          break;
        case "single-quoted-scalar":
        case "double-quoted-scalar":
        case "alias":
          startLine();
          if (++scalars > LIMITS.values) throw new Stop(tooMany(line));
          line += newlines(lexeme);
          break;
        case "map-value-ind":
        case "anchor":
        case "tag":
        case "block-scalar-header":
          startLine();
          break;
        default:
          break;
      }
      if (type !== "space" && type !== "newline" && type !== "comment") atLineStart = false;
    }
    for (const token of parser.next(lexeme)) tokens.push(token);
  }
  for (const token of parser.end()) tokens.push(token);
  return tokens;
}

function tooDeep(line?: number, at?: Segment[]): YamlFatal {
  return {
    message: `is nested deeper than ${LIMITS.depth} levels of maps and lists`,
    hint: `a stack config needs 7; PSF reads at most ${LIMITS.depth} (docs/validation.md)`,
    line,
    at,
  };
}

function tooMany(line?: number): YamlFatal {
  return {
    message: `holds more than ${LIMITS.values.toLocaleString("en")} keys and values`,
    hint: `PSF reads at most ${LIMITS.values.toLocaleString("en")} (aliases count as often as they are used); split the stack (docs/validation.md)`,
    line,
  };
}

/** A scalar without tag or anchor: its value is all there is to read. */
function isPlain(node: unknown): node is YAML.Scalar {
  const Y = yaml();
  return (
    Y.isScalar(node) &&
    node.tag === undefined &&
    node.anchor === undefined &&
    (node.value === null || typeof node.value !== "object")
  );
}

/** Reads one YAML document (a stack file) as plain data. */
export function readYaml(text: string): YamlRead {
  // The common shape, read directly; anything else (and every problem) goes the full way.
  const simple = readSimpleYaml(text);
  return simple ? { value: simple.value, issues: [] } : readFullYaml(text);
}

/** {@link readYaml} through the `yaml` package, for any YAML (exported to compare both readers). */
export function readFullYaml(text: string): YamlRead {
  const Y = yaml();
  const lines = new Y.LineCounter();
  const lineOf = (offset: number | undefined) =>
    offset === undefined ? undefined : lines.linePos(offset).line;
  let docs: YAML.Document.Parsed[];
  try {
    docs = withPlainEnv(() => {
      const tokens = tokensOf(text, lines);
      return [...new Y.Composer(COMPOSE_OPTIONS).compose(tokens, true, text.length)];
    });
  } catch (e) {
    if (e instanceof Stop) return { value: undefined, issues: [], fatal: e.fatal };
    if (e instanceof RangeError)
      // The parser's own recursion, on input past the bounds checked above.
      return { value: undefined, issues: [], fatal: tooDeep() };
    throw e;
  }
  if (docs.length > 1)
    return {
      value: undefined,
      issues: [],
      fatal: {
        message: `holds ${docs.length} YAML documents (separated by ---); a stack file holds one`,
        hint: "keep one document: config: with the psf: keys under it",
        line: lineOf(docs[1].range?.[0]),
      },
    };
  const doc = docs[0];
  const error = doc?.errors[0];
  if (error) {
    const stack = /call stack/i.test(error.message);
    return {
      value: undefined,
      issues: [],
      fatal: stack
        ? tooDeep(lineOf(error.pos[0]))
        : {
            message: `is not valid YAML: ${error.message.split("\n")[0]}`,
            hint: "check the indentation and quoting on that line",
            line: lineOf(error.pos[0]),
          },
    };
  }
  const issues: YamlIssue[] = [];
  let count = 0;
  // Collections being read, to find an alias inside its own anchor's value (only if there are aliases).
  const aliases = /(^|[\s[{,:-])\*/.test(text);
  const open = new Set<YAML.Node>();
  // The last node before an alias with its anchor, in document order (the package's own lookup
  // scans every anchor and alias of the document for each alias).
  const anchors = new Map<string, YAML.Node>();
  let expanding = 0;
  // Where a node is: a chain to its parent, made into segments only for a problem.
  interface Where {
    up?: Where;
    key: Segment;
    depth: number;
  }
  const ROOT: Where = { key: "", depth: 0 };
  const segments = (w: Where): Segment[] => {
    const out: Segment[] = [];
    for (let x: Where | undefined = w; x && x !== ROOT; x = x.up) out.push(x.key);
    return out.reverse();
  };
  const child = (up: Where, key: Segment): Where => ({ up, key, depth: up.depth + 1 });
  const toData = (node: unknown, where: Where): unknown => {
    if (++count > LIMITS.values) throw new Stop(tooMany());
    if (node === null || node === undefined) return null;
    const anchor = (node as { anchor?: string }).anchor;
    if (anchor && expanding === 0) anchors.set(anchor, node as YAML.Node);
    if (Y.isScalar(node)) {
      if (node.tag === undefined) return node.value;
      if (!CORE_TAGS.has(node.tag) || !TAG_TYPES[node.tag](node.value)) {
        tagIssue(node.tag, where, node.value);
        // Read as the text it is, so the rest of the file is checked as if it were untagged.
        return String(node.source ?? "");
      }
      return node.value;
    }
    if (Y.isAlias(node)) {
      const target = anchors.get(node.source);
      if (!target) return null; // an unknown anchor is a compose error, reported above
      if (open.has(target))
        throw new Stop({
          message: `the alias *${node.source} refers to a value that contains it`,
          hint: "an alias must not repeat its own anchor's value inside itself",
          at: segments(where),
          line: lineOf(node.range?.[0]),
        });
      expanding++;
      try {
        return toData(target, where);
      } finally {
        expanding--;
      }
    }
    if (!Y.isMap(node) && !Y.isSeq(node)) return null;
    if (node.tag !== undefined && !CORE_TAGS.has(node.tag)) tagIssue(node.tag, where);
    // The root is level 1 of the limit.
    if (where.depth >= LIMITS.depth)
      throw new Stop(tooDeep(lineOf(node.range?.[0]), segments(where)));
    if (aliases) open.add(node);
    let out: unknown;
    if (Y.isSeq(node)) {
      const list: unknown[] = new Array(node.items.length);
      for (let i = 0; i < node.items.length; i++) {
        const item = node.items[i];
        list[i] = isPlain(item) ? (count++, item.value) : toData(item, child(where, i));
      }
      out = list;
    } else {
      const map: Record<string, unknown> = Object.create(null);
      // Where each key was, built only once a map turns out to repeat one.
      let seen: Map<string, number | undefined> | undefined;
      for (const pair of node.items) {
        const keyNode = pair.key as unknown;
        if (!Y.isScalar(keyNode) || keyNode.value === null || keyNode.value === undefined) {
          issues.push({
            at: segments(where),
            message: "has a key that is not text (an empty key, an alias or a map as a key)",
            hint: "write each key as plain text before the colon",
          });
          continue;
        }
        count++;
        const key = String(keyNode.value);
        if (key in map) {
          if (!seen) {
            seen = new Map();
            for (const p of node.items) {
              const k = p.key as unknown;
              if (Y.isScalar(k) && k.value !== null && k.value !== undefined) {
                const name = String(k.value);
                if (!seen.has(name)) seen.set(name, k.range?.[0]);
              }
            }
          }
          const [first, line] = [lineOf(seen.get(key)), lineOf(keyNode.range?.[0])];
          issues.push({
            at: segments(child(where, key)),
            message: `is set twice in one map${first && line ? ` (lines ${first} and ${line})` : ""}`,
            hint: "keep one of them: YAML readers disagree on which one wins",
          });
          continue;
        }
        if (keyNode.tag !== undefined && !CORE_TAGS.has(keyNode.tag))
          tagIssue(keyNode.tag, child(where, key));
        const value = pair.value;
        map[key] = isPlain(value) ? (count++, value.value) : toData(value, child(where, key));
      }
      out = map;
    }
    if (aliases) open.delete(node);
    return out;
  };
  const tagIssue = (tag: string, where: Where, value?: unknown) => {
    const shown = tag.replace(/^tag:yaml\.org,2002:/, "!!");
    issues.push({
      at: segments(where),
      message: CORE_TAGS.has(tag)
        ? `has the YAML tag ${shown}, but ${typeof value === "string" ? JSON.stringify(value.slice(0, 40)) : "its value"} is not one`
        : `has the YAML tag ${shown}, which PSF does not read`,
      hint: `remove ${shown}: a stack file holds plain strings, numbers, booleans, maps and lists`,
    });
  };
  try {
    return { value: toData(doc?.contents ?? null, ROOT), issues };
  } catch (e) {
    if (e instanceof Stop) return { value: undefined, issues: [], fatal: e.fatal };
    throw e;
  }
}
