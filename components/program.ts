import * as pulumi from "@pulumi/pulumi";
import { RawConfig } from "./config";
import { ConfigError } from "./errors";
import { Plan } from "./plan";
import { Registry } from "./registry";
import { PsfStack } from "./stack";
import { SecureValue } from "./validate/schema";
import { validateConfig } from "./validate-config";

// Callers that run the program validate through it too (cli/engine.ts, the provider tests).
export { validateConfig };

/** Reads the `psf:` config the engine passes to the program. */
export function rawFromRuntime(): { raw: RawConfig; secretKeys: Set<string> } {
  const all = pulumi.runtime.allConfig();
  const raw: RawConfig = {};
  const secretKeys = new Set<string>();
  for (const [key, value] of Object.entries(all)) {
    if (!key.startsWith("psf:")) continue;
    const short = key.slice(4);
    raw[short] = parseConfigValue(value);
    if (isConfigSecret(key)) secretKeys.add(short);
  }
  // The engine passes `psf:agent` decrypted, marked secret as a whole: its webhook secret was
  // encrypted (the stack file itself is checked for that before any engine run).
  const agent = raw.agent as Record<string, unknown> | undefined;
  if (secretKeys.has("agent") && typeof agent?.webhookSecret === "string")
    raw.agent = { ...agent, webhookSecret: new SecureValue(agent.webhookSecret) };
  return { raw, secretKeys };
}

/** `secure:` env values read from a stack file (offline plan): opaque, so a masked stand-in. */
function secureEnvFrom(raw: RawConfig): Record<string, Record<string, pulumi.Output<string>>> {
  const out: Record<string, Record<string, pulumi.Output<string>>> = {};
  for (const [name, svc] of Object.entries(
    (raw.services ?? {}) as Record<string, { env?: Record<string, unknown> }>,
  )) {
    for (const [key, value] of Object.entries(svc?.env ?? {})) {
      if (value instanceof SecureValue) (out[name] ??= {})[key] = pulumi.secret(value.ciphertext);
    }
  }
  return out;
}

/** Exported by the SDK's runtime but missing from its typings. */
function isConfigSecret(key: string): boolean {
  const runtime = pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean };
  return runtime.isConfigSecret?.(key) ?? false;
}

function parseConfigValue(value: string): unknown {
  const t = value.trim();
  if (t.startsWith("{") || t.startsWith("[")) {
    try {
      return JSON.parse(t);
    } catch {
      return value;
    }
  }
  if (/^-?\d+$/.test(t)) return Number(t);
  if (t === "true" || t === "false") return t === "true";
  return value;
}

/**
 * The program: config → validated plan → the stack's resources. Bad config stops here
 * with every problem listed and no stack trace.
 */
export function runProgram(
  registry: Registry,
  opts: {
    raw?: RawConfig;
    stackName?: string;
    secretKeys?: Set<string>;
    /** The plan of `raw`, when the caller validated it already (`psf plan`: ~0.1 s at 500 services). */
    plan?: Plan;
  } = {},
): PsfStack {
  const fromRuntime = opts.raw
    ? { raw: opts.raw, secretKeys: opts.secretKeys ?? new Set<string>() }
    : rawFromRuntime();
  const stackName = opts.stackName ?? pulumi.getStack();
  const { plan, issues } = opts.plan
    ? { plan: opts.plan, issues: [] }
    : validateConfig(fromRuntime.raw, stackName, registry, pulumi.getProject());
  if (!plan) throw new pulumi.RunError(new ConfigError(issues).message);
  const configSecrets: Record<string, pulumi.Output<string>> = {};
  const rawSecrets = (fromRuntime.raw.secrets ?? {}) as Record<string, unknown>;
  for (const [name, value] of Object.entries(rawSecrets))
    configSecrets[name] = pulumi.secret(
      value instanceof SecureValue ? value.ciphertext : String(value),
    );
  return new PsfStack("psf", {
    plan,
    registry,
    configSecrets,
    servicesSecret: fromRuntime.secretKeys.has("services"),
    secureEnv: secureEnvFrom(fromRuntime.raw),
  });
}
