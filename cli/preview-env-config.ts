import type { Plan } from "../components/plan";
import type { PreviewOrigin } from "../components/config";

/** A place in a stack file's `config:` map: `["psf:providers", "proxy", "httpsPort"]`. */
export type ConfigPath = Array<string | number>;

/** A host port the stack publishes, and the config key that chooses it. */
export interface PortClaim {
  path: ConfigPath;
  address: string;
  what: string;
  port: number;
}

/** Every host port of a validated stack: its providers' (proxy http/https...) and services' `publish`. */
export function portClaims(plan: Plan): PortClaim[] {
  const claims: PortClaim[] = [];
  for (const p of plan.providers)
    for (const hp of p.definition.hostPorts?.(p.settings) ?? [])
      claims.push({
        path: ["psf:providers", p.contract, hp.setting],
        address: hp.address,
        what: `${p.definition.name} ${hp.what}`,
        port: hp.port,
      });
  for (const [name, svc] of Object.entries(plan.stack.services))
    svc.publish.forEach((pub, i) =>
      claims.push({
        path: ["psf:services", name, "publish", i, "host"],
        address: pub.address,
        what: `service ${name}`,
        port: pub.host,
      }),
    );
  return claims;
}

/** Paths of the `secure:` values under `config` (encrypted for the template's passphrase only). */
export function securePaths(config: unknown, at: ConfigPath = []): ConfigPath[] {
  if (!config || typeof config !== "object") return [];
  if (isSecure(config)) return [at];
  return Object.entries(config).flatMap(([k, v]) =>
    securePaths(v, [...at, Array.isArray(config) ? Number(k) : k]),
  );
}

export interface DeriveOptions {
  origin: PreviewOrigin;
  /** The template's plan (for its port settings). */
  plan: Plan;
  /** The preview's own config from an earlier `up`: its ports and secrets are kept. */
  previous?: Record<string, unknown>;
  /** A host port for a claim the previous config does not settle. */
  choosePort(claim: PortClaim): number;
}

/**
 * The `config:` map of PR N's stack from its template's: the same services and providers,
 * with `psf:preview` (whence the `-pr-N` host suffix), the stack's own network (or namespace),
 * host ports of its own, its own backup repository, and none of the template's secrets: each
 * `secure:` value is left to `generate` (kept from `previous` when there), `hardcoded` secrets
 * become generated ones.
 */
export function derivePreviewConfig(
  template: Record<string, unknown>,
  o: DeriveOptions,
): { config: Record<string, unknown>; generate: ConfigPath[]; ports: PortClaim[] } {
  const config = structuredClone(template);
  const generate: ConfigPath[] = [];
  for (const path of securePaths(template)) {
    const kept = o.previous && getAt(o.previous, path);
    if (kept !== undefined && isSecure(kept)) setAt(config, path, kept);
    else {
      deleteAt(config, path);
      generate.push(path);
    }
  }
  config["psf:preview"] = { ...o.origin };
  const target = asMap(config["psf:target"]);
  if (target?.kind === "kubernetes")
    target.namespace = `${String(target.namespace ?? "psf")}-pr-${o.origin.pr}`;
  // Without a network name the Docker target names it after the stack: psf-pr-N.
  else if (target) delete target.network;
  const providers = asMap(config["psf:providers"]);
  const secrets = asMap(providers?.secrets);
  if (providers && secrets?.use === "hardcoded") providers.secrets = { use: "generated" };
  // A remote repository belongs to the template; the preview backs up into its own volume.
  const backup = asMap(providers?.backup);
  if (backup) for (const key of ["repository", "sshKey", "passphrase"]) delete backup[key];
  const ports: PortClaim[] = [];
  for (const claim of portClaims(o.plan)) {
    const kept = o.previous && getAt(o.previous, claim.path);
    const port = typeof kept === "number" ? kept : o.choosePort(claim);
    setAt(config, claim.path, port);
    ports.push({ ...claim, port });
  }
  return { config, generate, ports };
}

/** `psf:services.demo.env.KEY`, `...publish[0].host`: a path as `pulumi config set --path` reads it. */
export function configKey(path: ConfigPath): string {
  const [first, ...rest] = path;
  let key = String(first);
  for (const s of rest)
    key +=
      typeof s === "number"
        ? `[${s}]`
        : /^[A-Za-z_][A-Za-z0-9_-]*$/.test(s)
          ? `.${s}`
          : `[${JSON.stringify(s)}]`;
  return key;
}

function isSecure(v: unknown): boolean {
  return (
    !!v &&
    typeof v === "object" &&
    !Array.isArray(v) &&
    Object.keys(v).length === 1 &&
    typeof (v as { secure?: unknown }).secure === "string"
  );
}

function asMap(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === "object" && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

export function getAt(root: unknown, path: ConfigPath): unknown {
  let cur = root;
  for (const s of path) {
    if (!cur || typeof cur !== "object") return undefined;
    cur = (cur as Record<string | number, unknown>)[s];
  }
  return cur;
}

/** Sets a value, creating maps (or lists, before a numeric segment) on the way. */
function setAt(root: Record<string, unknown>, path: ConfigPath, value: unknown): void {
  let cur: Record<string | number, unknown> = root;
  path.forEach((s, i) => {
    if (i === path.length - 1) cur[s] = value;
    else {
      if (!cur[s] || typeof cur[s] !== "object") cur[s] = typeof path[i + 1] === "number" ? [] : {};
      cur = cur[s] as Record<string | number, unknown>;
    }
  });
}

function deleteAt(root: Record<string, unknown>, path: ConfigPath): void {
  const parent = getAt(root, path.slice(0, -1));
  if (parent && typeof parent === "object")
    delete (parent as Record<string | number, unknown>)[path[path.length - 1]];
}
