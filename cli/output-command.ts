import * as automation from "@pulumi/pulumi/automation";
import { openDeployedStack } from "./deployed-stack";

/**
 * `psf output [name] --stack S [--show-secrets] [--json]`: what `pulumi stack output` prints,
 * with psf's backend, passphrase and toolchain, so nobody has to set them by hand.
 */
export async function outputCommand(
  name: string | undefined,
  opts: { stack: string; showSecrets?: boolean; json?: boolean },
): Promise<number> {
  const opened = await openDeployedStack(opts.stack);
  if ("error" in opened) {
    process.stderr.write(`error: ${opened.error}\n  hint: ${opened.hint}\n`);
    return 1;
  }
  const { outputs } = opened;
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
