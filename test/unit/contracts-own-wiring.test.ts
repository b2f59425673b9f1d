import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { contracts } from "../../providers";

const ROOT = path.join(__dirname, "..", "..");
const NAMES = Object.keys(contracts);

/**
 * `psf:secrets` (the stack's encrypted values) is a config key that shares its name with the
 * `secrets` contract: the files that read that key may name it, as a property, and only there.
 */
const CONFIG_KEY_READERS = new Map([
  ["secrets", ["components/config.ts", "components/program.ts"]],
]);

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return sourceFiles(rel);
    return e.name.endsWith(".ts") ? [rel] : [];
  });
}

/**
 * Where a TypeScript source names a contract: an identifier or property spelled as one
 * (`providers.sso`, `const proxy`), a string that is one (`"backup"`), or a string that writes
 * one into config or a template (`{{ database.url }}`, `{database: {use: ...}}`,
 * `providers.proxy`). Comments are not code and are not read.
 */
export function contractMentions(file: string, text: string): string[] {
  const found: string[] = [];
  const src = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const inString = (s: string) =>
    NAMES.filter(
      (n) =>
        s === n ||
        new RegExp(`\\{\\{\\s*${n}\\.|\\b(providers|needs)\\.${n}\\b|[{,]\\s*${n}\\s*:`).test(s),
    );
  const visit = (node: ts.Node) => {
    const where = () => `${file}:${src.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
    if (ts.isIdentifier(node) || ts.isPrivateIdentifier(node)) {
      const name = node.text;
      const exempt =
        CONFIG_KEY_READERS.get(name)?.includes(file) &&
        (ts.isPropertyAccessExpression(node.parent) || ts.isPropertyAssignment(node.parent));
      if (NAMES.includes(name) && !exempt) found.push(`${where()}: identifier ${name}`);
    } else if (ts.isStringLiteralLike(node) || ts.isTemplateLiteralToken(node)) {
      for (const n of inString(node.text)) found.push(`${where()}: string naming ${n}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(src);
  return found;
}

describe("contracts own their wiring", () => {
  it("no file under components/ names a contract: the framework knows them through the registry", () => {
    const files = sourceFiles("components");
    assert.ok(files.length > 20, "the scan reads the framework's files");
    const mentions = files.flatMap((f) =>
      contractMentions(f, fs.readFileSync(path.join(ROOT, f), "utf8")),
    );
    assert.deepEqual(mentions, []);
  });

  it("the scan finds the ways code used to name contracts", () => {
    // Lines the framework held before contracts owned their wiring.
    const before = [
      'const x = contractKey === "proxy" ? routeFor(req) : req;',
      "const a = this.providers.sso?.accounts ?? {};",
      "const b = this.providers.backup?.results[name];",
      'const hint = "write {{ database.url }} or {{ sso.clientSecret }}";',
      'const e = "e.g. providers: {database: {use: postgres}}";',
      "const sso = planned.get(name);",
      "const v = raw.secrets;",
    ];
    const found = before.map((line) => contractMentions("components/example.ts", line));
    for (const [i, f] of found.entries()) assert.ok(f.length > 0, `missed: ${before[i]}`);
    // The config key's readers may read psf:secrets, and nothing else may.
    assert.deepEqual(contractMentions("components/config.ts", "const v = raw.secrets;"), []);
    assert.deepEqual(contractMentions("components/config.ts", "// the proxy contract"), []);
  });
});
