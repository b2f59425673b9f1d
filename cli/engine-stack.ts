import * as automation from "@pulumi/pulumi/automation";
import * as fs from "fs";
import * as path from "path";
import { isSecretValue } from "./secret-value";
import { PROJECT_ROOT } from "./source";

/**
 * A stack of the project through the Automation API, without the CLI round trips PSF does not
 * need: each `pulumi` process costs 0.4–0.7 s, a no-op preview of the `ci` stack ~4 s in all.
 * Skipped: `pulumi stack select` when the stack exists (every command names `--stack`), and
 * after `up` the `stack output` and `stack history` calls (outputs come from the update's own
 * events), and `pulumi version`: cli/prerequisites.ts knows the version already.
 */
export async function openStack(
  name: string,
  envVars: Record<string, string>,
  version?: string,
): Promise<automation.Stack> {
  const pulumiCommand = await commandOf(version);
  const ws = await automation.LocalWorkspace.create({
    workDir: PROJECT_ROOT,
    envVars,
    pulumiCommand,
  });
  if (stateExists(envVars.PULUMI_BACKEND_URL, name)) ws.selectStack = async () => {};
  return automation.Stack.createOrSelect(name, ws);
}

/**
 * The CLI on PATH as the Automation API knows it. `PulumiCommand.get` would spawn `pulumi
 * version` (0.4 s) to learn what the caller already knows; its constructor is only marked
 * private in the typings. An unparsable version falls back to asking.
 */
async function commandOf(version: string | undefined): Promise<automation.PulumiCommand> {
  // The SDK's own semver: its version objects are compared with the SDK's methods.
  const sdkDir = path.dirname(require.resolve("@pulumi/pulumi/automation"));
  const semver = require(require.resolve("semver", { paths: [sdkDir] })) as {
    parse(v: string): object | null;
  };
  const parsed = version ? semver.parse(version.replace(/^v/, "")) : null;
  if (!parsed) return automation.PulumiCommand.get({ skipVersionCheck: true });
  const Command = automation.PulumiCommand as unknown as new (
    command: string,
    version: object,
  ) => automation.PulumiCommand;
  return new Command("pulumi", parsed);
}

/** Whether a `file://` backend already holds the stack (other backends: unknown, so no). */
function stateExists(backend: string | undefined, stack: string): boolean {
  if (!backend?.startsWith("file://")) return false;
  const project = /^name:\s*(\S+)/m.exec(
    fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), "utf8"),
  )?.[1];
  const stacks = path.join(backend.slice("file://".length), ".pulumi", "stacks");
  return [
    path.join(stacks, project ?? "", `${stack}.json`),
    path.join(stacks, `${stack}.json`),
  ].some((f) => fs.existsSync(f));
}

/** The root stack's outputs (secrets masked) as the update's events report them. */
export interface UpdateOutcome {
  outputs: automation.OutputMap;
}

/**
 * `up` whose outputs come from its event stream instead of two more CLI processes after it
 * (Stack.up calls `stack output` and `stack history` when the update is done).
 */
export async function upWithOutputs(
  stack: automation.Stack,
  opts: automation.UpOptions,
): Promise<UpdateOutcome> {
  const outcome: UpdateOutcome = { outputs: {} };
  const onEvent = (e: automation.EngineEvent) => {
    opts.onEvent?.(e);
    const meta = e.resOutputsEvent?.metadata;
    if (meta?.type !== "pulumi:pulumi:Stack") return;
    const outs = (meta.new?.outputs ?? {}) as Record<string, unknown>;
    outcome.outputs = Object.fromEntries(
      Object.entries(outs).map(([k, value]) =>
        isSecretValue(value)
          ? [k, { value: "[secret]", secret: true }]
          : [k, { value, secret: false }],
      ),
    );
  };
  stack.outputs = async () => outcome.outputs;
  stack.info = async () => undefined;
  await stack.up({ ...opts, onEvent });
  return outcome;
}
