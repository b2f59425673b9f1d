/**
 * `psf plan` evaluates the program on mock generated values (passwords, keys: cli/mock-outputs.ts).
 * Secrets derived from those by deliberate key stretching (a SCRAM verifier, 4096 rounds; an
 * Authelia digest, 310,000) cost real CPU — 0.9 s at 500 databases — for a value that is both
 * meaningless (its password is a mock) and masked in the plan. `psf plan` turns this on and
 * providers then put a labelled placeholder in its place; unit tests and the engine leave it off,
 * so every real run and every test computes the real thing.
 */
let on = false;

export function usePlanPlaceholders(value: boolean): void {
  on = value;
}

export const planning = (): boolean => on;

/** What a provider puts in place of such a value in `psf plan`. */
export const placeholder = (what: string): string => `<${what}: computed by up>`;
