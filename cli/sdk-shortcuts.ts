import * as lean from "./lean-output-functions";
import { LeanOutput } from "./lean-output";
import { leanRegisterResource } from "./lean-registration";
import { wireCopy } from "./wire-copy";

/**
 * SDK internals an offline plan replaces while it evaluates the program, each for a cheaper
 * equivalent (measured with --cpu-prof on 500 generated services). Nothing goes over a wire
 * in a plan and nobody reads a source position or a leaked-promise report, so:
 *
 * - `Resource.callsites`: a full stack trace per resource for source positions (a third of
 *   plan time before anything else was cut): none.
 * - `debuggablePromise`: a wrapper per promise that records it for leak reports: none.
 * - `Struct.fromJavaScript`: protobuf messages for every request and answer (a tenth of plan
 *   time): a Struct that keeps the JavaScript object and gives back what the protobuf round
 *   trip would (sorted keys, a fresh copy), building the real message only if asked for it.
 * - `registerResource`: the request an engine needs, prepared step by step, and Outputs for
 *   every property of every resource, for what the plan records and the program observes:
 *   the inputs serialized, the answer resolved into Outputs made when read
 *   (cli/lean-registration.ts).
 * - `Output` and the functions that make Outputs (`output`, `all`, `secret`, `interpolate`...):
 *   the same rules on one promise per Output instead of some twenty-five (cli/lean-output.ts).
 *
 * Each is looked up by module and name; if an SDK upgrade moves one, installing throws at once
 * (and test/cli/lean-plan.test.ts compares the lean plan with the stock SDK's), rather than a
 * plan quietly going wrong. Returns a function that puts the originals back.
 */
export function installSdkShortcuts(): () => void {
  const undo: Array<() => void> = [];
  const restore = () => undo.reverse().forEach((u) => u());
  const replace = (module: string, owner: Record<string, unknown>, key: string, by: unknown) => {
    const original = owner[key];
    if (typeof original !== "function")
      throw new Error(
        `psf plan: @pulumi/pulumi ${sdkVersion()} has no ${module} ${key}; cli/sdk-shortcuts.ts must follow the SDK's change`,
      );
    owner[key] = by;
    undo.push(() => (owner[key] = original));
  };
  try {
    replaceAll(replace);
  } catch (e) {
    restore();
    throw e;
  }
  return restore;
}

type Replace = (module: string, owner: Record<string, unknown>, key: string, by: unknown) => void;

function replaceAll(replace: Replace): void {
  const resource = require("@pulumi/pulumi/resource");
  replace("resource", resource.Resource, "callsites", () => []);
  const debuggable = require("@pulumi/pulumi/runtime/debuggable");
  replace("runtime/debuggable", debuggable, "debuggablePromise", (p: Promise<unknown>) => p);
  const { Struct } = require("google-protobuf/google/protobuf/struct_pb");
  const PlainStruct = plainStruct(Struct, Struct.fromJavaScript);
  replace("struct_pb", Struct, "fromJavaScript", (o: unknown) => new PlainStruct(o));
  const outputs = require("@pulumi/pulumi/output");
  // The SDK's modules call output.ts through its exports; programs through the package's.
  for (const [module, owner] of [
    ["output", outputs],
    ["index", require("@pulumi/pulumi")],
  ]) {
    replace(module, owner, "Output", LeanOutput);
    replace(module, owner, "output", lean.output);
    replace(module, owner, "all", lean.output);
    replace(module, owner, "secret", lean.secret);
    replace(module, owner, "unsecret", lean.unsecret);
    replace(module, owner, "interpolate", lean.interpolate);
    replace(module, owner, "concat", lean.concat);
    replace(module, owner, "jsonStringify", lean.jsonStringify);
    replace(module, owner, "jsonParse", lean.jsonParse);
  }
  const runtime = require("@pulumi/pulumi/runtime/resource");
  replace(
    "runtime/resource",
    runtime,
    "registerResource",
    leanRegisterResource(runtime.registerResource),
  );
}

function sdkVersion(): string {
  return require("@pulumi/pulumi/package.json").version;
}

type StructClass = new (plain?: unknown) => { toJavaScript(): unknown };
type Message = { getFieldsMap(): unknown; serializeBinary(): Uint8Array };

/** A protobuf Struct holding a plain object; anything beyond `toJavaScript` gets the real message. */
function plainStruct(Struct: StructClass, toMessage: (o: unknown) => Message): StructClass {
  return class PlainStruct extends Struct {
    constructor(private readonly plain?: unknown) {
      super();
    }
    toJavaScript() {
      return wireCopy(this.plain);
    }
    getFieldsMap() {
      return toMessage(this.plain).getFieldsMap();
    }
    serializeBinary() {
      return toMessage(this.plain).serializeBinary();
    }
  };
}
