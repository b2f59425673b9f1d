const rpc = require("@pulumi/pulumi/runtime/rpc");

/**
 * The SDK's deserializeProperties (runtime/rpc.ts) of a registration's inputs, for the plan's
 * record. The SDK copies every value while it looks for signatures (secrets, assets, resources)
 * and unknowns; most inputs hold none and are taken as they are (nothing changes them later),
 * the rest go through the SDK.
 */
export function deserializeInputs(wire: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(wire)) {
    const v = wire[k];
    if (v === undefined) continue;
    out[k] = isPlainData(v) ? v : rpc.deserializeProperty(v, false);
  }
  return out;
}

/** JSON data without a signature key or the unknown marker anywhere. */
function isPlainData(v: unknown): boolean {
  if (v === rpc.unknownValue) return false;
  if (v === null || typeof v !== "object") return true;
  if (Array.isArray(v)) return v.every(isPlainData);
  if (rpc.specialSigKey in v) return false;
  for (const k of Object.keys(v)) if (!isPlainData((v as Record<string, unknown>)[k])) return false;
  return true;
}
