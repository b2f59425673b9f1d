import * as automation from "@pulumi/pulumi/automation";
import * as fs from "fs";
import * as path from "path";
import { backendUrl, passphraseEnv } from "./engine";
import { PROJECT_ROOT } from "./source";
import { toolchainEnv } from "./toolchain";

/** A stack that has been deployed, or why it cannot be read (with the command that helps). */
export type DeployedStack =
  { stack: automation.Stack; outputs: automation.OutputMap } | { error: string; hint: string };

/** Opens a stack `psf up` made, with psf's backend, passphrase and toolchain, and reads its outputs. */
export async function openDeployedStack(name: string): Promise<DeployedStack> {
  const backend = backendUrl();
  const hint = `npm run psf -- up --stack ${name}`;
  if (backend.startsWith("file://") && !fs.existsSync(path.join(backend.slice(7), ".pulumi")))
    return { error: `stack ${name} has no state yet`, hint };
  const envVars = { PULUMI_BACKEND_URL: backend, ...passphraseEnv(name), ...toolchainEnv() };
  Object.assign(process.env, envVars);
  const stack = await automation.LocalWorkspace.selectStack(
    { stackName: name, workDir: PROJECT_ROOT },
    { envVars },
  ).catch((e: Error) => e);
  if (stack instanceof Error)
    return { error: `no stack ${name}: ${stack.message.split("\n").pop()}`, hint };
  return { stack, outputs: await stack.outputs() };
}

/** Every string a secret output holds (passwords in `accounts`, keys...), to mask in what is printed. */
export function secretStrings(outputs: automation.OutputMap): string[] {
  const found: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === "string") found.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") Object.values(v).forEach(walk);
  };
  for (const o of Object.values(outputs)) if (o.secret) walk(o.value);
  return found;
}
