import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { LeanOutput } from "../../cli/lean-output";
import * as lean from "../../cli/lean-output-functions";

/** Makes Outputs and combines them: the SDK's functions, or cli/lean-output.ts's. */
interface Impl {
  make(value: unknown, opts?: { known?: boolean; secret?: boolean; resources?: string[] }): any;
  output(v: unknown): any;
  all(v: unknown): any;
  secret(v: unknown): any;
  unsecret(v: unknown): any;
  interpolate(literals: TemplateStringsArray, ...args: unknown[]): any;
  concat(...args: unknown[]): any;
  jsonStringify(v: unknown, replacer?: (k: string, v: unknown) => unknown): any;
  jsonParse(v: unknown): any;
}

const fakeResources = new Map<string, object>();
const resource = (name: string) => {
  if (!fakeResources.has(name)) fakeResources.set(name, { __name: name });
  return fakeResources.get(name)!;
};
const nameOf = (r: unknown) => (r as { __name: string }).__name;

function implementation(
  OutputClass: new (...args: unknown[]) => unknown,
  fns: Omit<Impl, "make">,
): Impl {
  const p = (v: unknown) => Promise.resolve(v);
  return {
    ...fns,
    make: (value, { known = true, secret = false, resources = [] } = {}) => {
      const rs = new Set(resources.map(resource));
      return new OutputClass(rs, p(value), p(known), p(secret), p(rs));
    },
  };
}

const sdkOutputs = require("@pulumi/pulumi/output");
const stock = implementation(sdkOutputs.Output, {
  output: pulumi.output,
  all: pulumi.all as Impl["all"],
  secret: pulumi.secret,
  unsecret: pulumi.unsecret as Impl["unsecret"],
  interpolate: pulumi.interpolate,
  concat: pulumi.concat,
  jsonStringify: pulumi.jsonStringify,
  jsonParse: pulumi.jsonParse as Impl["jsonParse"],
});
const leanImpl = implementation(LeanOutput as never, {
  output: lean.output,
  all: lean.output,
  secret: lean.secret,
  unsecret: lean.unsecret as Impl["unsecret"],
  interpolate: lean.interpolate,
  concat: lean.concat,
  jsonStringify: lean.jsonStringify,
  jsonParse: lean.jsonParse,
});

/** Everything the SDK and a program can observe of an Output. */
async function observe(o: any) {
  try {
    return {
      isOutput: pulumi.Output.isInstance(o),
      value: await o.promise(true),
      valueWithoutUnknowns: await o.promise(),
      isKnown: await o.isKnown,
      isSecret: await o.isSecret,
      resources: [...o.resources()].map(nameOf).sort(),
      allResources: [...(await o.allResources())].map(nameOf).sort(),
    };
  } catch (e) {
    return { rejected: (e as Error).message };
  }
}

const unknown = sdkOutputs.unknown;

const scenarios: Record<string, (x: Impl) => any> = {
  "a plain value": (x) => x.output("v"),
  "an object holding Outputs, one secret": (x) =>
    x.output({
      a: x.make("A", { resources: ["r1"] }),
      b: { c: x.make("C", { secret: true }) },
      d: 1,
    }),
  "an array holding an unknown Output": (x) =>
    x.all([x.make("A"), x.make(undefined, { known: false, resources: ["r2"] }), "lit"]),
  "an unknown value inside a known Output": (x) => x.make(["a", unknown]),
  "apply on a known, secret Output": (x) =>
    x.make(2, { secret: true, resources: ["r1"] }).apply((v: number) => v * 21),
  "apply on an unknown Output (not run)": (x) =>
    x.make("A", { known: false }).apply(() => {
      throw new Error("must not run");
    }),
  "a lifted property of an unknown Output": (x) => x.make({ a: 1 }, { known: false }).a,
  "a lifted property of a known Output": (x) =>
    x.make({ a: { b: "deep" } }, { resources: ["r3"] }).a.b,
  "apply returning a secret Output": (x) =>
    x
      .make("A", { resources: ["r1"] })
      .apply((v: string) => x.make(`${v}!`, { secret: true, resources: ["r2"] })),
  "apply returning an unknown Output": (x) =>
    x.make("A").apply(() => x.make("B", { known: false })),
  "apply returning a promise": (x) => x.make("A").apply((v: string) => Promise.resolve(`${v}?`)),
  "apply returning a value holding an unknown": (x) => x.make("A").apply(() => ({ u: unknown })),
  "apply that throws": (x) =>
    x.make("A").apply(() => {
      throw new Error("boom");
    }),
  "a secret of an unknown": (x) => x.secret(x.make("A", { known: false, resources: ["r1"] })),
  "a secret of a plain value": (x) => x.secret("s"),
  unsecret: (x) => x.unsecret(x.make("S", { secret: true })),
  interpolate: (x) =>
    x.interpolate`a${x.make(1, { secret: true })}b${"c"}d${x.make("e", { resources: ["r4"] })}`,
  "interpolate with an unknown": (x) => x.interpolate`a${x.make(1, { known: false })}b`,
  concat: (x) => x.concat("a", x.make("b"), 3),
  jsonStringify: (x) => x.jsonStringify({ a: x.make([1, 2], { secret: true }), b: null }),
  jsonParse: (x) => x.jsonParse(x.make('{"a":1}')),
  "a promise of an Output": (x) =>
    x.output(Promise.resolve(x.make("P", { secret: true, resources: ["r5"] }))),
  "an Output of an Output": (x) =>
    x.make(x.make("inner", { secret: true, resources: ["r6"] }), { resources: ["r7"] }),
  "a chain of applies": (x) =>
    x
      .make(1, { resources: ["r1"] })
      .apply((v: number) => x.all([v, x.make(2, { resources: ["r2"] })]))
      .apply(([a, b]: number[]) => a + b),
  // The hole reads as undefined.
  "a sparse array": (x) => x.all([1, , x.make("b")]),
  "a resource inside a value": (x) =>
    x.output([{ __pulumiResource: true, id: "res" }, x.make("A")]),
  // Outputs of plain values: the lean ones are settled at once, and so is what combines them.
  "settled Outputs combined": (x) =>
    x.all([x.output("a"), x.secret("b"), { c: x.output(x.output(1)), d: [x.secret(null)] }]),
  "settled Outputs interpolated": (x) => x.interpolate`${x.secret("s")}-${x.output(2)}-${"t"}`,
  "a settled Output holding an unknown": (x) => x.all([x.output("a"), x.output(["b", unknown])]),
  "unsecret of a settled secret": (x) => x.unsecret(x.secret("s")),
  "applies on a settled Output": (x) =>
    x
      .output(2)
      .apply((v: number) => x.secret(v + 1))
      .apply((v: number) => x.all([v * 2, x.output("z")])),
  "jsonStringify of settled Outputs with a replacer": (x) =>
    x.jsonStringify({ a: x.output(1), b: x.secret("s") }, (_k: string, v: unknown) =>
      typeof v === "number" ? v + 1 : v,
    ),
  "jsonParse of a settled Output that is no JSON": (x) => x.jsonParse(x.output("{")),
  "a circular structure": (x) => {
    const o: Record<string, unknown> = { a: x.make("A") };
    o.self = o;
    try {
      return x.output(o);
    } catch (e) {
      return x.output(`threw: ${(e as Error).message}`);
    }
  },
};

/**
 * cli/lean-output.ts rebuilds the SDK's Output for `psf plan`: every way a program or the SDK
 * makes and reads Outputs must give what the SDK's own gives.
 */
describe("the lean Output (cli/lean-output.ts, cli/lean-output-functions.ts)", () => {
  for (const [name, scenario] of Object.entries(scenarios))
    it(`behaves as the SDK's for ${name}`, async () => {
      const expected = await observe(scenario(stock));
      const actual = await observe(scenario(leanImpl));
      assert.deepEqual(actual, expected);
    });

  it("mixes with the SDK's Outputs both ways", async () => {
    const mixed = (outer: Impl, inner: Impl) =>
      outer.all([inner.make("a", { secret: true, resources: ["r1"] }), outer.make("b")]);
    assert.deepEqual(await observe(mixed(leanImpl, stock)), await observe(mixed(stock, stock)));
    assert.deepEqual(await observe(mixed(stock, leanImpl)), await observe(mixed(stock, stock)));
  });

  it("runs the program's callbacks later, not at once, even on settled Outputs", async () => {
    for (const x of [stock, leanImpl]) {
      const ran: string[] = [];
      const settled = x.output({ a: 1 });
      settled.apply(() => ran.push("apply"));
      x.jsonStringify(settled, (_k: string, v: unknown) => (ran.push("replacer"), v));
      assert.deepEqual(ran, []);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(ran.sort(), ["apply", "replacer", "replacer"]);
    }
  });

  it("is recognized as an Output, and lifts no `then` or internal member", () => {
    const o: any = leanImpl.make("x");
    assert.equal(pulumi.Output.isInstance(o), true);
    assert.equal(o.then, undefined);
    assert.equal(o.__anything, undefined);
  });

  it("answers toString and toJSON as the SDK's does", () => {
    const said = (o: any) => {
      try {
        return [String(o), JSON.stringify({ o })];
      } catch (e) {
        return `threw ${(e as Error).message}`;
      }
    };
    assert.deepEqual(said(leanImpl.make("x")), said(stock.make("x")));
  });
});
