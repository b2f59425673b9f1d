import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as path from "path";
import { ProgramFailure, evaluate } from "../../cli/mock-engine";
import { planCommand } from "../../cli/plan";
import { planning } from "../../components/plan-placeholders";
import { registry } from "../../providers";

/** A program whose value fails inside an apply (as a refused OIDC discovery would). */
const failing = () => {
  const bad = pulumi.output("x").apply(async (): Promise<number> => {
    throw new Error("discovery of https://idp.example.org refused: 404");
  });
  new random.RandomString("r", { length: bad });
  new random.RandomString("s", { length: 8 });
};

describe("psf plan when the program fails while computing a value", () => {
  for (const engine of ["lean", "stock"] as const)
    it(`reports the failure once, without the SDK's wrapping, and does not crash (${engine} engine)`, async () => {
      const err = await evaluate(registry, {}, "test", failing, undefined, engine).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof ProgramFailure, String(err));
      assert.equal(err.message, "discovery of https://idp.example.org refused: 404");
    });

  it("returns what a sound program declares", async () => {
    const declared = await evaluate(registry, {}, "test", () => {
      new random.RandomString("s", { length: 8 });
    });
    assert.deepEqual(
      declared.map((r) => r.name),
      ["s"],
    );
  });

  it("puts placeholders in its own evaluation only: the process computes real values afterwards", async () => {
    const write = process.stdout.write;
    let printed = "";
    process.stdout.write = ((t: string | Uint8Array) => {
      printed += String(t);
      return true;
    }) as typeof process.stdout.write;
    try {
      const stacks = path.join(__dirname, "..", "..", "stacks");
      assert.equal(
        await planCommand({ config: path.join(stacks, "Pulumi.ci.yaml"), json: true }),
        0,
      );
    } finally {
      process.stdout.write = write;
    }
    assert.match(printed, /"resources"/);
    assert.equal(planning(), false);
  });
});
