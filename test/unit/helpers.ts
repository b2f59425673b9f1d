import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import * as fs from "fs";
import { ContractName } from "../../components/contract";
import { RawConfig } from "../../components/config";
import { rawFromConfigMap } from "../../components/stack-file";
import { ProviderDefinition } from "../../components/provider";
import { Registry } from "../../components/registry";
import { contracts, providers } from "../../providers";
import { isSecretValue, mask } from "../../cli/mock-engine";

/**
 * A provider that exists only for validation: no settings, no needs, and a `create`
 * that refuses to run. It lets contract validation be tested without any real provider.
 */
export function stubProvider(
  contract: ContractName,
  extra: Partial<ProviderDefinition> = {},
): ProviderDefinition {
  return {
    contract,
    name: "stub",
    description: `validation-only stand-in for a ${contract} provider`,
    settings: { type: "object", fields: {} },
    create: () => {
      throw new Error("stub providers are for validation only");
    },
    ...extra,
  };
}

/**
 * The real contracts, the real ssl and secrets providers, and stubs for the contracts
 * whose providers are tested elsewhere: what the framework validates, and nothing else.
 */
export function testRegistry(extra: ProviderDefinition[] = []): Registry {
  const real = providers.filter((p) => p.contract === "ssl" || p.contract === "secrets");
  const stubs = (["database", "sso", "proxy", "backup", "ldap"] as const).map((c) =>
    stubProvider(c),
  );
  return { contracts, providers: [...real, ...stubs, ...extra] };
}

export const FIXTURES = path.join(__dirname, "..", "fixtures");

/** The `config:` map of a fixture stack file, as written. */
export function fixtureConfig(file: string): Record<string, unknown> {
  return YAML.parse(fs.readFileSync(path.join(FIXTURES, file), "utf8")).config;
}

/**
 * Deep-merges `overlay` into `base` the way a user edits a stack file: maps merge key by
 * key, anything else replaces, and `null` removes the key (a `null` for a key the base does
 * not have stays, as the user wrote it).
 */
export function overlay(base: unknown, over: unknown): unknown {
  if (!isMap(base) || !isMap(over)) return structuredClone(over);
  const out: Record<string, unknown> = structuredClone(base);
  for (const [k, v] of Object.entries(over)) {
    if (v === null && k in out) delete out[k];
    else out[k] = k in out ? overlay(out[k], v) : structuredClone(v);
  }
  return out;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === "object" && !Array.isArray(v) && !("secure" in (v as object));
}

/** `psf:` keys → raw config, with `secure:` leaves opaque (as `psf validate --config` reads them). */
export function rawOf(config: Record<string, unknown>): RawConfig {
  return rawFromConfigMap(config);
}

/** A parent for resources built outside a stack; `transformations` let tests see options. */
export class TestRoot extends pulumi.ComponentResource {
  constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
    super("psf:test:Root", name, {}, opts);
  }
}

/** Waits until the mocked engine has received every resource declared so far. */
export async function declaredSoFar(): Promise<void> {
  const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as {
    waitForRPCs: () => Promise<void>;
  };
  await waitForRPCs();
}

/** An input as the engine received it, with secret markers removed. */
export function plain(v: unknown): any {
  return mask(v, true);
}

/** Whether an input as the engine received it is (or contains) a Pulumi secret. */
export function containsSecret(v: unknown): boolean {
  if (isSecretValue(v)) return true;
  if (Array.isArray(v)) return v.some(containsSecret);
  if (v && typeof v === "object") return Object.values(v).some(containsSecret);
  return false;
}
