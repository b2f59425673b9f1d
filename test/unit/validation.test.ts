import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import * as pulumi from "@pulumi/pulumi";
import { readStackFile, readStackText } from "../../components/stack-file";
import { ContractName } from "../../components/contract";
import { ConfigError, Issue, formatIssues, notWithin } from "../../components/errors";
import { Registry } from "../../components/registry";
import { runProgram, validateConfig } from "../../components/program";
import { ProviderDefinition } from "../../components/provider";
import { LIMITS } from "../../components/validate/limits";
import { SecureValue } from "../../components/validate/schema";
import { registry as realRegistry } from "../../providers";
import { installMocks } from "../support/mocks";
import { FIXTURES, fixtureConfig, overlay, rawOf, stubProvider, testRegistry } from "./helpers";

interface ExpectedError {
  path: string;
  message: string;
  hint?: string;
}
/** An edit of a base stack file's text (see the head of cases.yaml). */
interface TextEdit {
  replace?: string;
  append?: string;
  whole?: string;
  with?: string;
  pad?: number;
  times?: number;
}
interface Case {
  name: string;
  base?: "dev";
  config?: Record<string, unknown>;
  text?: TextEdit[];
  spaces?: number;
  errors: ExpectedError[];
}

const BASE = "valid/Pulumi.base.yaml";
const DEV = path.join(__dirname, "..", "..", "stacks", "Pulumi.dev.yaml");
const cases = YAML.parse(
  fs.readFileSync(path.join(FIXTURES, "invalid", "cases.yaml"), "utf8"),
) as Case[];

/** The base file's text with a case's edits applied. */
function editedText(text: string, edits: TextEdit[]): string {
  for (const e of edits) {
    const one = (i: number) =>
      (e.with ?? e.append ?? "")
        .replaceAll("@@PAD@@", "x".repeat(e.pad ?? 0))
        .replaceAll("@@i@@", String(i));
    const added = Array.from({ length: e.times ?? 1 }, (_, i) => one(i)).join("");
    if (e.whole !== undefined) text = e.whole;
    else if (e.replace !== undefined) {
      assert.ok(text.includes(e.replace), `the base file has no ${JSON.stringify(e.replace)}`);
      text = text.replace(e.replace, () => added);
    } else text += added;
  }
  return text;
}

/** `@@SPACES@@` in every string of a case's config, as `n` spaces. */
function withSpaces(v: unknown, n: number): unknown {
  if (typeof v === "string") return v.replaceAll("@@SPACES@@", " ".repeat(n));
  if (Array.isArray(v)) return v.map((x) => withSpaces(x, n));
  if (v && typeof v === "object")
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withSpaces(x, n)]));
  return v;
}

/** What `psf validate` reports for stack file text: the file's own problems, then the config's. */
function validateText(text: string, reg: Registry): Issue[] {
  const read = readStackText(text, "<file>");
  if (read.fatal) return read.issues;
  return [...read.issues, ...notWithin(read.issues, validateConfig(read.raw, "base", reg).issues)];
}

/** Validates one case of cases.yaml. */
function validateCase(c: Case): Issue[] {
  const file = c.base === "dev" ? DEV : path.join(FIXTURES, BASE);
  const reg = c.base === "dev" ? realRegistry : testRegistry();
  if (c.text) return validateText(editedText(fs.readFileSync(file, "utf8"), c.text), reg);
  const config = withSpaces(c.config ?? {}, c.spaces ?? 0);
  const base = YAML.parse(fs.readFileSync(file, "utf8")).config as Record<string, unknown>;
  return validateConfig(rawOf(overlay(base, config) as Record<string, unknown>), "base", reg)
    .issues;
}

/** Validates the base stack with `change` merged in, as `psf validate --config` would. */
function validateWith(change: Record<string, unknown>, reg = testRegistry()) {
  return validateConfig(
    rawOf(overlay(fixtureConfig(BASE), change) as Record<string, unknown>),
    "base",
    reg,
  );
}

/** A deep copy that keeps `secure:` values as SecureValue. */
function clone(v: unknown): unknown {
  if (v instanceof SecureValue || !v || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(clone);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x)]));
}

/** Every map key and list item of `v`, with a setter that replaces it in a copy of the same shape. */
function leavesAndBranches(
  v: unknown,
  path = "",
): Array<[string, (root: Record<string, unknown>, value: unknown) => void]> {
  const out: Array<[string, (root: Record<string, unknown>, value: unknown) => void]> = [];
  const walk = (node: unknown, steps: Array<string | number>) => {
    if (!node || typeof node !== "object" || node instanceof SecureValue) return;
    for (const k of Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node)) {
      const at = [...steps, k];
      out.push([
        at.join("."),
        (root, value) => {
          let cur: any = root;
          for (const s of at.slice(0, -1)) cur = cur[s];
          cur[at[at.length - 1]] = value;
        },
      ]);
      walk((node as any)[k], at);
    }
  };
  walk(v, path ? [path] : []);
  return out;
}

/** Asserts the issues are exactly `expected`: same paths (as a multiset), each message and hint matching. */
function assertIssues(issues: Issue[], expected: ExpectedError[]): void {
  const shown = `\n${formatIssues(issues)}`;
  assert.deepEqual(
    issues.map((i) => i.path).sort(),
    expected.map((e) => e.path).sort(),
    `paths differ; got:${shown}`,
  );
  const unused = [...issues];
  for (const e of expected) {
    const at = unused.findIndex(
      (i) =>
        i.path === e.path &&
        i.message.includes(e.message) &&
        (e.hint === undefined || (i.hint ?? "").includes(e.hint)),
    );
    assert.ok(
      at >= 0,
      `no error at ${e.path} with message containing ${JSON.stringify(e.message)}${e.hint ? ` and hint containing ${JSON.stringify(e.hint)}` : ""}; got:${shown}`,
    );
    unused.splice(at, 1);
  }
}

describe("stack validation", () => {
  it("accepts the base stack, read from its Pulumi.<stack>.yaml file", () => {
    const { raw, issues: readIssues } = readStackFile(path.join(FIXTURES, BASE));
    assert.deepEqual(readIssues, []);
    const { plan, issues } = validateConfig(raw, "base", testRegistry());
    assert.deepEqual(issues, [], formatIssues(issues));
    assert.ok(plan);
    assert.deepEqual(Object.keys(plan.services), ["notes", "whoami"]);
    assert.deepEqual(plan.services.notes.needs.sort(), [
      "backup",
      "database",
      "ldap",
      "proxy",
      "secrets",
      "sso",
    ]);
  });

  it(`has at least 40 invalid cases (${cases.length})`, () => {
    assert.ok(cases.length >= 40);
    assert.equal(new Set(cases.map((c) => c.name)).size, cases.length, "case names are unique");
  });

  describe("reports each mistake at its exact config path", () => {
    for (const c of cases) it(c.name, () => assertIssues(validateCase(c), c.errors));
  });

  it("reports every problem of a config in one run", () => {
    const { plan, issues } = validateWith({
      "psf:domian": "example.net",
      "psf:providers": { secrets: { use: "hardcoded" } },
      "psf:services": {
        notes: { port: 70000, needs: { database: { engine: "mysql" } } },
        whoami: { subdomain: "notes" },
      },
    });
    assert.equal(plan, undefined);
    assertIssues(issues, [
      { path: "domian", message: "unknown config key" },
      { path: "providers.secrets.use", message: "not allowed in staging" },
      { path: "services.notes.port", message: "above the maximum" },
      { path: "services.notes.needs.database.engine", message: '"mysql"' },
      { path: "services.whoami.subdomain", message: "already routed to notes" },
    ]);
  });

  it("carries no stack trace in its errors", () => {
    const { issues } = validateWith({
      "psf:domian": "x",
      "psf:services": { whoami: { image: "Not An Image" } },
    });
    const err = new ConfigError(issues);
    assert.doesNotMatch(err.stack ?? "", /^\s+at /m);
    assert.match(err.message, /^error: domian: .*\n {2}hint: did you mean "domain"/m);
    assert.match(err.message, /^error: services\.whoami\.image: /m);
  });

  it("stops the program with every problem and no stack trace", () => {
    installMocks("base");
    const raw = rawOf(
      overlay(fixtureConfig(BASE), { "psf:domian": "x", "psf:environment": "prod" }) as Record<
        string,
        unknown
      >,
    );
    let thrown: unknown;
    try {
      runProgram(testRegistry(), { raw, stackName: "base" });
    } catch (e) {
      thrown = e;
    }
    assert.ok(thrown instanceof pulumi.RunError, `expected a RunError, got ${String(thrown)}`);
    const message = (thrown as Error).message;
    assert.match(message, /error: domian: /);
    assert.match(message, /error: environment: /);
    assert.doesNotMatch(message, /^\s+at /m);
  });

  it("reports providers that need each other at providers, naming the cycle", () => {
    // A proxy that reads the SSO, and an SSO that needs (and reads) its own proxy route.
    const loopySso: ProviderDefinition = stubProvider("sso", {
      name: "loopy-sso",
      needs: () => [
        {
          contract: "proxy",
          requester: "loopy-sso",
          request: {},
          from: { upstream: { host: "sso", port: 9091 }, subdomain: "auth" },
        },
      ],
    });
    const loopyProxy: ProviderDefinition = stubProvider("proxy", {
      name: "loopy-proxy",
      reads: () => ["sso"],
    });
    const { issues } = validateWith(
      { "psf:providers": { sso: { use: "loopy-sso" }, proxy: { use: "loopy-proxy" } } },
      testRegistry([loopySso, loopyProxy]),
    );
    assertIssues(issues, [{ path: "providers", message: "cycle" }]);
    const cycle = issues[0].message;
    assert.match(cycle, /sso \(loopy-sso\)/);
    assert.match(cycle, /proxy \(loopy-proxy\)/);
    // The cycle closes: it starts and ends with the same contract.
    const members = [...cycle.matchAll(/(\w+) \(/g)].map((m) => m[1]);
    assert.equal(members[0], members[members.length - 1]);
  });

  it("reports a loop of needs through three providers, naming each member once", () => {
    const needing = (
      contract: ContractName,
      name: string,
      wants: ContractName,
      request: Record<string, unknown>,
    ) =>
      stubProvider(contract, {
        name,
        needs: () => [{ contract: wants, requester: name, request }],
      });
    const { issues } = validateWith(
      {
        "psf:providers": {
          database: { use: "db-x" },
          ldap: { use: "ldap-x" },
          sso: { use: "sso-x" },
        },
      },
      testRegistry([
        needing("database", "db-x", "ldap", {}),
        needing("ldap", "ldap-x", "sso", { redirectUris: ["https://dir.example.org/cb"] }),
        needing("sso", "sso-x", "database", { name: "sso" }),
      ]),
    );
    assertIssues(issues, [{ path: "providers", message: "cycle" }]);
    const members = [...issues[0].message.matchAll(/(\w+) \(([\w-]+)\)/g)].map(
      (m) => `${m[1]}/${m[2]}`,
    );
    assert.equal(members.length, 4, issues[0].message);
    assert.equal(members[0], members[3]);
    assert.deepEqual(members.slice(0, 3).sort(), ["database/db-x", "ldap/ldap-x", "sso/sso-x"]);
  });

  it("reports a provider's unmet need at that provider", () => {
    const needy = stubProvider("sso", {
      name: "needy",
      needs: () => [{ contract: "database", requester: "needy", request: {} }],
    });
    const { issues } = validateWith(
      { "psf:providers": { sso: { use: "needy" }, database: null } },
      testRegistry([needy]),
    );
    assertIssues(issues, [
      {
        path: "providers.sso.use",
        message: "needy needs a database provider",
        hint: "set providers.database",
      },
      { path: "services.notes.needs.database", message: "needs a database provider" },
    ]);
  });

  /** An SSO that publishes its portal through the proxy, under requester `portal`. */
  const portal = (subdomain: string) =>
    stubProvider("sso", {
      name: "portal",
      needs: () => [
        {
          contract: "proxy",
          requester: "portal",
          request: {},
          consumes: false,
          from: { upstream: { host: "portal", port: 9091 }, subdomain },
        },
      ],
    });

  it("reports a provider's route on a service's host at the service's subdomain", () => {
    const { issues } = validateWith(
      { "psf:providers": { sso: { use: "portal" } } },
      testRegistry([portal("notes")]),
    );
    assertIssues(issues, [
      {
        path: "services.notes.subdomain",
        message: "host notes.example.org is already routed to portal (a provider's route)",
      },
    ]);
  });

  it("reports a service named like a provider's own request instead of losing its route", () => {
    const { issues } = validateWith(
      {
        "psf:providers": { sso: { use: "portal" } },
        "psf:services": {
          portal: { image: "ghcr.io/example/portal:1", port: 80, needs: { proxy: {} } },
        },
      },
      testRegistry([portal("auth")]),
    );
    assertIssues(issues, [
      {
        path: "services.portal",
        message: "also the name under which the portal provider requests proxy",
        hint: "rename the service",
      },
    ]);
  });

  it("reports a provider's invalid request of another contract under that provider's entry", () => {
    const bad = stubProvider("sso", {
      name: "bad",
      needs: () => [{ contract: "database", requester: "bad", request: { engine: "oracle" } }],
    });
    const { issues } = validateWith(
      { "psf:providers": { sso: { use: "bad" } } },
      testRegistry([bad]),
    );
    assertIssues(issues, [{ path: "providers.sso.engine", message: '"oracle" is not one of' }]);
  });

  it("never throws, whatever any field of the base stack holds", () => {
    const odd: unknown[] = [
      null,
      "",
      "x".repeat(300),
      0,
      -1,
      1.5,
      true,
      [],
      [null],
      {},
      { a: 1 },
      new SecureValue("v1:eA=="),
    ];
    const base = rawOf(fixtureConfig(BASE));
    let tried = 0;
    for (const [path, set] of leavesAndBranches(base))
      for (const value of odd) {
        const raw = clone(base) as Record<string, unknown>;
        set(raw, value);
        tried++;
        let issues: Issue[] = [];
        assert.doesNotThrow(
          () => (issues = validateConfig(raw, "base", testRegistry()).issues),
          `${path} = ${JSON.stringify(value)}`,
        );
        for (const i of issues)
          assert.ok(
            typeof i.path === "string" && typeof i.message === "string",
            `${path}: malformed issue`,
          );
      }
    assert.ok(tried > 500, `${tried} variants`);
  });

  describe("with the real providers", () => {
    const has = (contract: string, name: string) =>
      realRegistry.providers.some((p) => p.contract === contract && p.name === name);
    /** The base stack with the real provider for `contract` instead of the stub. */
    const real = (contract: string, name: string, change: Record<string, unknown> = {}) =>
      validateWith(
        overlay({ "psf:providers": { [contract]: { use: name } } }, change) as Record<
          string,
          unknown
        >,
        {
          contracts: realRegistry.contracts,
          providers: [
            ...realRegistry.providers,
            ...testRegistry().providers.filter((p) => p.name === "stub" && p.contract !== contract),
          ],
        },
      );

    it("accepts the base stack with postgres, and refuses an unknown extension at its index", function () {
      if (!has("database", "postgres")) this.skip();
      assertIssues(real("database", "postgres").issues, []);
      const { issues } = real("database", "postgres", {
        "psf:services": { notes: { needs: { database: { extensions: ["pg_trgm", "postgis3"] } } } },
      });
      assertIssues(issues, [
        {
          path: "services.notes.needs.database.extensions[1]",
          message: 'unknown extension "postgis3"',
          hint: "pg_trgm",
        },
      ]);
    });

    it("suggests the provider a typo meant", function () {
      if (!has("database", "postgres")) this.skip();
      assertIssues(real("database", "postgress").issues, [
        {
          path: "providers.database.use",
          message: 'unknown database provider "postgress"',
          hint: 'did you mean "postgres"',
        },
      ]);
    });

    it("refuses an unknown nginx setting and a conflicting host port", function () {
      if (!has("proxy", "nginx")) this.skip();
      assertIssues(real("proxy", "nginx").issues, []);
      assertIssues(real("proxy", "nginx", { "psf:providers": { proxy: { gzipp: true } } }).issues, [
        {
          path: "providers.proxy.gzipp",
          message: 'unknown key "gzipp"',
          hint: 'did you mean "gzip"',
        },
      ]);
      assertIssues(
        real("proxy", "nginx", {
          "psf:services": {
            whoami: { publish: [{ host: 443, container: 80, address: "0.0.0.0" }] },
          },
        }).issues,
        [
          {
            path: "services.whoami.publish[0].host",
            message: "host port 443 is already used by nginx",
          },
        ],
      );
    });
  });
});

describe("limits of what psf reads (docs/validation.md)", () => {
  const devText = fs.readFileSync(DEV, "utf8");
  /** The dev stack with services added until the file has about `bytes` bytes. */
  function devWithServices(bytes: number): string {
    const doc = YAML.parse(devText) as { config: Record<string, any> };
    const services = doc.config["psf:services"];
    const one = (i: number) => ({
      image: `registry.example.org/team/app${i}:1.0.${i}`,
      port: 8080,
      env: { DATABASE_URL: "{{ database.url }}", MODE: "production", INDEX: `${i}` },
      volumes: { data: "/data" },
      healthcheck: { http: "/health" },
      needs: { database: { name: `app${i}` }, proxy: { auth: "none" } },
    });
    const base = { ...services };
    let n = Math.floor(bytes / 300);
    for (;;) {
      doc.config["psf:services"] = { ...base };
      for (let i = 0; i < n; i++) doc.config["psf:services"][`app${i}`] = one(i);
      const text = YAML.stringify(doc, { lineWidth: 0 });
      const size = Buffer.byteLength(text);
      if (size <= bytes && size > bytes * 0.95) return text;
      n = Math.floor((n * bytes * 0.98) / size);
    }
  }
  it("documents the limits it applies", () => {
    const doc = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "validation.md"), "utf8");
    assert.ok(doc.includes(`${LIMITS.fileBytes.toLocaleString("en")} bytes`), "file size");
    assert.ok(doc.includes(`${LIMITS.depth} levels`), "depth");
    assert.ok(doc.includes(LIMITS.values.toLocaleString("en")), "values");
  });

  // How long it takes is the bench's business (node bench/validate-size.js, npm run bench):
  // tests check what it does.
  it("validates a 1 MB stack file of services, every service read", function () {
    this.timeout(300_000);
    const large = devWithServices(1_000_000);
    assert.ok(Buffer.byteLength(large) <= LIMITS.fileBytes, `${Buffer.byteLength(large)} bytes`);
    assert.ok(Buffer.byteLength(large) >= 900_000, `${Buffer.byteLength(large)} bytes`);
    assert.deepEqual(validateText(large, realRegistry), []);
    const services = (readStackText(large).raw?.services ?? {}) as Record<string, unknown>;
    const expected = YAML.parse(large).config["psf:services"] as Record<string, unknown>;
    assert.deepEqual(Object.keys(services), Object.keys(expected));
  });

  it("refuses a file one byte over the size limit, and reads one at it", () => {
    const base = "config:\n  psf:domain: example.org\n  psf:environment: development\n# ";
    const at = base + "x".repeat(LIMITS.fileBytes - Buffer.byteLength(base) - 1) + "\n";
    assert.equal(Buffer.byteLength(at), LIMITS.fileBytes);
    assert.equal(readStackText(at).fatal, false);
    const over = readStackText(at + "x", "<file>");
    assert.equal(over.fatal, true);
    assertIssues(over.issues, [
      { path: "<file>", message: "the largest stack file PSF reads is 1 MiB", hint: "1 MiB" },
    ]);
  });

  it("reads 32 levels of nesting and refuses 33, however they are written", () => {
    // The file's top level is 1, config: 2, a psf: key's value 3.
    const flow = (levels: number) =>
      `config:\n  psf:x: ${"[".repeat(levels - 2)}${"]".repeat(levels - 2)}\n`;
    const block = (levels: number) =>
      "config:\n  psf:x:\n" +
      Array.from({ length: levels - 2 }, (_, i) => `${"  ".repeat(i + 2)}k:`).join("\n") +
      " 1\n";
    const compact = (levels: number) => `config:\n  psf:x:\n    ${"- ".repeat(levels - 2)}1\n`;
    for (const make of [flow, block, compact]) {
      assert.equal(readStackText(make(LIMITS.depth)).fatal, false, make(LIMITS.depth));
      const r = readStackText(make(LIMITS.depth + 1), "<file>");
      assert.equal(r.fatal, true, make(LIMITS.depth + 1));
      assert.match(r.issues[0].message, /nested deeper than 32 levels/);
    }
    // Far deeper stops with the same error, not a stack overflow in the parser's recursion.
    const deep = readStackText(`config:\n  psf:x: ${"[".repeat(500_000)}\n`, "<file>");
    assert.match(deep.issues[0].message, /nested deeper than 32 levels/);
  });

  it("refuses more values than it reads, aliases counted as often as they are used", () => {
    const many = `config:\n  psf:x: [${"0,".repeat(LIMITS.values)}0]\n`;
    const r = readStackText(many, "<file>");
    assert.equal(r.fatal, true);
    assert.match(r.issues[0].message, /more than 200,000 keys and values/);
    const laughs =
      "config:\n  a: &a [x,x,x,x,x,x,x,x,x,x]\n" +
      ["b", "c", "d", "e", "f", "g"]
        .map((k, i) => `  ${k}: &${k} [${Array(10).fill(`*${"abcdef"[i]}`).join(",")}]\n`)
        .join("");
    const bomb = readStackText(laughs, "<file>");
    assert.equal(bomb.fatal, true);
    assert.match(bomb.issues[0].message, /more than 200,000 keys and values/);
  });

  it("reads the engine's config (JSON) within the same limits, into maps without prototype", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    const { issues } = validateConfig(
      { domain: "example.org", services: deep },
      "x",
      testRegistry(),
    );
    // services is level 3 (as in a stack file), so level 33 is 30 lists further in.
    assertIssues(issues, [
      { path: `services${"[0]".repeat(30)}`, message: "nested deeper than 32 levels" },
    ]);
    const polluted: Record<string, unknown> = { domain: "example.org" };
    polluted["__proto__"] = { environment: "production" };
    assertIssues(validateConfig(polluted, "x", testRegistry()).issues, [
      { path: "__proto__", message: 'unknown config key psf: "__proto__"' },
    ]);
  });
});
