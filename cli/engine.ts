import * as automation from "@pulumi/pulumi/automation";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { OPERATION_ENV } from "../components/pre-change-snapshot";
import { validateConfig } from "../components/validate-config";
import { registry } from "../providers";
import { ensureLocalImages } from "./local-images";
import { explainUnhealthy } from "./health-report";
import { EXIT_PREREQUISITE, PrerequisiteError } from "./prerequisite-error";
import { ensureDocker, ensurePulumi, progress } from "./prerequisites";
import { ensureProbe } from "./probe";
import { EXIT_INVALID, reportIssues } from "./output";
import { PROJECT_ROOT, loadSource } from "./source";
import { toolchainEnv } from "./toolchain";
import { openStack, upWithOutputs } from "./engine-stack";
import { EXIT_LOCKED, lockedMessage, refuseWhenLocked } from "./stack-lock";
import { EXIT_INTERRUPTED, interruptible, interrupted } from "./interrupt";
import { retryEngine } from "./engine-retry";
import { destroyNeedsProgram } from "./destroy-hooks";
import type { Issue } from "../components/errors";

export type EngineVerb = "up" | "preview" | "refresh" | "destroy";

export interface EngineOptions {
  stack: string;
  diff?: boolean;
  showSecrets?: boolean;
  /** For `refresh`: fail (exit 1) when drift is found instead of accepting it. */
  expectNoChanges?: boolean;
  /** Where the engine's progress and the summary go; default stdout (`--json` callers: stderr). */
  out?: (text: string) => void;
  /** For `up`: the stack's outputs (secrets masked) once the update is done. */
  onOutputs?: (outputs: automation.OutputMap) => void;
}

export { toolchainEnv } from "./toolchain";

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
  const file = passphraseFile(stack);
  const dir = path.dirname(file);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, crypto.randomBytes(24).toString("base64url"), { mode: 0o600 });
    process.stderr.write(
      `psf: created a passphrase for stack ${stack} in ${file} (keep it: it decrypts the stack's secrets)\n`,
    );
  }
  return { PULUMI_CONFIG_PASSPHRASE_FILE: file };
}

/** Where the stack's own passphrase is kept when the environment gives none. */
export function passphraseFile(stack: string): string {
  const config = process.env.XDG_CONFIG_HOME ?? path.join(os.homedir(), ".config");
  return path.join(config, "psf", "passphrases", `psf-${stack}`);
}

/** A stack ready for the engine, or the exit code of why not (invalid config, a missing prerequisite). */
export type PreparedStack =
  | {
      stack: automation.Stack;
      issues: Issue[];
      target: { kind?: string; host?: string };
      onDocker: boolean;
    }
  | { code: number };

/**
 * What every engine operation needs first: the config validated (exit 2), prerequisites
 * checked and set up (exit 3: Docker engine, Pulumi CLI, for up/preview the probe and local
 * images) and the stack opened on psf's backend with psf's environment.
 */
export async function prepareStack(
  verb: EngineVerb,
  stackName: string,
  o: { quiet?: boolean } = {},
): Promise<PreparedStack> {
  const src = loadSource({ stack: stackName });
  const checked = src.issues.length
    ? { plan: undefined, issues: src.issues }
    : validateConfig(src.raw, src.stackName, registry);
  const issues = checked.issues;
  if (issues.length && verb !== "destroy") {
    reportIssues(issues, false);
    return { code: EXIT_INVALID };
  }
  const target = (src.raw.target ?? {}) as { kind?: string; host?: string };
  const onDocker = (target.kind ?? "docker") === "docker";
  let probe: string | undefined;
  let imageIds: Record<string, string> = {};
  let version: string | undefined;
  try {
    if (onDocker) ensureDocker(target.host);
    version = await ensurePulumi();
    if ((verb === "up" || verb === "preview") && onDocker && checked.plan) {
      probe = probeStep();
      const images = await ensureLocalImages(checked.plan);
      imageIds = Object.fromEntries(images.flatMap((i) => (i.id ? [[i.ref, i.id]] : [])));
    }
  } catch (e) {
    if (!(e instanceof PrerequisiteError)) throw e;
    process.stderr.write(`error: ${e.message}\n  hint: ${e.hint}\n`);
    return { code: EXIT_PREREQUISITE };
  }
  const envVars = {
    PULUMI_BACKEND_URL: backendUrl(),
    ...passphraseEnv(stackName),
    ...toolchainEnv(),
    PULUMI_SKIP_UPDATE_CHECK: "true",
    // Plugins come from the toolchain (checked above); without this the engine spends ~2.5 s
    // of every run retrying downloads of SDK packages' plugins the stack never uses.
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    // Most of an up is waiting: for health checks, image layers, rollouts. The engine's
    // default (4 per core: 8 on 2 cores) queued a 50-service stack behind its first 8 health
    // checks; the user's PULUMI_PARALLEL still wins.
    PULUMI_PARALLEL: process.env.PULUMI_PARALLEL || "32",
    // Defers SDK modules the program never uses and skips the runner's TypeScript setup.
    NODE_OPTIONS: [
      process.env.NODE_OPTIONS,
      `--require ${path.join(PROJECT_ROOT, "bin", "engine-preload.js")}`,
    ]
      .filter(Boolean)
      .join(" "),
    // The program copies the probe into containers with HTTP health checks (none: shell probe).
    PSF_PROBE: probe ?? "none",
    PSF_IMAGE_IDS: JSON.stringify(imageIds),
  };
  if (envVars.PULUMI_BACKEND_URL.startsWith("file://"))
    fs.mkdirSync(envVars.PULUMI_BACKEND_URL.slice(7), { recursive: true });
  Object.assign(process.env, envVars);
  const stack = await openStack(stackName, envVars, version);
  return { stack, issues, target, onDocker };
}

/** Runs the real Pulumi engine through the Automation API. Returns the exit code. */
export async function engineCommand(verb: EngineVerb, opts: EngineOptions): Promise<number> {
  if (verb !== "preview") {
    const held = refuseWhenLocked(opts.stack);
    if (held !== undefined) return held;
  }
  const prepared = await prepareStack(verb, opts.stack);
  if ("code" in prepared) return prepared.code;
  const { stack, issues, target, onDocker } = prepared;
  const onOutput = opts.out ?? ((out: string) => void process.stdout.write(out));
  const log = engineLog();
  try {
    await interruptible(async (signal, onEvent) => {
      const common = { onOutput, onEvent, signal, color: "never" as const };
      if (verb === "up") {
        const res = await retryEngine(`up ${opts.stack}`, () =>
          upWithOutputs(stack, { ...common, diff: opts.diff, ...log }),
        );
        printSummary(res.outputs, opts.stack, onOutput);
        opts.onOutputs?.(res.outputs);
      } else if (verb === "preview") {
        const res = await stack.preview({ ...common, diff: opts.diff, ...log });
        const changes = Object.entries(res.changeSummary).filter(
          ([k, n]) => k !== "same" && (n ?? 0) > 0,
        );
        process.stdout.write(
          `psf: preview: ${changes.length ? changes.map(([k, n]) => `${n} to ${k}`).join(", ") : "no changes"}\n`,
        );
      } else if (verb === "refresh") {
        await stack.refresh({ ...common, expectNoChanges: opts.expectNoChanges });
      } else {
        // Stateful containers carry delete hooks (components/pre-change-snapshot.ts), which the
        // engine runs only with the program; being destroyed, the stack takes no snapshots.
        // A config that no longer validates cannot run the program: then the engine destroys from
        // the state alone, as it does when no resource in the state has hooks.
        process.env[OPERATION_ENV] = "destroy";
        const runProgram = issues.length === 0 && (await destroyNeedsProgram(stack));
        await stack.destroy({ ...common, runProgram });
      }
    });
    return 0;
  } catch (e) {
    const err = e as { commandResult?: { code?: number; stderr?: string }; message?: string };
    if (err.commandResult) {
      const locked = lockedMessage(opts.stack, err.commandResult.stderr ?? "");
      if (locked !== undefined) {
        process.stderr.write(locked);
        return EXIT_LOCKED;
      }
      process.stderr.write(err.commandResult.stderr ?? "");
      if (interrupted.signal) {
        process.stderr.write(
          `psf: ${verb} stopped by ${interrupted.signal}; the state is saved: run psf ${verb} --stack ${opts.stack} again to finish\n`,
        );
        return EXIT_INTERRUPTED;
      }
      if (onDocker && verb === "up") explainUnhealthy(opts.stack, target.host);
      return err.commandResult.code || 1;
    }
    process.stderr.write(`psf: ${err.message ?? String(e)}\n`);
    return 1;
  }
}

/**
 * PSF_ENGINE_LOG=<file>: the engine's verbose log (timestamped, -v=7; mode 0600) appended to the file, for
 * seeing where a run spends its time (bench/preview-profile.js reads it).
 */
function engineLog(): {
  logVerbosity?: number;
  logToStdErr?: boolean;
  onError?: (s: string) => void;
} {
  const file = process.env.PSF_ENGINE_LOG;
  if (!file) return {};
  return {
    logVerbosity: 7,
    logToStdErr: true,
    onError: (s) => fs.appendFileSync(file, s, { mode: 0o600 }),
  };
}

/** The health probe for containers: built (seconds) unless it is already. */
function probeStep(): string | undefined {
  const r = ensureProbe();
  if (r.path) progress(`health probe: ${r.built ? "built" : "ready"} (${r.path})`);
  else
    progress(
      `health probe: not built (${r.reason}); HTTP health checks need curl, wget or bash in the image`,
    );
  return r.path;
}

/** After `up`: where each service is, and how to sign in. */
function printSummary(
  outputs: automation.OutputMap,
  stack: string,
  write: (text: string) => void,
): void {
  const services = (outputs.services?.value ?? {}) as Record<string, { url?: string }>;
  const lines = Object.entries(services)
    .filter(([, s]) => s?.url)
    .map(([name, s]) => `  ${name.padEnd(16)} ${s.url}`);
  if (lines.length) write(`\nServices:\n${lines.join("\n")}\n`);
  // `signIn` holds names and the portal only; passwords stay in the secret `accounts`.
  const signIn = outputs.signIn?.value as { portal?: string; people?: string[] } | undefined;
  const people = signIn?.people ?? [];
  if (people.length)
    write(
      `\nSign in${signIn?.portal ? ` at ${signIn.portal}` : ""} as ${people.join(", ")}; their initial passwords:\n` +
        `  npx psf output accounts --stack ${stack} --show-secrets\n`,
    );
  if (outputs.caPem?.value)
    write(
      `Certificates come from the stack's own CA; to trust it: npx psf output caPem --stack ${stack} > psf-ca.pem\n`,
    );
}
