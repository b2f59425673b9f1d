import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { checkAgent } from "../components/agent-config";
import { DEFAULT_BACKOFF, RestartBackoff } from "./agent-backoff";
import { ChildRun, runChild } from "./agent-child";
import { HealthWatch } from "./agent-health";
import { AgentLog } from "./agent-log";
import { AgentMetrics } from "./agent-metrics";
import { Job, JobQueue } from "./agent-queue";
import { reconcileOutcome } from "./agent-reconcile";
import { readAgentSecrets } from "./agent-stack";
import { PushEvent, githubWebhook } from "./agent-webhook";
import { parseDuration } from "./duration";
import { EXIT_INVALID, reportIssues } from "./output";
import { secretMasker } from "./secret-mask";
import { PROJECT_ROOT, checkSource } from "./source";

export interface AgentOptions {
  stack: string;
  every: string;
  healthEvery: string;
  restartBackoff: string;
  maxRestarts: string;
  listen: string;
  repo?: string;
  stopTimeout: string;
}

/**
 * `psf agent --stack S`: one long-running process that reconciles on a schedule, restarts
 * unhealthy containers, deploys on signed GitHub pushes and serves `/metrics`. Jobs (deploy,
 * reconcile) run one at a time as `psf` child processes. Logs are JSON lines on stdout with
 * every secret the stack holds masked. Returns 0 after SIGINT/SIGTERM once the running job
 * has stopped; 2 for a bad option or config, 1 when the stack cannot be opened.
 */
export async function agentCommand(o: AgentOptions): Promise<number> {
  const usage = (message: string, hint: string) => {
    process.stderr.write(`error: ${message}\n  hint: ${hint}\n`);
    return EXIT_INVALID;
  };
  const every = parseDuration(o.every);
  if (every === undefined) return usage(`--every ${o.every}: not a duration`, "e.g. --every 10m");
  const healthEvery = parseDuration(o.healthEvery);
  if (healthEvery === undefined)
    return usage(`--health-every ${o.healthEvery}: not a duration`, "e.g. --health-every 30s");
  const backoffBase = parseDuration(o.restartBackoff);
  if (backoffBase === undefined)
    return usage(
      `--restart-backoff ${o.restartBackoff}: not a duration`,
      "e.g. --restart-backoff 1m",
    );
  const maxRestarts = Number(o.maxRestarts);
  if (!Number.isInteger(maxRestarts) || maxRestarts < 1 || maxRestarts > 100)
    return usage(`--max-restarts ${o.maxRestarts}: not a whole number from 1 to 100`, "e.g. 5");
  const stopTimeout = parseDuration(o.stopTimeout);
  if (stopTimeout === undefined)
    return usage(`--stop-timeout ${o.stopTimeout}: not a duration`, "e.g. --stop-timeout 5m");
  const listen = parseListen(o.listen);
  if (!listen) return usage(`--listen ${o.listen}: not host:port`, "e.g. --listen 127.0.0.1:9470");
  // Node's timers hold at most 2^31-1 ms (24.8 days).
  if (every > 2 ** 31 - 1) return usage(`--every ${o.every}: too long`, "at most 24 days");

  const checked = checkSource({ stack: o.stack });
  if (checked.issues.length) {
    reportIssues(checked.issues, false);
    return EXIT_INVALID;
  }
  const raw = checked.src.raw;
  const settings = checkAgent(raw.agent, []);
  const target = (raw.target ?? {}) as { kind?: string; host?: string };
  const repo = path.resolve(o.repo ?? PROJECT_ROOT);
  // What a push brings is deployed by the checkout's own psf (its program, its stack files).
  const psfBin = [repo, PROJECT_ROOT]
    .map((d) => path.join(d, "bin", "psf.js"))
    .find((f) => fs.existsSync(f))!;

  const log = new AgentLog((line) => process.stdout.write(line));
  const secrets = await readAgentSecrets(o.stack);
  if ("error" in secrets) {
    process.stderr.write(`error: ${secrets.error}\n  hint: ${secrets.hint}\n`);
    return 1;
  }
  log.setMask(secretMasker(secrets.values));
  const refreshMask = async () => {
    const s = await readAgentSecrets(o.stack).catch((e: Error) => ({ error: e.message }));
    if ("error" in s) log.warn("could not re-read the stack's secrets", { error: s.error });
    else log.setMask(secretMasker(s.values));
  };

  const metrics = new AgentMetrics(o.stack);
  let current: ChildRun | undefined;
  let stopping = false;
  // Once stopping, a job between two steps starts nothing more.
  const stopped = { code: null, signal: null, stdout: "", cancelled: true };
  const psf = async (args: string[], source: string, quietStdout = false) => {
    if (stopping) return stopped;
    current = runChild({
      command: process.execPath,
      args: [psfBin, ...args, "--stack", o.stack],
      cwd: repo,
      source,
      log,
      quietStdout,
    });
    return current.done.finally(() => (current = undefined));
  };
  const git = async (args: string[]) => {
    if (stopping) return stopped;
    current = runChild({ command: "git", args, cwd: repo, source: "git", log });
    return current.done.finally(() => (current = undefined));
  };

  const deploy = async (pushes: PushEvent[]) => {
    const started = Date.now();
    const latest = pushes[pushes.length - 1];
    log.info("deploy started", {
      after: latest.after,
      deliveries: pushes.map((p) => p.delivery),
      coalesced: pushes.length,
    });
    const outcome: { result: "success" | "failure" | "cancelled"; [k: string]: unknown } = {
      result: "failure",
    };
    try {
      const branch = await git(["rev-parse", "--abbrev-ref", "HEAD"]);
      if (branch.cancelled) return void (outcome.result = "cancelled");
      const on = branch.stdout.trim();
      if (branch.code !== 0 || on !== settings.branch) {
        outcome.reason = "the checkout is not on the deployed branch";
        outcome.hint = `git -C ${repo} switch ${settings.branch}`;
        return;
      }
      const pull = await git(["pull", "--ff-only"]);
      if (pull.cancelled) return void (outcome.result = "cancelled");
      if (pull.code !== 0) {
        outcome.reason = "git pull --ff-only failed";
        outcome.hint = "the checkout has local commits or changes: make it match the remote branch";
        return;
      }
      outcome.commit = (await git(["rev-parse", "HEAD"])).stdout.trim();
      const up = await psf(["up"], "psf up");
      outcome.exitCode = up.code;
      outcome.result = up.cancelled ? "cancelled" : up.code === 0 ? "success" : "failure";
    } finally {
      const seconds = (Date.now() - started) / 1000;
      const { result } = outcome;
      const level = result === "success" ? "info" : result === "cancelled" ? "warn" : "error";
      log[level]("deploy finished", { ...outcome, seconds });
      metrics.deployments.inc({ result });
      metrics.deployDuration.observe({ result }, seconds);
      if (result === "success") metrics.lastSuccess.set({ operation: "deploy" }, Date.now() / 1000);
      // An up may generate new secrets: mask them from now on.
      if (result !== "cancelled") await refreshMask();
    }
  };

  const reconcile = async () => {
    log.info("reconcile started");
    const r = await psf(["reconcile", "--json"], "psf reconcile", true);
    const outcome = reconcileOutcome(r.code, r.stdout);
    if (r.cancelled) outcome.result = "cancelled";
    metrics.reconciles.inc({ result: outcome.result });
    metrics.driftFound.inc(outcome.drifted);
    metrics.driftHealed.inc(outcome.healed);
    if (outcome.result === "success")
      metrics.lastSuccess.set({ operation: "reconcile" }, Date.now() / 1000);
    const level = outcome.result === "failure" ? "error" : outcome.drifted ? "warn" : "info";
    log[level]("reconcile finished", { result: outcome.result, ...outcome.summary });
    if (outcome.healed) await refreshMask();
  };

  const queue = new JobQueue((job: Job) =>
    job.kind === "deploy" ? deploy(job.pushes) : reconcile(),
  );
  const health = new HealthWatch({
    stack: o.stack,
    dockerHost: target.host,
    log,
    metrics,
    backoff: new RestartBackoff({ ...DEFAULT_BACKOFF, baseMs: backoffBase, maxRestarts }),
  });

  if (!settings.webhookSecret || !secrets.webhookSecret)
    log.warn("webhooks are off: no webhook secret in the stack's config", {
      hint: `pulumi config set --secret --path psf:agent.webhookSecret <secret> --stack ${o.stack}`,
    });
  const hook = githubWebhook({
    secret: secrets.webhookSecret,
    branch: settings.branch,
    maxBodyBytes: settings.webhookMaxBodyBytes,
    perMinute: settings.webhookRateLimit,
    log,
    count: (outcome) => metrics.webhooks.inc({ outcome }),
    onPush: (push) => {
      const joined = queue.deploy(push);
      log.info(joined ? "push joined the waiting deploy" : "push queued a deploy", {
        delivery: push.delivery,
        after: push.after,
        pusher: push.pusher,
      });
    },
  });
  const server = http.createServer((req, res) => {
    const url = (req.url ?? "/").split("?")[0];
    if (url === "/hooks/github") return hook(req, res);
    if (url === "/metrics" && req.method === "GET") {
      metrics.text().then(({ contentType, body }) => {
        res.writeHead(200, { "content-type": contentType });
        res.end(body);
      });
      return;
    }
    if (url === "/healthz" && req.method === "GET") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(`${JSON.stringify({ ok: true, running: queue.busy?.kind ?? null })}\n`);
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(`${JSON.stringify({ error: "not found" })}\n`);
  });
  // Bounded reads: a client that never finishes its request is dropped.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;

  const listening = await new Promise<boolean>((resolve) => {
    server.once("error", (e: NodeJS.ErrnoException) => {
      process.stderr.write(
        `error: --listen ${o.listen}: ${e.code ?? e.message}\n  hint: choose another address or port\n`,
      );
      resolve(false);
    });
    server.listen(listen.port, listen.host, () => resolve(true));
  });
  if (!listening) return 1;
  const address = server.address() as { address: string; port: number };
  log.info("agent started", {
    stack: o.stack,
    listen: `${address.address}:${address.port}`,
    port: address.port,
    repo,
    branch: settings.branch,
    everyMs: every,
    healthEveryMs: healthEvery,
    webhooks: !!secrets.webhookSecret,
  });

  const reconcileTimer = setInterval(() => {
    if (!queue.reconcile())
      log.info("scheduled reconcile skipped: a job is running or waiting", {
        running: queue.busy?.kind,
      });
  }, every);
  let checking = false;
  const healthTimer =
    (target.kind ?? "docker") === "docker"
      ? setInterval(() => {
          if (checking) return;
          checking = true;
          health.check().finally(() => (checking = false));
        }, healthEvery)
      : undefined;
  if (!healthTimer)
    log.info("unhealthy restarts are off: the Kubernetes target restarts pods on its probes");

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      log.info("stopping", { signal, running: queue.busy?.kind ?? null });
      process.removeAllListeners("SIGINT");
      process.removeAllListeners("SIGTERM");
      resolve();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  stopping = true;
  clearInterval(reconcileTimer);
  if (healthTimer) clearInterval(healthTimer);
  server.close();
  server.closeAllConnections();
  const drained = queue.stop();
  await current?.cancel(stopTimeout);
  await drained;
  log.info("agent stopped");
  return 0;
}

/** `host:port` or `[v6]:port`; port 0 takes any free port (logged at start). */
function parseListen(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  return port <= 65535 ? { host: m[1] ?? m[2], port } : undefined;
}
