import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/**
 * The real CLI on hostile stack files (issue 16): each is one error at its path, with a hint,
 * exit 2, never a stack trace; plan and graph stop at the same validation as validate.
 * (test/unit/fuzz.test.ts runs thousands more in-process; these prove the exit codes and output.)
 */
const root = path.join(__dirname, "..", "..");
const dev = fs.readFileSync(path.join(root, "stacks", "Pulumi.dev.yaml"), "utf8");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-hostile-"));

function psf(...args: string[]) {
  const started = Date.now();
  const r = spawnSync(process.execPath, [path.join(root, "bin", "psf.js"), ...args], {
    encoding: "utf8",
    cwd: root,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started };
}

/** The dev stack with `from` replaced by `to`, as a file named like the dev stack's. */
function stack(name: string, from: string | RegExp, to: string): string {
  const text = typeof from === "string" && from === "" ? to : dev.replace(from, () => to);
  assert.notEqual(text, dev, `${name}: the edit changed nothing`);
  const sub = path.join(dir, name);
  fs.mkdirSync(sub, { recursive: true });
  const file = path.join(sub, "Pulumi.dev.yaml");
  fs.writeFileSync(file, text);
  return file;
}

const STACK_FRAME = /^\s+at .+:\d+:\d+\)?$/m;
const JS_ERROR = /\b(TypeError|RangeError|ReferenceError|SyntaxError)\b|internal error/;

/** Exactly one `error:` line, at `at`, with a hint; exit 2. */
function oneError(r: ReturnType<typeof psf>, at: string, message: RegExp): void {
  assert.equal(r.code, 2, `exit ${r.code}:\n${r.stdout}${r.stderr}`);
  const errors = r.stderr.match(/^error: .*$/gm) ?? [];
  assert.equal(errors.length, 1, `expected one error, got:\n${r.stderr}`);
  assert.ok(errors[0].startsWith(`error: ${at}: `), `expected the error at ${at}:\n${r.stderr}`);
  assert.match(errors[0], message);
  assert.match(r.stderr, /^ {2}hint: \S/m, "no hint");
  assert.doesNotMatch(r.stderr, STACK_FRAME);
  assert.doesNotMatch(r.stderr, JS_ERROR);
}

describe("psf on hostile stack files", function () {
  this.timeout(300_000);
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("refuses a __proto__ key at the top of psf, in validate and plan alike", () => {
    const file = stack("proto", "  psf:domain:", "  psf:__proto__: {x: 1}\n  psf:domain:");
    oneError(psf("validate", "--config", file), "__proto__", /unknown config key psf: "__proto__"/);
    oneError(psf("plan", "--config", file), "__proto__", /unknown config key/);
  });

  it("refuses an unknown YAML tag at its path", () => {
    const file = stack("tag", "psf:domain: psf.localhost", "psf:domain: !foo psf.localhost");
    oneError(psf("validate", "--config", file), "domain", /YAML tag !foo/);
  });

  it("reports a malformed postgres sharedBuffers at its path, in validate, plan and graph", () => {
    const file = stack(
      "buffers",
      "      maxConnections: 50\n",
      "      maxConnections: 50\n      sharedBuffers: lots\n",
    );
    for (const cmd of ["validate", "plan", "graph"])
      oneError(
        psf(cmd, "--config", file),
        "providers.database.sharedBuffers",
        /"lots" is not a size/,
      );
  });

  it("refuses an IPv4 address as the domain before plan could build a URL of it", () => {
    const file = stack("ipv4", "psf:domain: psf.localhost", "psf:domain: 10.0.0.1");
    oneError(psf("validate", "--config", file), "domain", /is an IP address/);
    oneError(psf("plan", "--config", file), "domain", /is an IP address/);
  });

  it("refuses a 5 MB stack file at once, naming the limit", () => {
    const file = stack(
      "large",
      '        RUN_MIGRATIONS: "1"',
      `        RUN_MIGRATIONS: "${"x".repeat(5_000_000)}"`,
    );
    const r = psf("validate", "--config", file);
    oneError(r, file, /the largest stack file PSF reads is 1 MiB/);
  });

  it("reports config: written as a list at config", () => {
    const file = stack("list", "", "config:\n  - psf:domain: example.org\n");
    oneError(
      psf("validate", "--config", file),
      "config",
      /expected a map of config keys, got a list/,
    );
  });

  it("says a port of 1e309 is too large, not null", () => {
    const file = stack("port", "      port: 80\n", "      port: 1e309\n");
    const r = psf("validate", "--config", file, "--json");
    assert.equal(r.code, 2);
    assert.deepEqual(JSON.parse(r.stdout).errors, [
      {
        path: "services.whoami.port",
        message: "expected an integer, got a number too large to represent",
        hint: "use a whole number from 1 to 65535",
      },
    ]);
  });

  it("reports a key set twice once, at that key, in validate and graph", () => {
    const file = stack("dup", "      port: 80\n", "      port: 80\n      port: 81\n");
    for (const cmd of ["validate", "graph"])
      oneError(psf(cmd, "--config", file), "services.whoami.port", /is set twice in one map/);
  });
});
