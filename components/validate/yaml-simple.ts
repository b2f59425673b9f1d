import { LIMITS } from "./limits";

/**
 * Reads the shape nearly every stack file has — block maps and lists by indentation, plain and
 * quoted one-line scalars, one-line flow collections, comments — in one pass over its lines,
 * ten times faster than the `yaml` package (a 1 MB file: about 0.1 s, not 1.1 s). Anything
 * else, or anything ./yaml.ts would report (a key set twice, a limit, a tag, an anchor, a
 * block scalar, a tab, a line a value continues on...), gives undefined: then the full parser
 * reads the file and reports it. Both read the core schema alike (test/unit/yaml-simple.test.ts
 * compares them on generated documents).
 */
export function readSimpleYaml(text: string): { value: unknown } | undefined {
  if (UNUSUAL_CHARACTER.test(text)) return undefined;
  try {
    return { value: new SimpleReader(text).document() };
  } catch (e) {
    if (e === NOT_SIMPLE) return undefined;
    throw e;
  }
}

/**
 * Characters that make a file "not simple": tabs, carriage returns and other controls, a byte
 * order mark, line separators, characters outside the Basic Multilingual Plane.
 */
const UNUSUAL_CHARACTER = /[^\n\x20-\x7e\u00a0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]/;

/** Thrown, without a stack trace, where the text leaves the simple shape. */
const NOT_SIMPLE = { notSimple: true } as const;
const fail = (): never => {
  throw NOT_SIMPLE;
};

const SPACE = 0x20;
const HASH = 0x23;
const DASH = 0x2d;
const COLON = 0x3a;
const DQUOTE = 0x22;
const SQUOTE = 0x27;

/** First characters of a plain scalar that are YAML indicators (`-`, `?` and `:` are checked apart). */
const INDICATORS = new Set([..."#,[]{}&*!|>'\"%@`"].map((c) => c.charCodeAt(0)));
const FLOW_END = new Set([..."[]{},"].map((c) => c.charCodeAt(0)));

class SimpleReader {
  /** The lines that hold content (not blank, not only a comment), with their indentation. */
  private readonly lines: string[] = [];
  private readonly indents: number[] = [];
  /** The content line being read. */
  private at = 0;
  /** Keys and values read, as ./yaml.ts counts them for LIMITS.values. */
  private count = 0;

  constructor(text: string) {
    for (const line of text.split("\n")) {
      let indent = 0;
      while (line.charCodeAt(indent) === SPACE) indent++;
      if (indent === line.length || line.charCodeAt(indent) === HASH) continue;
      this.lines.push(line);
      this.indents.push(indent);
    }
  }

  document(): unknown {
    if (this.lines.length === 0) fail();
    const value = this.block(this.indents[0], 0);
    if (this.at < this.lines.length) fail();
    return value;
  }

  /** The block collection starting at column `col` of the current line. */
  private block(col: number, depth: number): unknown {
    const line = this.lines[this.at];
    if (isSeqItem(line, col)) return this.seq(col, depth);
    return this.map(col, depth);
  }

  private map(col: number, depth: number): Record<string, unknown> {
    if (depth >= LIMITS.depth) fail();
    this.counted();
    const out: Record<string, unknown> = Object.create(null);
    for (;;) {
      const line = this.lines[this.at];
      const entry = keyAt(line, col) ?? fail();
      if (entry.key in out) fail();
      this.counted();
      const start = skipSpaces(line, entry.end);
      if (start === line.length || line.charCodeAt(start) === HASH) {
        this.at++;
        out[entry.key] = this.nested(col, depth, true);
      } else {
        out[entry.key] = this.inline(line, start, depth + 1);
        this.at++;
        if (this.indentHere() > col) fail();
      }
      const next = this.indentHere();
      if (next < col) return out;
      if (next > col) fail();
    }
  }

  private seq(col: number, depth: number): unknown[] {
    if (depth >= LIMITS.depth) fail();
    this.counted();
    const out: unknown[] = [];
    for (;;) {
      const line = this.lines[this.at];
      const start = skipSpaces(line, col + 1);
      if (start === line.length || line.charCodeAt(start) === HASH) {
        this.at++;
        out.push(this.nested(col, depth, false));
      } else if (isSeqItem(line, start) || keyAt(line, start)) {
        // `- - a` and `- key: value`: a collection starting inside the item's line.
        out.push(this.block(start, depth + 1));
      } else {
        out.push(this.inline(line, start, depth + 1));
        this.at++;
        if (this.indentHere() > col) fail();
      }
      const next = this.indentHere();
      if (next < col || (next === col && !isSeqItem(this.lines[this.at], col))) return out;
      if (next > col) fail();
    }
  }

  /**
   * The value of a key or list item with nothing after it on its line: the block on the lines
   * below, indented further (or, for a key, a list at the key's own column), else null.
   */
  private nested(col: number, depth: number, isKey: boolean): unknown {
    const next = this.indentHere();
    if (next > col) return this.block(next, depth + 1);
    if (isKey && next === col && isSeqItem(this.lines[this.at], col))
      return this.seq(col, depth + 1);
    this.counted();
    return null;
  }

  /** A one-line value from `start`: a quoted or plain scalar or a flow collection, then at most a comment. */
  private inline(line: string, start: number, depth: number): unknown {
    const c = line.charCodeAt(start);
    let value: unknown;
    let end: number;
    if (c === DQUOTE || c === SQUOTE) {
      const q = quoted(line, start);
      value = q.value;
      end = q.end;
      this.counted();
    } else if (c === 0x5b || c === 0x7b) {
      const f = this.flow(line, start, depth);
      value = f.value;
      end = f.end;
    } else {
      end = plainEnd(line, start, false);
      value = resolvePlain(trimSpaces(line.slice(start, end)));
      this.counted();
    }
    const rest = skipSpaces(line, end);
    if (rest < line.length && (line.charCodeAt(rest) !== HASH || rest === end)) fail();
    return value;
  }

  /** A flow collection (`[a, b]`, `{k: v}`) that closes on its line. */
  private flow(line: string, start: number, depth: number): { value: unknown; end: number } {
    if (depth >= LIMITS.depth) fail();
    this.counted();
    const isMap = line.charCodeAt(start) === 0x7b;
    const close = isMap ? 0x7d : 0x5d;
    const list: unknown[] = [];
    const map: Record<string, unknown> = Object.create(null);
    let p = skipSpaces(line, start + 1);
    if (line.charCodeAt(p) === close) return { value: isMap ? map : list, end: p + 1 };
    for (;;) {
      if (isMap) {
        const k = flowKey(line, p);
        if (k.key in map) fail();
        this.counted();
        const v = this.flowValue(line, skipSpaces(line, k.end), depth + 1);
        map[k.key] = v.value;
        p = v.end;
      } else {
        const v = this.flowValue(line, p, depth + 1);
        list.push(v.value);
        p = v.end;
      }
      p = skipSpaces(line, p);
      const c = line.charCodeAt(p);
      if (c === close) return { value: isMap ? map : list, end: p + 1 };
      if (c !== 0x2c) fail();
      p = skipSpaces(line, p + 1);
      // A trailing comma, an empty entry or the line's end: the full parser decides.
      const n = line.charCodeAt(p);
      if (p >= line.length || n === 0x2c || n === 0x5d || n === 0x7d) fail();
    }
  }

  private flowValue(line: string, start: number, depth: number): { value: unknown; end: number } {
    const c = line.charCodeAt(start);
    if (c === 0x5b || c === 0x7b) return this.flow(line, start, depth);
    this.counted();
    if (c === DQUOTE || c === SQUOTE) return quoted(line, start);
    const end = plainEnd(line, start, true);
    const text = trimSpaces(line.slice(start, end));
    if (text === "") fail();
    return { value: resolvePlain(text), end };
  }

  private indentHere(): number {
    return this.at < this.lines.length ? this.indents[this.at] : -1;
  }

  private counted(): void {
    if (++this.count > LIMITS.values) fail();
  }
}

/** Without the spaces at its end (only spaces: YAML reads a no-break space as text). */
function trimSpaces(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === SPACE) end--;
  return s.slice(0, end);
}

function skipSpaces(line: string, i: number): number {
  while (line.charCodeAt(i) === SPACE) i++;
  return i;
}

/** `-` then a space or the line's end, at column `col`. */
function isSeqItem(line: string, col: number): boolean {
  if (line.charCodeAt(col) !== DASH) return false;
  return col + 1 === line.length || line.charCodeAt(col + 1) === SPACE;
}

/** Whether a plain scalar may start with the character at `i` (in a flow collection, or not). */
function plainStart(line: string, i: number, inFlow: boolean): boolean {
  const c = line.charCodeAt(i);
  if (Number.isNaN(c) || c === SPACE || INDICATORS.has(c) || c === 0x3f || c === COLON)
    return false;
  if (c !== DASH) return true;
  // `-1` is a plain scalar; `- ` a list item.
  const n = line.charCodeAt(i + 1);
  return !Number.isNaN(n) && n !== SPACE && !(inFlow && FLOW_END.has(n));
}

/**
 * Where a one-line plain scalar from `start` ends: at ` #`, at the line's end, or (in a flow
 * collection) at `,`, `]` or `}`. A `: ` inside it would make it a key: not simple.
 */
function plainEnd(line: string, start: number, inFlow: boolean): number {
  if (!plainStart(line, start, inFlow)) fail();
  let i = start;
  for (; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === SPACE && line.charCodeAt(i + 1) === HASH) break;
    if (c === COLON) {
      const n = line.charCodeAt(i + 1);
      if (i + 1 === line.length || n === SPACE || (inFlow && FLOW_END.has(n))) fail();
    }
    if (inFlow && FLOW_END.has(c)) break;
  }
  return i;
}

/** The key of a `key: value` at column `col` (a plain or quoted one-line key), else undefined. */
function keyAt(line: string, col: number): { key: string; end: number } | undefined {
  const c = line.charCodeAt(col);
  if (c === DQUOTE || c === SQUOTE) {
    const q = quoted(line, col);
    if (line.charCodeAt(q.end) !== COLON) return undefined;
    if (q.end + 1 < line.length && line.charCodeAt(q.end + 1) !== SPACE) return undefined;
    return { key: q.value, end: q.end + 1 };
  }
  if (!plainStart(line, col, false)) return undefined;
  for (let i = col; i < line.length; i++) {
    const ch = line.charCodeAt(i);
    if (ch === SPACE && line.charCodeAt(i + 1) === HASH) return undefined;
    if (ch !== COLON || (i + 1 < line.length && line.charCodeAt(i + 1) !== SPACE)) continue;
    // `key : value` and keys longer than YAML's implicit-key limit: the full parser decides.
    if (line.charCodeAt(i - 1) === SPACE || i - col > 1000) fail();
    return { key: line.slice(col, i), end: i + 1 };
  }
  return undefined;
}

/** A key in a flow map: plain or quoted, then `: `. */
function flowKey(line: string, start: number): { key: string; end: number } {
  let key: string;
  let end: number;
  if (line.charCodeAt(start) === DQUOTE || line.charCodeAt(start) === SQUOTE) {
    ({ value: key, end } = quoted(line, start));
  } else {
    if (!plainStart(line, start, true)) fail();
    end = start;
    while (end < line.length && !FLOW_END.has(line.charCodeAt(end))) {
      if (line.charCodeAt(end) === COLON && line.charCodeAt(end + 1) === SPACE) break;
      if (line.charCodeAt(end) === SPACE && line.charCodeAt(end + 1) === HASH) fail();
      end++;
    }
    key = line.slice(start, end);
    if (key.endsWith(" ")) fail();
  }
  if (line.charCodeAt(end) !== COLON || line.charCodeAt(end + 1) !== SPACE) fail();
  return { key, end: end + 1 };
}

/** A single- or double-quoted scalar closed on its line; a double-quoted one with escapes is not simple. */
function quoted(line: string, start: number): { value: string; end: number } {
  const q = line.charCodeAt(start);
  if (q === DQUOTE) {
    const close = line.indexOf('"', start + 1);
    if (close < 0) fail();
    const value = line.slice(start + 1, close);
    if (value.includes("\\")) fail();
    return { value, end: close + 1 };
  }
  let value = "";
  let from = start + 1;
  for (;;) {
    const close = line.indexOf("'", from);
    if (close < 0) fail();
    value += line.slice(from, close);
    if (line.charCodeAt(close + 1) !== SQUOTE) return { value, end: close + 1 };
    value += "'";
    from = close + 2;
  }
}

/** A plain scalar as the YAML 1.2 core schema reads it (the `yaml` package's tests, in its order). */
export function resolvePlain(s: string): unknown {
  const c = s.charCodeAt(0);
  // Most values are words: only these first characters can start a null, bool or number.
  if (!/[~nNtTfF0-9+\-.]/.test(s[0])) return s;
  if (/^(?:~|[Nn]ull|NULL)$/.test(s)) return null;
  if (/^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/.test(s)) return c === 0x74 || c === 0x54;
  if (/^0o[0-7]+$/.test(s)) return parseInt(s.substring(2), 8);
  if (/^[-+]?[0-9]+$/.test(s)) return parseInt(s, 10);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return parseInt(s.substring(2), 16);
  if (/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/.test(s))
    return s.slice(-3).toLowerCase() === "nan"
      ? NaN
      : s[0] === "-"
        ? Number.NEGATIVE_INFINITY
        : Number.POSITIVE_INFINITY;
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/.test(s)) return parseFloat(s);
  if (/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(s)) return parseFloat(s);
  return s;
}
