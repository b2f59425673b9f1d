import * as pulumi from "@pulumi/pulumi";
import { RawConfig } from "../components/config";
import { Registry } from "../components/resolver";
import { computedOutputs } from "./mock-outputs";

/** A resource the program would declare, with secret inputs kept marked. */
export interface PlannedResource {
  type: string;
  name: string;
  parent?: string;
  /** Inputs as sent to the engine; secret values stay wrapped until `mask`/`reveal`. */
  inputs: Record<string, unknown>;
}

const SIG = "4dabf18193072939515e22adb298388d";
const SECRET = "1b47061264138c4ac30d75fd1eb44270";

/** Whether a value is a serialized Pulumi secret. */
export function isSecretValue(v: unknown): v is { value: unknown } {
  return !!v && typeof v === "object" && (v as Record<string, unknown>)[SIG] === SECRET;
}

/** Replaces every secret with "[secret]" (or its value, when revealing). */
export function mask(v: unknown, reveal = false): unknown {
  if (isSecretValue(v)) return reveal ? mask(v.value, true) : "[secret]";
  if (Array.isArray(v)) return v.map((x) => mask(x, reveal));
  if (v && typeof v === "object")
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mask(x, reveal)]));
  return v;
}

/**
 * Evaluates the program offline with Pulumi mocks and returns what it would declare.
 * Nothing reaches an engine, a cloud or the network.
 */
export async function evaluate(
  registry: Registry,
  raw: RawConfig,
  stackName: string,
  run: (raw: RawConfig, stackName: string) => unknown,
  /** Computed outputs of a declared resource; default: placeholders (cli/mock-outputs.ts). */
  computed: (
    type: string,
    name: string,
    inputs: Record<string, unknown>,
  ) => Record<string, unknown> = computedOutputs,
): Promise<PlannedResource[]> {
  const resources: PlannedResource[] = [];
  let currentParent: string | undefined;
  pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        resources.push({
          type: args.type,
          name: args.name,
          parent: currentParent,
          inputs: args.inputs,
        });
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
  // The mock monitor does not pass the parent to `newResource`; read it off the request.
  const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks");
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource: (req: any, cb: any) => unknown;
  };
  if (monitor instanceof MockMonitor) {
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: { getParent(): string }, cb: unknown) => {
      currentParent = req.getParent() ? req.getParent().split("::").pop() : undefined;
      return original(req, cb);
    };
  }
  // Two SDK diagnostics an offline plan does without (measured with --cpu-prof on 500 services,
  // bench/): a full stack trace per resource for source positions (a third of plan time), and a
  // wrapper per promise that records it for leak reports (a quarter of what remained, mostly GC).
  const { Resource } = require("@pulumi/pulumi/resource") as {
    Resource: { callsites(): unknown[] };
  };
  Resource.callsites = () => [];
  const debuggable = require("@pulumi/pulumi/runtime/debuggable") as {
    debuggablePromise: <T>(p: Promise<T>) => Promise<T>;
  };
  debuggable.debuggablePromise = (p) => p;
  run(raw, stackName);
  const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings");
  await waitForRPCs();
  void registry;
  return resources;
}
