import { strict as assert } from "assert";
import fc from "fast-check";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { planCommand } from "../../cli/plan";
import { validateCommand } from "../../cli/validate";
import { readStackText } from "../../components/stack-file";
import { SecureValue } from "../../components/validate/schema";
import { Case, caseArb, mutated } from "./fuzz/mutate";
import { parsePath, pathExists } from "./fuzz/paths";

/**
 * Property-based fuzzing of `psf validate` and `psf plan` (issue 16): mutations of the shipped
 * stacks (./fuzz/mutate.ts) must each be valid (exit 0, and then plan with exit 0 and no secret
 * in the output) or invalid (exit 2) with errors at paths of the input, never a crash, a stack
 * trace or a JavaScript error name, and within a bounded time.
 *
 * The seed is fixed (PSF_FUZZ_SEED to change it, PSF_FUZZ_RUNS for more cases); a failure
 * prints the seed and the shrunk case, and the stack file it made is kept for `psf validate`.
 */
const SEED = Number(process.env.PSF_FUZZ_SEED ?? 16);
const RUNS = Number(process.env.PSF_FUZZ_RUNS ?? 2500);
/** Stop early (passing) if a slow machine would take longer; the count run is printed. */
const TIME_LIMIT_MS = Number(process.env.PSF_FUZZ_TIME_LIMIT_MS ?? 150_000);
/** One validation of a case (files are at most 1 MiB): generous for a loaded CI machine. */
const VALIDATE_MS = 5_000;

const ROOT = path.join(__dirname, "..", "..");
const STACKS = fs
  .readdirSync(path.join(ROOT, "stacks"))
  .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
  .filter((s): s is string => !!s)
  .sort();
const ORIGINAL = Object.fromEntries(
  STACKS.map((s) => [s, fs.readFileSync(path.join(ROOT, "stacks", `Pulumi.${s}.yaml`), "utf8")]),
);

/** What must never reach a user: a stack frame, a JavaScript error's name, a stringified object. */
const FORBIDDEN = [
  /^\s+at .+:\d+(:\d+)?\)?$/m,
  /\b(TypeError|RangeError|ReferenceError|SyntaxError|EvalError|URIError|AggregateError)\b/,
  /internal error/i,
  /this is a bug in psf/,
  /\[object Object\]/,
];
/** Generated secrets as the offline engine makes them (cli/mock-outputs.ts). */
const GENERATED = [/mock-password-/, /BEGIN (RSA |EC )?PRIVATE KEY/];

/** Runs a CLI function with stdout and stderr captured. */
async function captured(run: () => number | Promise<number>) {
  let stdout = "";
  let stderr = "";
  const out = process.stdout.write;
  const err = process.stderr.write;
  process.stdout.write = ((s: string | Uint8Array) => {
    stdout += String(s);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => {
    stderr += String(s);
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await run();
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

/** Strings the config holds as secrets that it does not also hold in plain fields. */
function secretStrings(raw: unknown): string[] {
  const secret = new Set<string>();
  const plain = new Set<string>();
  const walk = (v: unknown, isSecret: boolean) => {
    if (v instanceof SecureValue) secret.add(v.ciphertext);
    else if (typeof v === "string") (isSecret ? secret : plain).add(v);
    else if (v && typeof v === "object") for (const x of Object.values(v)) walk(x, isSecret);
  };
  const r = raw as Record<string, any>;
  for (const [k, v] of Object.entries(r)) {
    if (k === "secrets") walk(v, true);
    else if (k === "providers" && v && typeof v === "object") {
      for (const [c, entry] of Object.entries(v as Record<string, any>)) {
        if (c === "secrets" && entry && typeof entry === "object" && "values" in entry) {
          walk(entry.values, true);
          walk({ ...entry, values: undefined }, false);
        } else walk(entry, false);
      }
    } else walk(v, false);
  }
  return [...secret].filter((s) => s.length >= 8 && !plain.has(s));
}

/** A stack file's `config:` psf keys without the prefix, as error paths name them. */
function psfKeys(doc: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null);
  const config = (doc as { config?: unknown } | null)?.config;
  if (config && typeof config === "object" && !Array.isArray(config))
    for (const [k, v] of Object.entries(config)) if (k.startsWith("psf:")) out[k.slice(4)] = v;
  return out;
}

/** For a file refused as a whole (an alias cycle, too deep): the path in its YAML syntax tree. */
function inDocument(text: string, segments: Array<string | number>): boolean {
  const doc = YAML.parseDocument(text, { uniqueKeys: false });
  const [first, ...rest] = segments;
  return doc.hasIn(["config", `psf:${first}`, ...rest]);
}

describe("fuzzing validate and plan with mutated shipped stacks", function () {
  this.timeout(TIME_LIMIT_MS + 120_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-fuzz-"));
  const planned = new Set<string>();
  let stats = { cases: 0, valid: 0, planned: 0, errors: 0, validateMs: 0, planMs: 0 };
  // PBKDF2 at Authelia's cost is most of an offline plan's time; the digests are not what is
  // checked here, so plans in this suite hash with one iteration.
  // (The module object itself: providers call `crypto_1.pbkdf2Sync` on it at each use.)
  const crypto = require("crypto") as typeof import("crypto");
  const pbkdf2Sync = crypto.pbkdf2Sync;
  before(() => {
    crypto.pbkdf2Sync = (p, s, _i, k, d) => pbkdf2Sync(p, s, 1, k, d);
  });
  after(() => {
    crypto.pbkdf2Sync = pbkdf2Sync;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function check(c: Case): Promise<void> {
    stats.cases++;
    const { text, data } = mutated(ORIGINAL[c.stack], c);
    // The file name gives the stack name, as for `psf validate --config stacks/Pulumi.dev.yaml`.
    const file = path.join(dir, `Pulumi.${c.stack}.yaml`);
    fs.writeFileSync(file, text);
    const started = process.hrtime.bigint();
    const v = await captured(() => validateCommand({ config: file, json: true }));
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    stats.validateMs += ms;
    const shown = `${v.stdout}${v.stderr}`;
    assert.ok(v.code === 0 || v.code === 2, `validate exited ${v.code}:\n${shown}`);
    for (const re of FORBIDDEN) assert.doesNotMatch(shown, re, `validate printed ${re}`);
    assert.ok(ms < VALIDATE_MS, `validate took ${Math.round(ms)} ms`);
    const result = JSON.parse(v.stdout) as {
      valid: boolean;
      errors: Array<{ path: string; message: string; hint?: string }>;
    };
    assert.equal(result.valid, v.code === 0);
    if (v.code === 2) {
      assert.ok(result.errors.length > 0, "exit 2 without an error");
      stats.errors += result.errors.length;
      // The input as read: the mutated data itself, unless the YAML text was edited.
      let input: (segments: Array<string | number>) => boolean;
      if (data) input = (segments) => pathExists(psfKeys(data), segments);
      else {
        const read = readStackText(text, file);
        input = read.fatal
          ? (segments) => inDocument(text, segments)
          : (segments) => pathExists(read.raw, segments);
      }
      for (const e of result.errors) {
        assert.ok(e.message && typeof e.message === "string", `an error without a message`);
        if (e.path === file || e.path === "config") continue;
        const segments = parsePath(e.path);
        assert.ok(segments, `unreadable path ${JSON.stringify(e.path)}: ${e.message}`);
        // `config.<key>`: a key of another namespace than psf:, a problem of the file's YAML.
        const found = /^config[.[]/.test(e.path)
          ? YAML.parseDocument(text, { uniqueKeys: false }).hasIn(segments)
          : input(segments);
        assert.ok(found, `${e.path}: ${e.message} — no such place in the input`);
      }
      return;
    }
    stats.valid++;
    // Every config validate accepts also plans; each distinct config once.
    const read = readStackText(text, file);
    const key = `${c.stack}\n${JSON.stringify(read.raw)}`;
    if (planned.has(key)) return;
    planned.add(key);
    stats.planned++;
    const rejections: unknown[] = [];
    const onRejection = (e: unknown) => rejections.push(e);
    process.on("unhandledRejection", onRejection);
    try {
      const planStarted = Date.now();
      const p = await captured(() => planCommand({ config: file, json: true }));
      stats.planMs += Date.now() - planStarted;
      await new Promise((r) => setImmediate(r));
      const out = `${p.stdout}${p.stderr}`;
      assert.deepEqual(rejections.map(String), [], "plan left a promise rejected");
      assert.equal(p.code, 0, `validate accepted, but plan exited ${p.code}:\n${p.stderr}`);
      for (const re of FORBIDDEN) assert.doesNotMatch(out, re, `plan printed ${re}`);
      for (const re of GENERATED) assert.doesNotMatch(p.stdout, re, `plan printed a ${re}`);
      for (const s of secretStrings(read.raw))
        assert.ok(!p.stdout.includes(s), `plan printed the secret ${JSON.stringify(s)}`);
    } finally {
      process.off("unhandledRejection", onRejection);
    }
  }

  it(`holds for ${RUNS} mutated stacks (seed ${SEED})`, async () => {
    const started = Date.now();
    try {
      await fc.assert(
        fc.asyncProperty(caseArb(STACKS), (c) => check(c)),
        {
          seed: SEED,
          numRuns: RUNS,
          interruptAfterTimeLimit: TIME_LIMIT_MS,
          markInterruptAsFailure: false,
        },
      );
    } catch (e) {
      // Keep the failing file for a look with the real CLI.
      const kept = path.join(os.tmpdir(), `psf-fuzz-failure-seed-${SEED}`);
      fs.mkdirSync(kept, { recursive: true });
      for (const f of fs.readdirSync(dir)) fs.copyFileSync(path.join(dir, f), path.join(kept, f));
      const cause = (e as { cause?: unknown }).cause;
      throw new Error(
        `fuzz failed with seed ${SEED} (rerun: PSF_FUZZ_SEED=${SEED} npx mocha test/unit/fuzz.test.ts); last stack file kept in ${kept}\n${(e as Error).message}${cause instanceof Error ? `\ncaused by: ${cause.message}` : ""}`,
      );
    } finally {
      const s = Math.round((Date.now() - started) / 1000);
      process.stdout.write(
        `      fuzz: seed ${SEED}, ${stats.cases} cases in ${s} s (validate ${Math.round(stats.validateMs / 1000)} s, plan ${Math.round(stats.planMs / 1000)} s): ${stats.valid} valid (${stats.planned} distinct planned), ${stats.errors} errors checked\n`,
      );
    }
    stats = { cases: 0, valid: 0, planned: 0, errors: 0, validateMs: 0, planMs: 0 };
  });
});
