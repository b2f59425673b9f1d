import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ProgramFailure, evaluate } from "../../cli/mock-engine";
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
});
