/**
 * Pulumi's wire form of a secret (`{<sig>: <secret sig>, value}`), as the mock engine sees
 * inputs and as mock state may carry computed outputs without creating an Output.
 */
const SIG = "4dabf18193072939515e22adb298388d";
const SECRET = "1b47061264138c4ac30d75fd1eb44270";

/** Whether a value is a serialized Pulumi secret. */
export function isSecretValue(v: unknown): v is { value: unknown } {
  return !!v && typeof v === "object" && (v as Record<string, unknown>)[SIG] === SECRET;
}

/** `value` as a serialized secret: resolved by the SDK into a secret Output property. */
export function secretValue<T>(value: T): { value: T } {
  return { [SIG]: SECRET, value } as { value: T };
}

/** Replaces every secret with "[secret]" (or its value, when revealing). */
export function mask(v: unknown, reveal = false): unknown {
  if (v === null || typeof v !== "object") return v;
  if (isSecretValue(v)) return reveal ? mask(v.value, true) : "[secret]";
  if (Array.isArray(v)) return v.map((x) => mask(x, reveal));
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    const x = mask((v as Record<string, unknown>)[k], reveal);
    // A key named __proto__ stays a key (assigning it would set the prototype).
    if (k === "__proto__")
      Object.defineProperty(out, k, {
        value: x,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    else out[k] = x;
  }
  return out;
}
