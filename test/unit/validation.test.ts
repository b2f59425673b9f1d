import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import * as pulumi from "@pulumi/pulumi";
import { readStackFile } from "../../components/config";
import { ContractName } from "../../components/contract";
import { ConfigError, Issue, formatIssues } from "../../components/errors";
import { runProgram, validateConfig } from "../../components/program";
import { ProviderDefinition } from "../../components/provider";
import { SecureValue } from "../../components/validate/schema";
import { registry as realRegistry } from "../../providers";
import { installMocks } from "../support/mocks";
import { FIXTURES, fixtureConfig, overlay, rawOf, stubProvider, testRegistry } from "./helpers";

interface ExpectedError {
  path: string;
  message: string;
  hint?: string;
}
interface Case {
  name: string;
  config: Record<string, unknown>;
  errors: ExpectedError[];
}

const BASE = "valid/Pulumi.base.yaml";
const cases = YAML.parse(
  fs.readFileSync(path.join(FIXTURES, "invalid", "cases.yaml"), "utf8"),
) as Case[];

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
    for (const c of cases) it(c.name, () => assertIssues(validateWith(c.config).issues, c.errors));
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
          upstream: { host: "sso", port: 9091 },
          subdomain: "auth",
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
          upstream: { host: "portal", port: 9091 },
          subdomain,
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
