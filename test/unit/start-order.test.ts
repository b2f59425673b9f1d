import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { PsfStack } from "../../components/stack";
import { validateConfig } from "../../components/validate-config";
import { registry } from "../../providers";
import { installMocks, resetDeclared } from "../support/mocks";
import { TestRoot, declaredSoFar, fixtureConfig, rawOf } from "./helpers";

/**
 * What an app's containers wait for before they start: the servers of its database and SSO,
 * not the proxy that routes to it, unless an SSO's portal must be reachable through that proxy
 * when the app starts (OIDC discovery).
 */

/** Each resource's name → the names of the resources it depends on, as the SDK was given them. */
async function startOrder(stackFile: string, stackName: string): Promise<Map<string, string[]>> {
  installMocks(stackName);
  resetDeclared();
  const deps = new Map<string, string[]>();
  const capture: pulumi.ResourceTransformation = (args) => {
    const on = (args.opts.dependsOn ?? []) as pulumi.Resource[];
    // A resource's own name is enough here: the stacks below use each name once.
    deps.set(
      args.name,
      (Array.isArray(on) ? on : [on]).map((r) => (r as unknown as { __name: string }).__name),
    );
    return undefined;
  };
  const { plan, issues } = validateConfig(rawOf(fixtureConfig(stackFile)), stackName, registry);
  assert.deepEqual(issues, []);
  const root = new TestRoot("root", { transformations: [capture] });
  new PsfStack(
    "psf",
    { plan: plan!, registry, configSecrets: {}, servicesSecret: false, secureEnv: {} },
    { parent: root },
  );
  await declaredSoFar();
  return deps;
}

describe("start order of an app's containers", () => {
  it("an app behind the proxy without SSO starts beside the proxy, after its database", async () => {
    const deps = await startOrder("../../stacks/Pulumi.ci.yaml", "ci");
    const demo = deps.get("demo");
    assert.ok(demo, "the demo container was declared");
    assert.ok(demo.includes("postgres"), `demo waits for postgres: ${demo}`);
    assert.ok(
      demo.includes("postgres-reload"),
      `demo waits for its database's provisioning: ${demo}`,
    );
    assert.ok(!demo.includes("nginx"), `demo does not wait for nginx: ${demo}`);
    assert.ok(!demo.includes("nginx-reload"), `demo does not wait for nginx's reload: ${demo}`);
  });

  it("an app that signs people in through the SSO waits for the SSO and the proxy in front of it", async () => {
    const deps = await startOrder("../../stacks/Pulumi.dev.yaml", "dev");
    const miniflux = deps.get("miniflux");
    assert.ok(miniflux, "the miniflux container was declared");
    for (const server of ["postgres", "authelia", "nginx"])
      assert.ok(miniflux.includes(server), `miniflux waits for ${server}: ${miniflux}`);
  });
});
