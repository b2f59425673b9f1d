/**
 * A value as it comes out of a protobuf `Struct` round trip (what the engine's wire does to
 * resource properties): a fresh copy with every object's keys in sorted order. The offline
 * plan skips the wire but keeps its result, so plans list inputs exactly as before.
 */
export function wireCopy(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(wireCopy);
  if (v === null || typeof v !== "object") return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) out[k] = wireCopy((v as Record<string, unknown>)[k]);
  return out;
}
