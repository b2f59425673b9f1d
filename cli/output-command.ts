import * as automation from "@pulumi/pulumi/automation";
import * as fs from "fs";
import * as path from "path";
import { backendUrl, passphraseEnv } from "./engine";
import { PROJECT_ROOT } from "./source";
import { toolchainEnv } from "./toolchain";

/**
 * `psf output [name] --stack S [--show-secrets] [--json]`: what `pulumi stack output` prints,
 * with psf's backend, passphrase and toolchain, so nobody has to set them by hand.
 */
export async function outputCommand(
  name: string | undefined,
  opts: { stack: string; showSecrets?: boolean; json?: boolean },
): Promise<number> {
  const backend = backendUrl();
  if (backend.startsWith("file://") && !fs.existsSync(path.join(backend.slice(7), ".pulumi"))) {
    process.stderr.write(
      `error: stack ${opts.stack} has no state yet\n  hint: npm run psf -- up --stack ${opts.stack}\n`,
    );
    return 1;
  }
  const envVars = { PULUMI_BACKEND_URL: backend, ...passphraseEnv(opts.stack), ...toolchainEnv() };
  Object.assign(process.env, envVars);
  const stack = await automation.LocalWorkspace.selectStack(
    { stackName: opts.stack, workDir: PROJECT_ROOT },
    { envVars },
  ).catch((e: Error) => e);
  if (stack instanceof Error) {
    process.stderr.write(
      `error: no stack ${opts.stack}: ${stack.message.split("\n").pop()}\n  hint: npm run psf -- up --stack ${opts.stack}\n`,
    );
    return 1;
  }
  const outputs = await stack.outputs();
  const shown = (v: automation.OutputValue) =>
    v.secret && !opts.showSecrets ? "[secret]" : v.value;
  if (name !== undefined) {
    const v = outputs[name];
    if (!v) {
      process.stderr.write(
        `error: stack ${opts.stack} has no output "${name}"\n  hint: outputs: ${Object.keys(outputs).join(", ")}\n`,
      );
      return 1;
    }
    const value = shown(v);
    process.stdout.write(
      typeof value === "string" && !opts.json
        ? `${value.trimEnd()}\n`
        : `${JSON.stringify(value, null, 2)}\n`,
    );
    return 0;
  }
  process.stdout.write(
    JSON.stringify(
      Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, shown(v)])),
      null,
      2,
    ) + "\n",
  );
  return 0;
}
