import type { PlannedResource } from "./mock-engine";

/**
 * Numbers resources in the order the program constructs them, so a plan lists them in that
 * order. The order the monitor hears of them is the order their inputs happen to resolve:
 * promise scheduling, which any change to the program or the SDK reshuffles.
 * Watches the SDK's `registerResource` (runtime/resource.ts), which every constructor calls;
 * throws if an SDK upgrade moved it.
 */
export function watchDeclarationOrder(): {
  sort(resources: PlannedResource[]): PlannedResource[];
  stop(): void;
} {
  const runtime = require("@pulumi/pulumi/runtime/resource");
  const original = runtime.registerResource;
  if (typeof original !== "function")
    throw new Error(
      "psf plan: @pulumi/pulumi has no runtime/resource registerResource; cli/declaration-order.ts must follow the SDK's change",
    );
  const order = new Map<string, number>();
  const key = (type: string, name: string) => `${type}::${name}`;
  runtime.registerResource = function (this: unknown, ...args: unknown[]) {
    // (resource, parent, type, name, ...)
    const k = key(args[2] as string, args[3] as string);
    if (!order.has(k)) order.set(k, order.size);
    return original.apply(this, args);
  };
  return {
    sort: (resources) => {
      // Each position looked up once: a key per comparison was some 80,000 strings (500 services).
      const at = resources.map((r) => order.get(key(r.type, r.name)) ?? order.size);
      return resources
        .map((_, i) => i)
        .sort((a, b) => at[a] - at[b])
        .map((i) => resources[i]);
    },
    stop: () => {
      runtime.registerResource = original;
    },
  };
}
