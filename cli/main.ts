import { Argument, Command, Option } from "commander";
import { BACKUP_ACTIONS } from "./backup-actions";
import type { EngineVerb } from "./engine";
import { graphCommand } from "./graph";
import { validateCommand } from "./validate";

/** `psf ...`: returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = new Command("psf")
    .description("PSF: self-hosted services as code, on Pulumi")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  const source = (cmd: Command) =>
    cmd
      .addOption(
        new Option("--stack <name>", "stack (stacks/Pulumi.<name>.yaml)").conflicts("config"),
      )
      .option("--config <file>", "a Pulumi.<stack>.yaml file");

  source(
    program.command("validate").description("check the stack config offline (exit 2 when invalid)"),
  )
    .option("--json", "machine-readable result")
    .action((o) => {
      code = validateCommand(o);
    });
  source(
    program
      .command("plan")
      .description("evaluate the program offline and list the resources it would declare"),
  )
    .option("--json", "machine-readable result")
    .option("--show-secrets", "print secret inputs instead of [secret]")
    .action(async (o) => {
      // Loaded on demand: planning runs the program on the Pulumi SDK, which validate and graph never load.
      const { planCommand } = require("./plan") as typeof import("./plan");
      code = await planCommand(o);
    });
  source(program.command("graph").description("the service → contract → provider graph"))
    .option("--format <format>", "mermaid or dot", "mermaid")
    .action((o) => {
      code = graphCommand(o);
    });
  for (const verb of ["up", "preview", "refresh", "destroy"] as EngineVerb[]) {
    const cmd = program
      .command(verb)
      .description(`pulumi ${verb} through the Automation API (local file:// backend by default)`)
      .requiredOption("--stack <name>", "stack to operate on")
      .option("--diff", "show detailed diffs")
      .addHelpText(
        "after",
        `
Exit codes: the engine's (0 done, 1 failed); 2 invalid stack config; 3 missing prerequisite;
6 refused: another run holds the stack's lock; 130 interrupted (state saved: run it again).
Transient failures are retried, Ctrl-C cancels cleanly: docs/resilience.md.`,
      )
      .action(async (o) => {
        // Loaded on demand: the Automation API costs half a second that validate/plan do not need.
        const { engineCommand } = require("./engine") as typeof import("./engine");
        code = await engineCommand(verb, o);
      });
    if (verb === "refresh") cmd.option("--expect-no-changes", "fail when drift is found");
  }
  program
    .command("reconcile")
    .description(
      "refresh, report the drift (resources, fields, before and after; secrets masked), then up to heal it",
    )
    .requiredOption("--stack <name>", "stack to reconcile")
    .option("--dry-run", "only report the drift; change nothing")
    .option("--json", "the report as JSON on stdout (engine progress on stderr)")
    .addHelpText(
      "after",
      `
Exit codes (docs/reconcile.md):
  0    no drift: the resources match the stack
  1    failed (the report's "error" says why)
  2    invalid stack config
  3    missing prerequisite
  4    drift found and healed
  5    drift found, --dry-run: nothing changed
  6    refused: another psf up/reconcile/refresh/destroy holds the stack's lock
  130  interrupted (SIGINT/SIGTERM); the engine saved the state, the next run finishes`,
    )
    .action(async (o) => {
      const { reconcileCommand } = require("./reconcile") as typeof import("./reconcile");
      code = await reconcileCommand(o);
    });
  program
    .command("output")
    .description("the stack's outputs after up (services, accounts, caPem); secrets masked")
    .argument("[name]", "one output")
    .requiredOption("--stack <name>", "stack to read")
    .option("--show-secrets", "print secret values (e.g. the initial passwords in accounts)")
    .option("--json", "JSON, also for a single value")
    .action(async (name: string | undefined, o) => {
      const { outputCommand } = require("./output-command") as typeof import("./output-command");
      code = await outputCommand(name, o);
    });
  program
    .command("backup")
    .description(
      "run, list, restore or verify (a restore drill) a service's backups with the commands the stack outputs",
    )
    .addArgument(new Argument("<action>", "run | list | restore | verify").choices(BACKUP_ACTIONS))
    .argument("<service>", "a service with needs.backup")
    .requiredOption("--stack <name>", "stack to read")
    .option(
      "--snapshot <id>",
      "restore, verify: the archive or snapshot (as list prints it); default the latest",
    )
    .option("--timeout <duration>", "stop the tool after this long (90s, 30m, 2h)", "2h")
    .option("--retries <n>", "attempts after a transient failure (a lock, a network error)", "2")
    .option("--retry-delay <duration>", "wait before the first retry, tripled after each", "5s")
    .option("--yes", "restore without asking")
    .action(async (action, service: string, o) => {
      const { backupCommand } = require("./backup-command") as typeof import("./backup-command");
      code = await backupCommand(action, service, o);
    });
  program
    .command("status")
    .description(
      "per service: URL, last backup (age, size, result), last drill, and alerts (failed or stale)",
    )
    .requiredOption("--stack <name>", "stack to read")
    .option("--json", "machine-readable result")
    .action(async (o) => {
      const { statusCommand } = require("./status-command") as typeof import("./status-command");
      code = await statusCommand(o);
    });
  const previewEnv = program
    .command("preview-env")
    .description("a stack per pull request (pr-N, from a template stack), and its teardown");
  const preview = () => require("./preview-env-command") as typeof import("./preview-env-command");
  previewEnv
    .command("up")
    .description("create or update stack pr-N from the template: own hosts, ports, data, secrets")
    .option("--pr <n>", "the pull request's number")
    .option("--from <stack>", "the template stack", "dev")
    .option("--json", "print {pr, stack, urls} as JSON (the engine's progress goes to stderr)")
    .action(async (o) => {
      code = await preview().previewUp(o);
    });
  previewEnv
    .command("down")
    .description("destroy stack pr-N and remove its state, stack file and passphrase")
    .option("--pr <n>", "the pull request's number")
    .option("--json", "machine-readable result")
    .action(async (o) => {
      code = await preview().previewDown(o);
    });
  previewEnv
    .command("prune")
    .description("take down previews whose PR is not open, or older than --older-than")
    .option("--older-than <age>", "e.g. 7d, 36h")
    .option("--open <prs>", 'the open PRs, e.g. 3,14 ("" for none); default: gh pr list')
    .option("--dry-run", "list what would be removed")
    .option("--json", "machine-readable result")
    .action(async (o) => {
      code = await preview().previewPrune(o);
    });
  program
    .command("agent")
    .description(
      "long-running: scheduled reconcile, unhealthy restarts, GitHub push deploys, /metrics (docs/agent.md)",
    )
    .requiredOption("--stack <name>", "stack to keep running")
    .option("--every <duration>", "reconcile this often (90s, 10m, 2h)", "10m")
    .option("--listen <host:port>", "address for /hooks/github and /metrics", "127.0.0.1:9470")
    .option("--repo <dir>", "the checkout a push updates (git pull --ff-only); default the project")
    .option("--health-every <duration>", "look for unhealthy containers this often", "30s")
    .option(
      "--restart-backoff <duration>",
      "wait after a restart before another, doubled each time",
      "1m",
    )
    .option(
      "--max-restarts <n>",
      "restarts within an hour before a workload is reported as crash-looping",
      "5",
    )
    .option(
      "--stop-timeout <duration>",
      "on SIGINT/SIGTERM, wait this long for a running job to stop",
      "5m",
    )
    .action(async (o) => {
      const { agentCommand } = require("./agent-command") as typeof import("./agent-command");
      code = await agentCommand(o);
    });
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (e) {
    const err = e as { code?: string; exitCode?: number };
    if (
      err.code === "commander.helpDisplayed" ||
      err.code === "commander.version" ||
      err.code === "commander.help"
    )
      return 0;
    if (err.code?.startsWith("commander.")) return 2;
    throw e;
  }
  return code;
}
