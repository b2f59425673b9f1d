import * as readline from "readline";
import { BackupAction } from "./backup-actions";
import { openDeployedStack } from "./deployed-stack";
import { parseDuration } from "./duration";
import { EXIT_INVALID } from "./output";
import { secretMasker } from "./secret-mask";
import { stackSecretValues } from "./stack-secrets";
import { runTool } from "./tool-run";
import { shellQuote } from "../components/shell";

export interface BackupOptions {
  stack: string;
  snapshot?: string;
  timeout: string;
  retries: string;
  retryDelay: string;
  yes?: boolean;
}

/** Which of a service's stack outputs each action runs, and what it is called in messages. */
const ACTIONS: Record<BackupAction, { output: string; label: string }> = {
  run: { output: "backupCommand", label: "backup" },
  list: { output: "listCommand", label: "listing of the backups" },
  restore: { output: "restoreCommand", label: "restore" },
  verify: { output: "verifyCommand", label: "restore drill" },
};

/**
 * `psf backup run|list|restore|verify --stack S SERVICE [--snapshot ID]`: runs the command the
 * stack outputs for the service on whatever target it runs (docker exec, kubectl exec), with a
 * progress line, a timeout, retries after transient failures and every secret the stack holds
 * masked. `verify` is a restore drill (into scratch space, checked against the facts recorded
 * with the run). Exit 0 done (the drill passed), 1 the tool or the drill failed (with the
 * reason), 2 a wrong argument.
 */
export async function backupCommand(
  action: BackupAction,
  service: string,
  o: BackupOptions,
): Promise<number> {
  const usage = (message: string, hint: string) => {
    process.stderr.write(`error: ${message}\n  hint: ${hint}\n`);
    return EXIT_INVALID;
  };
  const timeoutMs = parseDuration(o.timeout);
  if (timeoutMs === undefined)
    return usage(`--timeout ${o.timeout}: not a duration`, "e.g. --timeout 90s, 30m or 2h");
  const retries = Number(o.retries);
  if (!Number.isInteger(retries) || retries < 0 || retries > 10)
    return usage(`--retries ${o.retries}: not a whole number from 0 to 10`, "e.g. --retries 2");
  const delayMs = parseDuration(o.retryDelay);
  if (delayMs === undefined)
    return usage(`--retry-delay ${o.retryDelay}: not a duration`, "e.g. --retry-delay 5s");
  if (o.snapshot !== undefined && action !== "restore" && action !== "verify")
    return usage(
      `--snapshot applies to restore and verify only`,
      `psf backup restore --stack ${o.stack} ${service} --snapshot ${o.snapshot}`,
    );

  const opened = await openDeployedStack(o.stack);
  if ("error" in opened) {
    process.stderr.write(`error: ${opened.error}\n  hint: ${opened.hint}\n`);
    return 1;
  }
  const services = (opened.outputs.services?.value ?? {}) as Record<
    string,
    Record<string, unknown>
  >;
  const withBackup = Object.keys(services).filter((s) => services[s]?.backupCommand);
  if (Object.keys(services).length === 0)
    return usage(
      `stack ${o.stack} has no deployed services`,
      `npm run psf -- up --stack ${o.stack}`,
    );
  if (!services[service])
    return usage(
      `stack ${o.stack} has no service "${service}"`,
      `services with backups: ${withBackup.join(", ") || "none"}`,
    );
  const command = services[service][ACTIONS[action].output];
  if (typeof command !== "string")
    return usage(
      `services.${service} has no backup`,
      `add needs.backup to services.${service} in stacks/Pulumi.${o.stack}.yaml, then psf up --stack ${o.stack}`,
    );

  if (action === "restore" && !o.yes && !(await confirmRestore(service, o)))
    return usage(
      `restore replaces ${service}'s data and was not confirmed`,
      `run it in a terminal to be asked, or add --yes`,
    );

  const mask = secretMasker(await stackSecretValues(opened.stack, opened.outputs));
  const label = `${ACTIONS[action].label} of ${service}`;
  const started = Date.now();
  const result = await runTool({
    label,
    command: o.snapshot !== undefined ? `${command} ${shellQuote(o.snapshot)}` : command,
    timeoutMs,
    retries,
    backoffMs: (n) => delayMs * 3 ** (n - 1),
    mask,
    out: process.stdout,
    err: process.stderr,
  });
  if (!result.ok) {
    process.stderr.write(`error: ${mask(result.reason)}\n`);
    return 1;
  }
  const took = Math.round((Date.now() - started) / 100) / 10;
  const tries = result.attempts > 1 ? `, after ${result.attempts} attempts` : "";
  process.stderr.write(`psf: ${label} done in ${took} s${tries}\n`);
  return 0;
}

/** Asks on a terminal; elsewhere (scripts, CI) a restore needs --yes. */
async function confirmRestore(service: string, o: BackupOptions): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  const answer = await new Promise<string>((resolve) =>
    rl.question(
      `Restore replaces the data of ${service} in stack ${o.stack} with ${o.snapshot ? `snapshot ${o.snapshot}` : "its latest backup"}. Continue? [y/N] `,
      resolve,
    ),
  );
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}
