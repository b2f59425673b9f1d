import { pbkdf2Sync } from "crypto";

/** Authelia's default PBKDF2 cost for SHA-512 (its `password.pbkdf2.iterations`). */
export const PBKDF2_ITERATIONS = 310000;

/** Passlib's "adapted base64": `+` becomes `.`, no padding. Authelia parses digests in this alphabet. */
export function ab64(bytes: Buffer): string {
  return bytes.toString("base64").replace(/\+/g, ".").replace(/=+$/, "");
}

/**
 * `$pbkdf2-sha512$<iterations>$<salt>$<hash>`: the digest Authelia stores for an OIDC client
 * secret or a file-backend password. Deterministic in (secret, salt), so a stable salt keeps
 * the rendered config (and the next preview) unchanged.
 */
export function pbkdf2Sha512Digest(
  secret: string,
  salt: Buffer,
  iterations = PBKDF2_ITERATIONS,
): string {
  if (salt.length < 8) throw new Error("pbkdf2: Authelia wants a salt of at least 8 bytes");
  const hash = pbkdf2Sync(Buffer.from(secret, "utf8"), salt, iterations, 64, "sha512");
  return `$pbkdf2-sha512$${iterations}$${ab64(salt)}$${ab64(hash)}`;
}
