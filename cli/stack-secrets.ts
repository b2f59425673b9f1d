import type * as automation from "@pulumi/pulumi/automation";
import { execFile } from "child_process";
import { promisify } from "util";
import { secretStrings } from "./deployed-stack";

/** The key Pulumi marks a secret with in an exported deployment (sdk/go/common/resource/sig). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/**
 * Every secret value the stack holds: generated passwords and keys in its state, `secure:`
 * config, secret outputs. What `psf backup` (and anything else printing a tool's output)
 * masks. The state is exported twice: plain, where a secret is a marked ciphertext, and with
 * `--show-secrets`, where it is its value at the same place; nothing is written anywhere.
 */
export async function stackSecretValues(
  stack: automation.Stack,
  outputs: automation.OutputMap,
): Promise<string[]> {
  const found = secretStrings(outputs);
  const [revealed, marked, config] = await Promise.all([
    stack.exportStack().catch(() => undefined),
    plainExport(stack).catch(() => undefined),
    stack.getAllConfig().catch(() => ({}) as automation.ConfigMap),
  ]);
  for (const v of Object.values(config)) if (v.secret) collect(parse(v.value), found);
  walkSecrets(marked, revealed, found);
  return found;
}

/** `pulumi stack export` without secrets, in the stack's own workspace (its folder and backend). */
async function plainExport(stack: automation.Stack): Promise<unknown> {
  const ws = stack.workspace;
  const { stdout } = await promisify(execFile)(
    "pulumi",
    ["stack", "export", "--stack", stack.name],
    {
      cwd: ws.workDir,
      env: { ...process.env, ...ws.envVars },
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  return JSON.parse(stdout);
}

/** Where `marked` holds a secret, the value `revealed` has at the same place. */
function walkSecrets(marked: unknown, revealed: unknown, found: string[]): void {
  if (!marked || typeof marked !== "object" || revealed === undefined) return;
  const m = marked as Record<string, unknown>;
  if (m[SECRET_SIG] !== undefined) {
    // Older exports keep the wrapper with the value in `plaintext`.
    const r = revealed as Record<string, unknown> | undefined;
    collect(
      r && typeof r === "object" && "plaintext" in r ? parse(String(r.plaintext)) : revealed,
      found,
    );
    return;
  }
  const r = (revealed ?? {}) as Record<string, unknown>;
  if (Array.isArray(marked))
    marked.forEach((x, i) => walkSecrets(x, (revealed as unknown[] | undefined)?.[i], found));
  else for (const [k, x] of Object.entries(m)) walkSecrets(x, r[k], found);
}

/** A secret's strings, and each line of a multi-line one (a PEM key is printed line by line). */
function collect(v: unknown, found: string[]): void {
  if (typeof v === "string") {
    found.push(v);
    if (v.includes("\n")) found.push(...v.split("\n").filter((l) => l.trim().length >= 16));
  } else if (Array.isArray(v)) v.forEach((x) => collect(x, found));
  else if (v && typeof v === "object") Object.values(v).forEach((x) => collect(x, found));
}

function parse(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}
