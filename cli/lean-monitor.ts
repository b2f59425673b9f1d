import type { ComputedOutputs, PlannedResource } from "./mock-engine";
import { deserializeInputs } from "./lean-deserialize";
import { wireCopy } from "./wire-copy";

/** The parts of a RegisterResourceRequest the plan reads. */
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getObject(): { toJavaScript(): unknown };
}

/** What the SDK reads of a RegisterResourceResponse (runtime/resource.ts). */
interface RegisterResponse {
  getUrn(): string;
  getId(): string;
  getObject(): { toJavaScript(): unknown };
  getPropertydependenciesMap(): undefined;
  getResult(): number;
}

/** The SDK's MockMonitor, whose URNs and resource table the lean answer keeps using. */
export interface MockMonitor {
  newUrn(parent: string, type: string, name: string): string;
  resources: Map<string, { urn: string; id: string | null; state: unknown }>;
  registerResource(req: RegisterRequest, cb: (err: unknown, res?: RegisterResponse) => void): void;
}

/**
 * Replaces the MockMonitor's `registerResource` with one that answers from the request's
 * properties as they are: the stock one deserializes the request, serializes the state it
 * returns, and builds protobuf messages both ways (Outputs and promises per property, for
 * nothing: no wire in a plan). The answer is the same: the inputs (secret ones still
 * secret) and the computed outputs, under the same URN and id.
 */
export function answerLean(
  monitor: MockMonitor,
  declare: (r: PlannedResource) => void,
  computed: ComputedOutputs,
): void {
  const rpc = require("@pulumi/pulumi/runtime/rpc");
  const { Result } = require("@pulumi/pulumi/proto/resource_pb");
  monitor.registerResource = (req, callback) => {
    const type = req.getType();
    const name = req.getName();
    const parent = req.getParent();
    // The request's properties in wire form, keys sorted as the protobuf round trip leaves them.
    const wire = req.getObject().toJavaScript() as Record<string, unknown>;
    const inputs = deserializeInputs(wire);
    declare({ type, name, parent: parent ? parent.split("::").pop() : undefined, inputs });
    const id = `${name}-id`;
    const urn = monitor.newUrn(parent, type, name);
    const answer = (outputs: Record<string, unknown>) => {
      const merged: Record<string, unknown> = { name, ...wire, ...outputs };
      const state: Record<string, unknown> = {};
      for (const k of Object.keys(merged).sort()) state[k] = merged[k];
      monitor.resources.set(urn, { urn, id, state });
      callback(null, {
        getUrn: () => urn,
        getId: () => id,
        getObject: () => plain(state),
        getPropertydependenciesMap: () => undefined,
        getResult: () => Result.SUCCESS,
      });
    };
    let outputs: Record<string, unknown>;
    try {
      outputs = computed(type, name, inputs);
    } catch (e) {
      return callback(e);
    }
    // Computed outputs in wire form are taken as they are; Outputs among them are serialized.
    if (isWireValue(outputs)) answer(wireCopy(outputs) as Record<string, unknown>);
    else
      rpc.serializeProperties("", outputs).then(
        (o: Record<string, unknown>) => answer(wireCopy(o) as Record<string, unknown>),
        (e: unknown) => callback(e),
      );
  };
}

/** Plain JSON data (what serialization would leave unchanged): no Output, promise or resource. */
function isWireValue(v: unknown): boolean {
  if (v === null || typeof v !== "object") return typeof v !== "function" && v !== undefined;
  if (Array.isArray(v)) return v.every(isWireValue);
  const proto = Object.getPrototypeOf(v);
  return (proto === Object.prototype || proto === null) && Object.values(v).every(isWireValue);
}

/** What the SDK reads of a protobuf Struct it deserializes. */
function plain(o: Record<string, unknown>): { toJavaScript(): unknown } {
  return { toJavaScript: () => o };
}
