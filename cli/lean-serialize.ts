import { LeanOutput, OutputState, containsUnknowns, isLeanOutput } from "./lean-output";
import { secretValue } from "./secret-value";
import { wireCopy } from "./wire-copy";

const rpc = require("@pulumi/pulumi/runtime/rpc");
const { getStore } = require("@pulumi/pulumi/runtime/state");

/**
 * The SDK's serialization of a resource's inputs (runtime/rpc.ts serializeResourceProperties)
 * for an offline plan. The SDK awaits every value, down to each string of each label, as a
 * promise of its own; here plain data (strings, numbers, booleans, null, arrays, plain objects)
 * is copied as the SDK would copy it, at once, our Outputs are read from their state, and only
 * the rest (the SDK's Outputs, promises, resources, assets, unknowns, other objects) goes
 * through its serializeProperty. A resource whose inputs are all plain is serialized without a
 * promise. Objects come out with their keys sorted, as the protobuf round trip would leave them
 * (cli/wire-copy.ts).
 */
export function serializeInputs(
  label: string,
  props: Record<string, unknown>,
): Record<string, unknown> | Promise<Record<string, unknown>> {
  const keys = sortedKeys(props).filter((k) => k !== "id" && k !== "urn");
  // The label only names the resource in the SDK's debug log.
  const values = keys.map((k) => serializeValue(props[k], label));
  if (!values.some(isPending)) return objectOf(keys, values);
  return (async () => {
    // In key order, as the SDK: the first property that fails is the one reported.
    for (let i = 0; i < keys.length; i++) {
      if (!isPending(values[i])) continue;
      try {
        values[i] = await values[i];
      } catch (err) {
        // As the SDK: the property named, the same error thrown.
        if (err instanceof Error) {
          err.message = `error serializing property "${keys[i]}": ${err.message}`;
          throw err;
        }
        throw new Error(`error serializing property "${keys[i]}": ${String(err)}`);
      }
    }
    return objectOf(keys, values);
  })();
}

/** A value as the SDK serializes it: the value itself when plain, else a promise of it. */
function serializeValue(v: unknown, label: string): unknown {
  if (v === undefined || v === null) return v;
  const t = typeof v;
  if (t === "string" || t === "number" || t === "boolean") return v;
  if (t === "function") return undefined;
  if (Array.isArray(v)) {
    // Arrays: undefined becomes null.
    const items = v.map((x) => serializeValue(x, label));
    if (items.some(isPending)) return Promise.all(items).then(nullForUndefined);
    return nullForUndefined(items);
  }
  if (isLeanOutput(v)) return serializeOutput(v, label);
  if (t === "object" && isPlainObject(v)) {
    // Objects: keys with undefined values are left out.
    const keys = sortedKeys(v);
    const items = keys.map((k) => serializeValue(v[k], label));
    if (items.some(isPending)) return Promise.all(items).then((xs) => objectOf(keys, xs));
    return objectOf(keys, items);
  }
  return rpc.serializeProperty(label, v, new Set(), { keepOutputValues: false }).then(wireCopy);
}

function nullForUndefined(xs: unknown[]): unknown[] {
  for (let i = 0; i < xs.length; i++) if (xs[i] === undefined) xs[i] = null;
  return xs;
}

/** An object of the keys whose values are not undefined. */
function objectOf(keys: string[], values: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) if (values[i] !== undefined) out[keys[i]] = values[i];
  return out;
}

/** Keys in the order the wire delivers them; most objects have them so already. */
function sortedKeys(o: object): string[] {
  const keys = Object.keys(o);
  for (let i = 1; i < keys.length; i++) if (keys[i - 1] > keys[i]) return keys.sort();
  return keys;
}

/**
 * The SDK's rule for an Output: its value without unknowns, serialized; then the unknown
 * marker when the Output is not known, the secret wrapper when it is secret.
 */
function serializeOutput(o: LeanOutput, label: string): unknown {
  const serialize = (s: OutputState) => {
    const value = serializeValue(containsUnknowns(s.value) ? undefined : s.value, label);
    const finish = (v: unknown) => {
      if (!s.isKnown) return rpc.unknownValue;
      if (s.isSecret === true && getStore().supportsSecrets)
        return secretValue(v === undefined ? null : v);
      return v;
    };
    return isPending(value) ? value.then(finish) : finish(value);
  };
  // Settled already: serialized at once.
  const now = o.__now;
  return now ? serialize(now) : o.__state.then(serialize);
}

function isPending(v: unknown): v is Promise<unknown> {
  return v instanceof Promise;
}

/** Members by which the SDK recognizes its own objects, in any copy of it. */
const SDK_MARKS = [
  "__pulumiOutput",
  "__pulumiUnknown",
  "__pulumiAsset",
  "__pulumiArchive",
  "__pulumiResource",
  "__pulumiCustomResource",
  "__pulumiComponentResource",
];

function isPlainObject(v: object): v is Record<string, unknown> {
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  return !SDK_MARKS.some((m) => (v as Record<string, unknown>)[m] === true);
}
