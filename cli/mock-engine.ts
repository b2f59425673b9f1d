import * as pulumi from "@pulumi/pulumi";
import { RawConfig } from "../components/config";
import { Registry } from "../components/registry";
import { watchDeclarationOrder } from "./declaration-order";
import { MockMonitor, answerLean } from "./lean-monitor";
import { computedOutputs } from "./mock-outputs";
import { installSdkShortcuts } from "./sdk-shortcuts";
import { isSecretValue } from "./secret-value";

export { isSecretValue, mask } from "./secret-value";

/** A resource the program would declare, with secret inputs kept marked. */
export interface PlannedResource {
  type: string;
  name: string;
  parent?: string;
  /** Inputs as sent to the engine; secret values stay wrapped until `mask`/`reveal`. */
  inputs: Record<string, unknown>;
}

/** Computed outputs of a declared resource, in wire form (cli/secret-value.ts) or as Outputs. */
export type ComputedOutputs = (
  type: string,
  name: string,
  inputs: Record<string, unknown>,
) => Record<string, unknown>;

/**
 * How the program is evaluated: `lean` (cli/lean-monitor.ts, cli/sdk-shortcuts.ts) for plans,
 * or `stock`, the SDK's own MockMonitor and code paths, which the lean one must match
 * (test/cli/lean-plan.test.ts).
 */
export type MockEngine = "lean" | "stock";

/**
 * Evaluates the program offline with Pulumi mocks and returns what it would declare, in the
 * order it declares them. Nothing reaches an engine, a cloud or the network.
 */
export async function evaluate(
  registry: Registry,
  raw: RawConfig,
  stackName: string,
  run: (raw: RawConfig, stackName: string) => unknown,
  /** Default: placeholders (cli/mock-outputs.ts). */
  computed: ComputedOutputs = computedOutputs,
  engine: MockEngine = "lean",
): Promise<PlannedResource[]> {
  const resources: PlannedResource[] = [];
  const declare = (r: PlannedResource) => resources.push(r);
  let currentParent: string | undefined;
  pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        declare({ type: args.type, name: args.name, parent: currentParent, inputs: args.inputs });
        const secretOut = Object.fromEntries(
          Object.entries(args.inputs).map(([k, v]) => [
            k,
            isSecretValue(v) ? pulumi.secret(v.value) : v,
          ]),
        );
        return {
          id: `${args.name}-id`,
          state: { name: args.name, ...secretOut, ...computed(args.type, args.name, args.inputs) },
        };
      },
      call: (args) => args.inputs,
    },
    "psf",
    stackName,
    true,
  );
  const monitor = mockMonitor();
  let restore = () => {};
  if (engine === "lean") {
    restore = installSdkShortcuts();
    answerLean(monitor, declare, computed);
  } else {
    // The mock monitor does not pass the parent to `newResource`; read it off the request.
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) => {
      currentParent = req.getParent() ? req.getParent().split("::").pop() : undefined;
      return original(req, cb);
    };
  }
  const declared = watchDeclarationOrder();
  // A value the program computes that fails (a throw inside an apply) surfaces as a rejection
  // nobody awaits: collected here and reported as the program's failure, not a crash.
  const failures: unknown[] = [];
  const onRejection = (e: unknown) => void failures.push(e);
  process.on("unhandledRejection", onRejection);
  try {
    run(raw, stackName);
    const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings");
    await waitForRPCs();
    // Rejections are reported once the microtask queue drains.
    await new Promise((resolve) => setTimeout(resolve, 0));
  } finally {
    process.off("unhandledRejection", onRejection);
    declared.stop();
    restore();
  }
  if (failures.length) throw new ProgramFailure(failures);
  void registry;
  return declared.sort(resources);
}

/** The program failed while computing its values; each message once, without the SDK's wrapping. */
export class ProgramFailure extends Error {
  constructor(readonly causes: unknown[]) {
    const messages = [
      ...new Set(
        causes.map((c) =>
          (c instanceof Error ? c.message : String(c)).replace(
            /^error serializing property "[^"]*": /,
            "",
          ),
        ),
      ),
    ];
    super(messages.join("; "));
  }
}

/** The SDK's MockMonitor `setMocks` installed. */
function mockMonitor(): MockMonitor {
  const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks");
  const monitor = pulumi.runtime.getMonitor();
  if (!(monitor instanceof MockMonitor))
    throw new Error(
      "psf plan: setMocks installed no MockMonitor; cli/mock-engine.ts must follow the SDK",
    );
  return monitor as unknown as MockMonitor;
}
