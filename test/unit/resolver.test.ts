import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { ContractName, ContractResult } from "../../components/contract";
import { parseStack } from "../../components/config";
import { formatIssues } from "../../components/errors";
import { runProgram } from "../../components/program";
import { ProviderArgs, ProviderDefinition, ProviderInstance } from "../../components/provider";
import { Plan } from "../../components/plan";
import { resolve } from "../../components/resolver";
import { installMocks } from "../support/mocks";
import { fixtureConfig, overlay, rawOf, stubProvider, testRegistry } from "./helpers";

/** A built test provider: one result per requester, made by `make`. */
class FakeProvider extends pulumi.ComponentResource implements ProviderInstance {
  readonly results: Record<string, ContractResult> = {};
  constructor(
    type: string,
    name: string,
    requests: Record<string, unknown>,
    make: (requester: string) => ContractResult,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super(type, name, {}, opts);
    for (const requester of Object.keys(requests)) this.results[requester] = make(requester);
    this.registerOutputs({});
  }
}

/** What each provider's `create` received, in the order they were built. */
const built: Array<{
  name: string;
  requests: Record<string, unknown>;
  resultsSeen: Record<string, boolean>;
}> = [];

function fake(
  contract: ContractName,
  name: string,
  def: Partial<ProviderDefinition>,
  make: (requester: string) => ContractResult,
  reads: Array<[ContractName, string]> = [],
): ProviderDefinition {
  return stubProvider(contract, {
    name,
    ...def,
    create: (n: string, args: ProviderArgs, opts: pulumi.ComponentResourceOptions) => {
      // Which results of other contracts were already there when this provider was built.
      const resultsSeen = Object.fromEntries(
        reads.map(([c, r]) => [`${c}/${r}`, args.result(registry.contracts[c], r) !== undefined]),
      );
      built.push({ name: n, requests: structuredClone(args.requests), resultsSeen });
      return new FakeProvider(`psf:${contract}:${name}`, n, args.requests, make, opts);
    },
  });
}

const out = (v: string) => pulumi.output(v);
const db = fake("database", "db", {}, (r) => ({
  host: out("db"),
  port: pulumi.output(5432) as pulumi.Output<any>,
  database: out(r),
  user: out(r),
  password: pulumi.secret(`pw-${r}`),
  url: pulumi.secret(`postgresql://${r}:pw-${r}@db:5432/${r}`),
  dumpCommand: out("dump"),
  restoreCommand: out("restore"),
}));
/** An identity provider: it keeps its users in the database and publishes its portal. */
const idp = fake(
  "sso",
  "idp",
  {
    needs: () => [
      { contract: "database", requester: "idp", request: { name: "idp" } },
      {
        contract: "proxy",
        requester: "idp",
        request: {},
        consumes: false,
        from: { upstream: { host: "idp", port: 9091 }, subdomain: "auth" },
      },
    ],
  },
  (r) => ({
    clientId: out(r),
    clientSecret: pulumi.secret(`secret-${r}`),
    issuerUrl: out("https://auth.example.org"),
  }),
  [["database", "idp"]],
);
/** A proxy that wants a certificate per route, and the SSO when a route asks for auth. */
const edge = fake(
  "proxy",
  "edge",
  {
    needs: (_s, _stack, requests: Record<string, any>) =>
      Object.entries(requests).map(([requester, route]) => ({
        contract: "ssl" as const,
        requester: `edge:${requester}`,
        request: { domain: route.host },
      })),
    reads: (_s, _stack, requests: Record<string, any>) =>
      Object.values(requests).some((r) => r.auth !== "none") ? ["sso"] : [],
  },
  (r) => ({ url: out(`https://${r}.example.org`), internalUrl: out(`http://${r}`) }),
  [
    ["ssl", "edge:notes"],
    ["sso", "notes"],
  ],
);
const registry = testRegistry([db, idp, edge]);

function plan(change: Record<string, unknown> = {}): Plan {
  const raw = rawOf(
    overlay(fixtureConfig("valid/Pulumi.resolver.yaml"), change) as Record<string, unknown>,
  );
  const { settings, issues: parseIssues } = parseStack(raw, "dev", registry);
  const { plan: p, issues } = resolve(settings, registry);
  assert.deepEqual([...parseIssues, ...issues], [], formatIssues([...parseIssues, ...issues]));
  return p;
}
const provider = (p: Plan, contract: ContractName) =>
  p.providers.find((x) => x.contract === contract)!;

describe("resolver", () => {
  it("picks the provider each contract names", () => {
    const p = plan();
    assert.deepEqual(Object.fromEntries(p.providers.map((x) => [x.contract, x.definition.name])), {
      ssl: "selfsigned",
      database: "db",
      sso: "idp",
      proxy: "edge",
    });
  });

  it("collects every service's request for a provider, with the contract's defaults", () => {
    const requests = provider(plan(), "database").requests;
    assert.deepEqual(Object.keys(requests), ["notes", "wiki", "idp"]);
    assert.deepEqual(requests.notes, {
      engine: "postgres",
      name: "notes",
      user: "notes",
      extensions: ["pg_trgm"],
    });
    assert.deepEqual(requests.wiki, {
      engine: "postgres",
      name: "wiki_db",
      user: "wiki_db",
      extensions: [],
    });
    const sso = provider(plan(), "sso").requests;
    assert.deepEqual(Object.keys(sso), ["notes", "wiki"]);
    assert.equal(sso.wiki.clientId, "wiki");
    assert.equal(sso.wiki.policy, "two_factor");
    assert.deepEqual(sso.wiki.scopes, ["openid", "profile", "email", "groups"]);
  });

  it("records each service's needs, and none for a service without", () => {
    const p = plan();
    assert.deepEqual(p.services.notes.needs, ["database", "sso", "proxy"]);
    assert.deepEqual(p.services.worker.needs, []);
  });

  it("adds providers' own requests under their requester names, to a fixed point", () => {
    const p = plan();
    assert.deepEqual(provider(p, "database").requests.idp, {
      engine: "postgres",
      name: "idp",
      user: "idp",
      extensions: [],
    });
    // idp's portal route was added after edge first asked for certificates: it still gets one.
    assert.deepEqual(Object.keys(provider(p, "ssl").requests).sort(), [
      "edge:idp",
      "edge:notes",
      "edge:wiki",
    ]);
    assert.deepEqual(provider(p, "ssl").requests["edge:wiki"], {
      domain: "docs.example.org",
      sans: [],
    });
  });

  it("turns proxy requests into routes with the public host and the upstream", () => {
    const routes = provider(plan(), "proxy").requests;
    assert.equal(routes.notes.host, "notes.example.org");
    assert.deepEqual(routes.notes.upstream, { host: "notes", port: 8080, scheme: "http" });
    assert.equal(routes.notes.auth, "two_factor");
    assert.equal(routes.wiki.host, "docs.example.org");
    assert.deepEqual(routes.wiki.upstream, { host: "wiki", port: 3000, scheme: "http" });
    assert.equal(routes.wiki.auth, "none");
    assert.equal(routes.idp.host, "auth.example.org");
    assert.deepEqual(routes.idp.upstream, { scheme: "http", host: "idp", port: 9091 });
  });

  it("makes SSO redirectPaths absolute on the service's public host, keeping given URIs once", () => {
    const sso = provider(plan(), "sso").requests;
    assert.deepEqual(sso.notes.redirectUris, [
      "https://notes.example.org/oauth2/callback",
      "https://app.example.net/cb",
    ]);
    assert.deepEqual(sso.wiki.redirectUris, ["https://docs.example.org/login"]);
  });

  it("builds a provider after the providers whose results it reads", () => {
    const p = plan();
    const order = p.providers.map((x) => x.contract);
    const before = (a: ContractName, b: ContractName) =>
      assert.ok(order.indexOf(a) < order.indexOf(b), `${a} before ${b} in ${order.join(", ")}`);
    before("database", "sso");
    before("ssl", "proxy");
    before("sso", "proxy");
    assert.deepEqual(provider(p, "sso").dependsOn, ["database"]);
    assert.deepEqual(provider(p, "proxy").dependsOn, ["ssl", "sso"]);
  });

  it("does not make the proxy wait for the SSO when no route asks for auth", () => {
    const p = plan({ "psf:services": { notes: { needs: { proxy: { auth: "none" } } } } });
    assert.deepEqual(provider(p, "proxy").dependsOn, ["ssl"]);
  });

  it("hands each provider every request at once, after the results it reads exist", async () => {
    built.length = 0;
    installMocks("dev");
    const raw = rawOf(fixtureConfig("valid/Pulumi.resolver.yaml"));
    const stack = runProgram(registry, { raw, stackName: "dev" });
    // selfsigned (the real ssl provider) is built too, but records nothing here.
    assert.deepEqual(
      built.map((b) => b.name),
      ["db", "idp", "edge"],
    );
    assert.deepEqual(Object.keys(built[0].requests), ["notes", "wiki", "idp"]);
    assert.deepEqual(built[1].resultsSeen, { "database/idp": true });
    assert.deepEqual(built[2].resultsSeen, { "ssl/edge:notes": true, "sso/notes": true });
    assert.deepEqual(Object.keys(built[2].requests), ["notes", "wiki", "idp"]);
    assert.ok(stack.apps.notes && stack.apps.wiki && stack.apps.worker);
  });
});
