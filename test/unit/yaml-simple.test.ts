import { strict as assert } from "assert";
import fc from "fast-check";
import * as fs from "fs";
import * as path from "path";
import { readFullYaml } from "../../components/validate/yaml";
import { readSimpleYaml } from "../../components/validate/yaml-simple";

/**
 * The fast reader (components/validate/yaml-simple.ts) against the `yaml` package: whatever
 * the fast one reads, the package reads to the same data with no problem to report. What it
 * declines is read by the package, so declining is always safe; reading differently never is.
 */

/** Scalars as written, the edge cases of the core schema among them: mostly what the fast reader reads. */
// prettier-ignore
const SCALARS = [
  "a", "app", "two words", "x1", "é", "ünïcode", "1", "-0", "+5", "007", "0o17", "0o8", "0x1F",
  "0xg", "1e3", "-1.5E-2", ".5", "5.", "1_000", "-.inf", ".Inf", "+.INF", ".nan", ".NaN", "true",
  "True", "TRUE", "tRUE", "false", "no", "yes", "null", "Null", "NULL", "~", "nul", "a # comment",
  "a#b", "http://x:8080/y", "a:b", "b]", "x, y", "[a, b]", "[ a ,b ]", "{a: 1, b: [2, 3]}", "[]",
  "{}", "[a, [b, {c: d}]]", "[a:b]", "[http://x]", "{a: b:c}", '"quoted"', '"a: b # c"',
  "'single'", "'it''s'", "''", '""', "'a' # c", "{'a': 1}", '{"a": 1}', "-x", "__proto__",
  "constructor", "{{ database.url }}", "'{{ sso.clientId }}'", "0 3 * * *", "trailing  ",
];
/** Scalars the fast reader must decline or read exactly: YAML's syntax at its edges. */
// prettier-ignore
const ODD_SCALARS = [
  "😀", "a #", "a: b", "a:", "[a,]", "[a, , b]", "[a: b]", "{a}", "{a: }", "{a:1}", "[a # c]",
  "[a", '"esc\\n"', '"unclosed', "'unclosed", '"a"b', "- x", "-", "?x", "? x", ":x", "@x", "`x",
  "%x", "&anchor x", "*alias", "!tag x", "!!str 1", "!!int x", "|", ">-", "---", "...", "a\tb",
  "[-]", "[a, -]", "{-: 1}", "x\u00a0", "\u00a0", "x \u00a0", "\u3000y", "a\u2028b", "\u0085",
  "\ufeffa",
];
// prettier-ignore
const KEYS = [
  "a", "b", "key", "two words", "1", "null", "~", "true", "-k", "a:b", "k#x", "é", "__proto__",
  '"quoted"', "'single'", "'it''s'", '"a: b"', "psf:domain", "0x10", "a b c",
];
const ODD_KEYS = ['"esc\\t"', "k ", "? k", "&a k", "!t k", "[k]", "", "- k", "x".repeat(1030)];

const scalarArb = fc.oneof(
  { arbitrary: fc.constantFrom(...SCALARS), weight: 8 },
  { arbitrary: fc.constantFrom(...ODD_SCALARS), weight: 1 },
  { arbitrary: fc.string({ maxLength: 6 }), weight: 1 },
  { arbitrary: fc.string({ unit: "grapheme", maxLength: 4 }), weight: 1 },
);
const keyArb = fc.oneof(
  { arbitrary: fc.constantFrom(...KEYS), weight: 8 },
  { arbitrary: fc.constantFrom(...ODD_KEYS), weight: 1 },
  { arbitrary: fc.string({ minLength: 1, maxLength: 5 }), weight: 1 },
);

type Doc =
  | { kind: "map"; entries: Array<[string, Doc]> }
  | { kind: "seq"; items: Doc[] }
  | { kind: "scalar"; text: string };

const docArb: fc.Arbitrary<Doc> = fc.letrec<{ doc: Doc }>((tie) => ({
  doc: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.record({
      kind: fc.constant("scalar" as const),
      text: scalarArb,
    }),
    fc.record({
      kind: fc.constant("map" as const),
      entries: fc.array(fc.tuple(keyArb, tie("doc")), { maxLength: 4 }),
    }),
    fc.record({ kind: fc.constant("seq" as const), items: fc.array(tie("doc"), { maxLength: 4 }) }),
  ),
})).doc;

/** How a document is laid out: indentation, indentless lists, comments, blank lines. */
interface Style {
  indent: number;
  indentless: boolean;
  comments: boolean;
  blank: boolean;
  /** `- key: value` and `- - a`: a list item's map or list starting on the item's line. */
  compact: boolean;
}

/** Renders a document the way people write block YAML (and, with odd styles, the way they slip). */
function render(doc: Doc, style: Style): string {
  const lines: string[] = [];
  const pad = (n: number) => " ".repeat(n);
  const emit = (d: Doc, col: number, lead: string): void => {
    // `lead` is what starts the first line ("key:" or "-"), already indented.
    if (d.kind === "scalar") {
      lines.push(`${lead} ${d.text}${style.comments ? " # note" : ""}`);
      return;
    }
    const children = d.kind === "map" ? d.entries : d.items;
    if (children.length === 0) {
      lines.push(`${lead} ${d.kind === "map" ? "{}" : "[]"}`);
      return;
    }
    if (style.compact && lead.endsWith("-")) {
      const start = lines.length;
      const inner = lead.length + style.indent;
      body(d, inner);
      lines[start] = lead + " ".repeat(style.indent) + lines[start].slice(inner);
      return;
    }
    lines.push(lead + (style.comments ? " # block" : ""));
    const inner =
      d.kind === "seq" && style.indentless && lead.trimStart().endsWith(":")
        ? col
        : col + style.indent;
    body(d, inner);
  };
  const body = (d: Doc, col: number) => {
    if (d.kind === "map")
      for (const [k, v] of d.entries) {
        if (style.blank) lines.push("");
        if (style.comments) lines.push(`${pad(col)}# about ${k.slice(0, 5)}`);
        emit(v, col, `${pad(col)}${k}:`);
      }
    else if (d.kind === "seq") for (const v of d.items) emit(v, col, `${pad(col)}-`);
  };
  if (doc.kind === "scalar") return doc.text + "\n";
  body(doc, 0);
  return lines.join("\n") + "\n";
}

/** Small edits a careless hand makes: a character in or out, a line indented or dropped. */
const editArb = fc.array(
  fc.tuple(
    fc.nat(),
    fc.constantFrom("insert", "delete", "indent", "dedent", "drop", "dup"),
    fc.constantFrom(
      " ",
      "-",
      ":",
      "#",
      "'",
      '"',
      "[",
      "]",
      "{",
      "}",
      ",",
      "a",
      "\t",
      "&",
      "*",
      "!",
      "|",
      "\r",
    ),
  ),
  { maxLength: 2 },
);

function edit(text: string, edits: Array<[number, string, string]>): string {
  for (const [at, op, ch] of edits) {
    const lines = text.split("\n");
    const l = at % Math.max(1, lines.length);
    const pos = at % Math.max(1, text.length);
    if (op === "insert") text = text.slice(0, pos) + ch + text.slice(pos);
    else if (op === "delete") text = text.slice(0, pos) + text.slice(pos + 1);
    else if (op === "indent") lines[l] = " " + lines[l];
    else if (op === "dedent") lines[l] = lines[l].replace(/^ /, "");
    else if (op === "drop") lines.splice(l, 1);
    else lines.splice(l, 0, lines[l]);
    if (op !== "insert" && op !== "delete") text = lines.join("\n");
  }
  return text;
}

/** Values compared exactly: -0 is not 0, NaN is NaN, a map without prototype is not a list. */
function canonical(v: unknown): unknown {
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : Number.isNaN(v) ? "NaN" : v;
  if (Array.isArray(v)) return { list: v.map(canonical) };
  if (v && typeof v === "object") {
    assert.equal(Object.getPrototypeOf(v), null, "maps have no prototype");
    return { map: Object.entries(v).map(([k, x]) => [k, canonical(x)]) };
  }
  return v;
}

function assertSameAsFull(text: string): boolean {
  const simple = readSimpleYaml(text);
  if (!simple) return false;
  const full = readFullYaml(text);
  assert.equal(full.fatal, undefined, `the package refuses what the fast reader read:\n${text}`);
  assert.deepEqual(full.issues, [], `the package reports problems in:\n${text}`);
  assert.deepEqual(canonical(simple.value), canonical(full.value), `read differently:\n${text}`);
  return true;
}

describe("YAML: the fast reader reads exactly what the yaml package reads", () => {
  it("on every stack file and fixture in the repository", () => {
    const root = path.join(__dirname, "..", "..");
    const files = [
      ...["stacks", "test/fixtures/valid", "test/cli/fixtures", "test/providers/fixtures"].flatMap(
        (d) =>
          fs
            .readdirSync(path.join(root, d))
            .filter((f) => f.endsWith(".yaml"))
            .map((f) => path.join(root, d, f)),
      ),
    ];
    const read = files.filter((f) => assertSameAsFull(fs.readFileSync(f, "utf8")));
    assert.ok(read.length >= files.length - 2, `read only ${read.length} of ${files.length}`);
  });

  it("on generated documents, edited by a careless hand (fixed seed)", () => {
    let simple = 0;
    let total = 0;
    fc.assert(
      fc.property(
        // A stack file is a map (or a list) at its top.
        docArb.filter(
          (d) => (d.kind === "map" ? d.entries : d.kind === "seq" ? d.items : []).length > 0,
        ),
        fc.record({
          indent: fc.integer({ min: 1, max: 4 }),
          indentless: fc.boolean(),
          comments: fc.boolean(),
          blank: fc.boolean(),
          compact: fc.boolean(),
        }),
        editArb,
        (doc, style, edits) => {
          total++;
          if (assertSameAsFull(edit(render(doc, style), edits))) simple++;
        },
      ),
      { seed: 10, numRuns: 4000 },
    );
    // The generator must keep exercising the fast reader, not only what it declines.
    assert.ok(simple > total / 4, `the fast reader read ${simple} of ${total}`);
  });

  it("declines what only the full reader can report: a key set twice, an unknown tag, nesting past the limit", () => {
    assert.equal(readSimpleYaml("a: 1\na: 2\n"), undefined);
    assert.equal(readSimpleYaml("a: !foo bar\n"), undefined);
    assert.equal(
      readSimpleYaml(
        "a:\n".concat(...Array.from({ length: 40 }, (_, i) => `${" ".repeat(i + 1)}a:\n`)),
      ),
      undefined,
    );
    assert.deepEqual(
      canonical(readSimpleYaml("a:\n  - 1\n  - b: [x, 'y']\n")!.value),
      canonical(readFullYaml("a:\n  - 1\n  - b: [x, 'y']\n").value),
    );
  });
});
