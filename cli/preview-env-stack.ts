import * as automation from "@pulumi/pulumi/automation";
import * as fs from "fs";
import * as path from "path";
import { backendUrl, passphraseEnv, passphraseFile } from "./engine";
import { openStack, stateExists } from "./engine-stack";
import { PROJECT_ROOT } from "./source";
import { toolchainEnv } from "./toolchain";

/** Where stack files live (Pulumi.yaml's stackConfigDir). */
export const STACKS_DIR = path.join(PROJECT_ROOT, "stacks");

export function stackFile(stack: string): string {
  return path.join(STACKS_DIR, `Pulumi.${stack}.yaml`);
}

/** The engine's environment for one stack: psf's backend, the stack's passphrase, the toolchain. */
export function stackEnv(stack: string): Record<string, string> {
  // The Automation API finds `pulumi` on this process's PATH: the toolchain's first.
  Object.assign(process.env, toolchainEnv());
  const env = {
    PULUMI_BACKEND_URL: backendUrl(),
    ...passphraseEnv(stack),
    ...toolchainEnv(),
    PULUMI_SKIP_UPDATE_CHECK: "true",
  };
  if (env.PULUMI_BACKEND_URL.startsWith("file://"))
    fs.mkdirSync(env.PULUMI_BACKEND_URL.slice(7), { recursive: true });
  return env;
}

/** Whether the backend holds the stack (a file:// backend is looked at; others are asked). */
export async function hasState(stack: string): Promise<boolean> {
  const backend = backendUrl();
  if (backend.startsWith("file://")) return stateExists(backend, stack);
  const ws = await automation.LocalWorkspace.create({
    workDir: PROJECT_ROOT,
    envVars: stackEnv(stack),
  });
  return (await ws.listStacks()).some((s) => s.name === stack);
}

/** The stack, created when new (the engine adds its encryption salt to the stack file). */
export function createOrSelect(stack: string, version?: string): Promise<automation.Stack> {
  return openStack(stack, stackEnv(stack), version);
}

/**
 * A stack file lost with a CI runner's checkout comes back from the backend's last deployment,
 * encryption salt included (`pulumi config refresh`).
 */
export async function restoreStackFile(stack: string): Promise<void> {
  const env = stackEnv(stack);
  const ws = await automation.LocalWorkspace.create({ workDir: PROJECT_ROOT, envVars: env });
  await ws.refreshConfig(stack);
}

/** How many resources the stack's state holds (0: created but never brought up). */
export async function resourceCount(stack: string): Promise<number> {
  const ws = await automation.LocalWorkspace.create({
    workDir: PROJECT_ROOT,
    envVars: stackEnv(stack),
  });
  const state = await ws.exportStack(stack);
  return (state.deployment?.resources ?? []).length;
}

/** Names of the stacks the backend holds. */
export async function backendStacks(): Promise<string[]> {
  const backend = backendUrl();
  if (backend.startsWith("file://")) {
    const dir = path.join(backend.slice(7), ".pulumi", "stacks");
    const names = new Set<string>();
    for (const d of [dir, path.join(dir, projectName())])
      for (const f of fs.existsSync(d) ? fs.readdirSync(d) : [])
        if (f.endsWith(".json")) names.add(f.slice(0, -5));
    return [...names];
  }
  const ws = await automation.LocalWorkspace.create({
    workDir: PROJECT_ROOT,
    envVars: { PULUMI_BACKEND_URL: backend, ...toolchainEnv() },
  });
  return (await ws.listStacks()).map((s) => s.name);
}

/**
 * `pulumi stack rm`, then what it leaves of the stack: in a file:// backend the `.bak` copy of
 * its state, its history, checkpoint backups and locks; the stack file; its passphrase file.
 * Returns what was removed.
 */
export async function removeStackEntirely(stack: string, withState: boolean): Promise<string[]> {
  const removed: string[] = [];
  if (withState) {
    const ws = await automation.LocalWorkspace.create({
      workDir: PROJECT_ROOT,
      envVars: stackEnv(stack),
    });
    await ws.removeStack(stack);
    removed.push(`stack ${stack}`);
  }
  const backend = backendUrl();
  if (backend.startsWith("file://")) {
    const root = path.join(backend.slice(7), ".pulumi");
    // Nested by project, and locks by organization too (locks/organization/psf/pr-14/).
    for (const kind of ["stacks", "history", "backups", "locks"])
      removed.push(...removeNamed(path.join(root, kind), stack, 3));
  }
  for (const f of [stackFile(stack), passphraseFile(stack)])
    if (fs.existsSync(f)) {
      fs.rmSync(f, { force: true });
      removed.push(f);
    }
  return removed;
}

/** Entries named `stack` or `stack.*` (pr-14.json.bak, not pr-140.json) down to `depth` levels. */
function removeNamed(dir: string, stack: string, depth: number): string[] {
  if (depth < 0 || !fs.existsSync(dir)) return [];
  const removed: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.name === stack || e.name.startsWith(`${stack}.`)) {
      fs.rmSync(p, { recursive: true, force: true });
      removed.push(p);
    } else if (e.isDirectory()) removed.push(...removeNamed(p, stack, depth - 1));
  }
  return removed;
}

function projectName(): string {
  const text = fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), "utf8");
  return /^name:\s*(\S+)/m.exec(text)?.[1] ?? "";
}
