/**
 * What PSF reads at most. Above these, a stack config is refused with one clear error before
 * anything else is checked, so validation time is bounded by the file and grows linearly with it.
 * docs/validation.md explains each; README.md quotes them.
 */
export const LIMITS = {
  /** The largest stack file, in bytes (1 MiB: about 5,000 services). */
  fileBytes: 1024 * 1024,
  /** Maps and lists inside one another, the file's top level counting as one (real stacks use 7). */
  depth: 32,
  /** Keys, values, maps and lists in one stack config, after YAML aliases are expanded. */
  values: 200_000,
} as const;

/** `1048576` → `1 MiB`, for messages. */
export function bytesText(n: number): string {
  if (n >= 1024 * 1024) return `${+(n / (1024 * 1024)).toFixed(2)} MiB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(2)} KiB`;
  return `${n} bytes`;
}
