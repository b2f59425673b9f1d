import { strict as assert } from "assert";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { MockEngine, PlannedResource, evaluate, mask } from "../../cli/mock-engine";
import { installSdkShortcuts } from "../../cli/sdk-shortcuts";
import { readStackFile } from "../../components/stack-file";
import { runProgram } from "../../components/program";
import { PsfStack } from "../../components/stack";
import { registry } from "../../providers";

const root = path.join(__dirname, "..", "..");

/** What the stack declares, and the outputs it exports, under one mock engine. */
async function planWith(stackName: string, engine: MockEngine) {
  const { raw } = readStackFile(path.join(root, "stacks", `Pulumi.${stackName}.yaml`));
  const stacks: PsfStack[] = [];
  const run = (r: typeof raw, s: string) =>
    stacks.push(runProgram(registry, { raw: r, stackName: s }));
  const resources = await evaluate(registry, raw, stackName, run, undefined, engine);
  const [stack] = stacks;
  const observed = async (o: pulumi.Input<unknown>) => {
    const out = pulumi.output(o) as pulumi.Output<unknown>;
    return {
      value: await new Promise((resolve) => out.apply(resolve)),
      secret: await pulumi.isSecret(out),
    };
  };
  // Every contract result as the apps read it: what the program computed through Outputs.
  const results: Record<string, unknown> = {};
  for (const [contract, provider] of Object.entries(stack!.providers))
    for (const [requester, result] of Object.entries(provider!.results))
      for (const [field, value] of Object.entries(result))
        results[`${contract}.${requester}.${field}`] = await observed(value);
  return {
    resources,
    results,
    services: await observed(stack!.services),
    accounts: await observed(stack!.outputs.accounts),
  };
}

const describeResource = (r: PlannedResource) => `${r.type} ${r.name} (parent ${r.parent})`;

/**
 * `psf plan` evaluates with a lean mock engine that replaces SDK internals (cli/sdk-shortcuts.ts).
 * It must declare exactly what the SDK's own MockMonitor and code paths declare: an SDK upgrade
 * that changes those internals fails here, not in a plan that quietly differs.
 */
describe("psf plan's lean mock engine", () => {
  for (const stackName of ["dev", "k8s"]) {
    it(`declares the ${stackName} stack as the SDK's stock mocks do: types, names, parents, inputs, secrets`, async () => {
      const stock = await planWith(stackName, "stock");
      const lean = await planWith(stackName, "lean");
      assert.ok(stock.resources.length > 20, `${stock.resources.length} resources`);
      assert.deepEqual(lean.resources.map(describeResource), stock.resources.map(describeResource));
      for (const [i, r] of lean.resources.entries()) {
        const s = stock.resources[i];
        // Masked as the plan prints it, revealed as --show-secrets does, in the same key order.
        assert.equal(
          JSON.stringify(mask(r.inputs)),
          JSON.stringify(mask(s.inputs)),
          describeResource(r),
        );
        assert.equal(
          JSON.stringify(mask(r.inputs, true)),
          JSON.stringify(mask(s.inputs, true)),
          describeResource(r),
        );
      }
      assert.ok(Object.keys(stock.results).length > 10, Object.keys(stock.results).join(", "));
      assert.deepEqual(lean.results, stock.results);
      assert.deepEqual(lean.services, stock.services);
      assert.deepEqual(lean.accounts, stock.accounts);
    });
  }

  it("keeps a secret input marked, so the plan prints [secret] and --show-secrets the value", async () => {
    const { resources } = await planWith("dev", "lean");
    const password = resources.find(
      (r) => r.type === "docker:index/container:Container" && r.name === "postgres",
    )!;
    const masked = JSON.stringify(mask(password.inputs));
    const revealed = JSON.stringify(mask(password.inputs, true));
    assert.match(masked, /\[secret\]/);
    assert.doesNotMatch(masked, /mock-password-/);
    assert.match(revealed, /mock-password-/);
  });

  it("puts every SDK internal back after a plan", async () => {
    const before = [pulumi.output, pulumi.all, pulumi.secret, pulumi.Output];
    await planWith("ci", "lean");
    assert.deepEqual([pulumi.output, pulumi.all, pulumi.secret, pulumi.Output], before);
  });

  it("refuses to run, naming what moved, when an SDK internal it replaces is gone", () => {
    const runtime = require("@pulumi/pulumi/runtime/resource");
    const register = runtime.registerResource;
    const output = pulumi.output;
    runtime.registerResource = undefined;
    try {
      assert.throws(() => installSdkShortcuts(), /has no runtime\/resource registerResource/);
    } finally {
      runtime.registerResource = register;
    }
    // What was replaced before the failure is put back.
    assert.equal(pulumi.output, output);
  });
});
