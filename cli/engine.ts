import * as automation from "@pulumi/pulumi/automation";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { validateConfig } from "../components/program";
import { registry } from "../providers";
import { ensureLocalImages } from "./local-images";
import { EXIT_INVALID, reportIssues } from "./output";
import { PROJECT_ROOT, loadSource } from "./source";

export type EngineVerb = "up" | "preview" | "refresh" | "destroy";

export interface EngineOptions {
  stack: string;
  diff?: boolean;
  showSecrets?: boolean;
  /** For `refresh`: fail (exit 1) when drift is found instead of accepting it. */
  expectNoChanges?: boolean;
}

/**
 * The air-gapped toolchain (scripts/toolchain.sh), when built, comes first on PATH, and its
 * plugin cache (home/plugins) is the engine's unless PULUMI_HOME is set.
 */
export function toolchainEnv(): Record<string, string> {
  const dir =
    process.env.PSF_TOOLCHAIN_DIR ?? path.join(os.homedir(), ".cache", "psf", "toolchain");
  const bin = path.join(dir, "bin");
  if (!fs.existsSync(path.join(bin, "pulumi"))) return {};
  const home = path.join(dir, "home");
  const useHome = !process.env.PULUMI_HOME && fs.existsSync(path.join(home, "plugins"));
  return { PATH: `${bin}:${process.env.PATH ?? ""}`, ...(useHome ? { PULUMI_HOME: home } : {}) };
}

/** A local `file://` backend in the project unless PULUMI_BACKEND_URL says otherwise. */
export function backendUrl(): string {
  return process.env.PULUMI_BACKEND_URL ?? `file://${path.join(PROJECT_ROOT, ".pulumi-state")}`;
}

/**
 * The passphrase that encrypts the stack's secrets: from the environment, else a random
 * one created on first use in ~/.config/psf (mode 0600) and reused after.
 */
export function passphraseEnv(stack: string): Record<string, string> {
  if (
    process.env.PULUMI_CONFIG_PASSPHRASE !== undefined ||
    process.env.PULUMI_CONFIG_PASSPHRASE_FILE
  )
    return {};
  const dir = path.join(
    process.env.XDG_CONFIG_HOME ?? path.join(os.homedir(), ".config"),
    "psf",
    "passphrases",
  );
  const file = path.join(dir, `psf-${stack}`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, crypto.randomBytes(24).toString("base64url"), { mode: 0o600 });
    process.stderr.write(
      `psf: created a passphrase for stack ${stack} in ${file} (keep it: it decrypts the stack's secrets)\n`,
    );
  }
  return { PULUMI_CONFIG_PASSPHRASE_FILE: file };
}

/** Runs the real Pulumi engine through the Automation API. Returns the exit code. */
export async function engineCommand(verb: EngineVerb, opts: EngineOptions): Promise<number> {
  const src = loadSource({ stack: opts.stack });
  const issues = src.issues.length
    ? src.issues
    : validateConfig(src.raw, src.stackName, registry).issues;
  if (issues.length && verb !== "destroy") {
    reportIssues(issues, false);
    return EXIT_INVALID;
  }
  const onDocker =
    ((src.raw.target as { kind?: string } | undefined)?.kind ?? "docker") === "docker";
  if ((verb === "up" || verb === "preview") && onDocker)
    await ensureLocalImages(src.raw, src.stackName);
  const envVars = {
    PULUMI_BACKEND_URL: backendUrl(),
    ...passphraseEnv(opts.stack),
    ...toolchainEnv(),
    PULUMI_SKIP_UPDATE_CHECK: "true",
  };
  if (envVars.PULUMI_BACKEND_URL.startsWith("file://"))
    fs.mkdirSync(envVars.PULUMI_BACKEND_URL.slice(7), { recursive: true });
  Object.assign(process.env, envVars);
  const stack = await automation.LocalWorkspace.createOrSelectStack(
    { stackName: opts.stack, workDir: PROJECT_ROOT },
    { envVars },
  );
  const onOutput = (out: string) => process.stdout.write(out);
  try {
    if (verb === "up") {
      const res = await stack.up({ onOutput, diff: opts.diff, color: "never" });
      printServices(res.outputs);
    } else if (verb === "preview") {
      const res = await stack.preview({ onOutput, diff: opts.diff, color: "never" });
      const changes = Object.entries(res.changeSummary).filter(
        ([k, n]) => k !== "same" && (n ?? 0) > 0,
      );
      process.stdout.write(
        `psf: preview: ${changes.length ? changes.map(([k, n]) => `${n} to ${k}`).join(", ") : "no changes"}\n`,
      );
    } else if (verb === "refresh") {
      await stack.refresh({ onOutput, color: "never", expectNoChanges: opts.expectNoChanges });
    } else {
      await stack.destroy({ onOutput, color: "never" });
    }
    return 0;
  } catch (e) {
    const err = e as { commandResult?: { code?: number; stderr?: string }; message?: string };
    if (err.commandResult) {
      process.stderr.write(err.commandResult.stderr ?? "");
      return err.commandResult.code || 1;
    }
    process.stderr.write(`psf: ${err.message ?? String(e)}\n`);
    return 1;
  }
}

function printServices(outputs: automation.OutputMap): void {
  const services = (outputs.services?.value ?? {}) as Record<string, { url?: string }>;
  const lines = Object.entries(services)
    .filter(([, s]) => s?.url)
    .map(([name, s]) => `  ${name.padEnd(16)} ${s.url}`);
  if (lines.length) process.stdout.write(`\nServices:\n${lines.join("\n")}\n`);
}
