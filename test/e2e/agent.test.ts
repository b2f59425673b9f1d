import { strict as assert } from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { toolchainEnv } from "../../cli/engine";
import { docker, generatedSecrets, projectCopy, stackObjects, workloadContainers } from "./support";

const STACK = "psf-agent-e2e";
const FIXTURE = path.join(__dirname, "fixtures", `Pulumi.${STACK}.yaml`);
/** The whoami container's published port (the fixture's publish). */
const WHOAMI_PORT = 19471;
const SECRET = `whsec-${crypto.randomBytes(12).toString("hex")}`;

/**
 * The real `psf agent` process over loopback, on a throwaway copy of the project that is a
 * git checkout of a local "remote": every webhook attack refused with nothing run, a signed
 * push pulls the checkout and deploys it (later pushes coalesced), an unhealthy container is
 * restarted, `/metrics` passes promtool, no secret in any log line, and SIGINT stops a
 * running deploy and the agent cleanly. Steps build on each other, in order.
 */
describe("psf agent, end to end", function () {
  this.timeout(600_000);
  let work: string; // temp root: remote.git, state/, the checkout, a second clone
  let dir: string; // the checkout the agent runs from
  let agent: ChildProcess;
  let port = 0;
  let logText = "";
  let exited: Promise<number | null>;
  const env = () => ({
    ...process.env,
    ...toolchainEnv(),
    PULUMI_BACKEND_URL: `file://${path.join(work, "state")}`,
    PULUMI_CONFIG_PASSPHRASE: "agent-e2e-passphrase-not-a-stack-secret",
    PULUMI_SKIP_UPDATE_CHECK: "true",
  });
  const run = (cmd: string, args: string[], cwd = dir) => {
    const r = spawnSync(cmd, args, { cwd, env: env(), encoding: "utf8" });
    assert.equal(r.status, 0, `${cmd} ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const pulumi = (...args: string[]) =>
    run("pulumi", [...args, "--stack", STACK, "--non-interactive"]);
  const logLines = () =>
    logText
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown> & { msg: string });
  const logged = (msg: string) => logLines().filter((l) => l.msg === msg);
  const waitFor = async <T>(what: string, probe: () => T | undefined, ms = 240_000) => {
    const until = Date.now() + ms;
    for (;;) {
      const v = probe();
      if (v) return v;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}\n${logText}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const sign = (body: string, secret = SECRET) =>
    `sha256=${crypto.createHmac("sha256", secret).update(body).digest("hex")}`;
  const post = (o: {
    body: string;
    event?: string;
    delivery?: string;
    signature?: string | null;
  }) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "x-github-event": o.event ?? "push",
        "x-github-delivery": o.delivery ?? crypto.randomUUID(),
      };
      const sig = o.signature === undefined ? sign(o.body) : o.signature;
      if (sig !== null) headers["x-hub-signature-256"] = sig;
      const req = http.request(
        { host: "127.0.0.1", port, path: "/hooks/github", method: "POST", headers },
        (res) => {
          let data = "";
          res.on("data", (c) => (data += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data }));
        },
      );
      req.on("error", reject);
      req.end(o.body);
    });
  const pushBody = (after: string, ref = "refs/heads/main") =>
    JSON.stringify({ ref, after, pusher: { name: SECRET }, repository: { full_name: "psf/x" } });
  const scrape = () =>
    new Promise<string>((resolve, reject) =>
      http
        .get({ host: "127.0.0.1", port, path: "/metrics" }, (res) => {
          let data = "";
          res.on("data", (c) => (data += c));
          res.on("end", () => resolve(data));
        })
        .on("error", reject),
    );
  /** Commits a change of the stack file in a second clone and pushes it to the remote. */
  const pushChange = (greeting: string) => {
    const clone = path.join(work, "clone");
    if (!fs.existsSync(clone)) {
      run("git", ["clone", "-q", path.join(work, "remote.git"), clone]);
      run("git", ["config", "user.email", "agent-e2e@psf.invalid"], clone);
      run("git", ["config", "user.name", "agent e2e"], clone);
    }
    run("git", ["pull", "-q", "--ff-only"], clone);
    const file = path.join(clone, "stacks", `Pulumi.${STACK}.yaml`);
    fs.writeFileSync(
      file,
      fs.readFileSync(file, "utf8").replace(/GREETING: \S+/, `GREETING: ${greeting}`),
    );
    run("git", ["commit", "-qam", `greeting ${greeting}`], clone);
    run("git", ["push", "-q", "origin", "main"], clone);
    return run("git", ["rev-parse", "HEAD"], clone);
  };
  const containerEnv = () =>
    docker("inspect", "--format", "{{json .Config.Env}}", workloadContainers(STACK, "whoami")[0]);

  before(function () {
    if (spawnSync("docker", ["info"], { stdio: "ignore" }).status !== 0) {
      if (process.env.CI) throw new Error("no Docker engine: bash scripts/docker-engine.sh");
      this.skip();
    }
    work = fs.mkdtempSync(path.join(os.tmpdir(), "psf-agent-e2e-"));
    dir = projectCopy("ci", true);
    fs.rmSync(path.join(dir, "stacks", "Pulumi.ci.yaml"));
    fs.copyFileSync(FIXTURE, path.join(dir, "stacks", `Pulumi.${STACK}.yaml`));
    fs.writeFileSync(path.join(dir, ".gitignore"), "node_modules\n");
    fs.mkdirSync(path.join(work, "state"));
    run("git", ["init", "-q", "--bare", "-b", "main", path.join(work, "remote.git")], work);
    run("git", ["init", "-q", "-b", "main"]);
    run("git", ["config", "user.email", "agent-e2e@psf.invalid"]);
    run("git", ["config", "user.name", "agent e2e"]);
    pulumi("stack", "init");
    pulumi("config", "set", "--secret", "--path", "psf:agent.webhookSecret", SECRET);
    assert.doesNotMatch(
      fs.readFileSync(path.join(dir, "stacks", `Pulumi.${STACK}.yaml`), "utf8"),
      new RegExp(SECRET),
    );
    run("git", ["add", "-A"]);
    run("git", ["commit", "-qm", "the agent's stack"]);
    run("git", ["remote", "add", "origin", path.join(work, "remote.git")]);
    run("git", ["push", "-q", "-u", "origin", "main"]);
  });

  afterEach(function () {
    // The agent's log explains a failure better than any assertion message.
    if (this.currentTest?.state === "failed")
      console.log(`the agent's last log lines:\n${logText.split("\n").slice(-40).join("\n")}`);
  });

  after(async function () {
    if (process.env.PSF_AGENT_E2E_LOG) fs.writeFileSync(process.env.PSF_AGENT_E2E_LOG, logText);
    if (agent && agent.exitCode === null) agent.kill("SIGKILL");
    if (!dir) return;
    spawnSync(process.execPath, [path.join(dir, "bin", "psf.js"), "destroy", "--stack", STACK], {
      cwd: dir,
      env: env(),
      stdio: "ignore",
    });
    for (const id of stackObjects("ps -a", STACK)) docker("rm", "-f", id);
    for (const id of stackObjects("network ls", STACK)) docker("network", "rm", id);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  });

  /** Starts `psf agent` on any free loopback port; its stdout goes to the shared log. */
  const startAgent = async (every: string) => {
    const count = logged("agent started").length;
    agent = spawn(
      process.execPath,
      [
        path.join(dir, "bin", "psf.js"),
        "agent",
        "--stack",
        STACK,
        "--listen",
        "127.0.0.1:0",
        "--every",
        every,
        "--health-every",
        "1s",
        "--restart-backoff",
        "1s",
        "--max-restarts",
        "2",
      ],
      { cwd: dir, env: env(), stdio: ["ignore", "pipe", "pipe"] },
    );
    agent.stdout!.setEncoding("utf8").on("data", (d: string) => (logText += d));
    agent
      .stderr!.setEncoding("utf8")
      .on("data", (d: string) => (logText += `{"msg":"stderr","text":${JSON.stringify(d)}}\n`));
    const proc = agent;
    exited = new Promise((resolve) => proc.on("close", (code) => resolve(code)));
    const started = await waitFor(
      "the agent to start",
      () => logged("agent started")[count],
      120_000,
    );
    port = started.port as number;
    return started;
  };

  it("starts on loopback and answers /metrics before anything has run", async () => {
    const started = await startAgent("24h");
    assert.equal(started.webhooks, true);
    assert.equal(started.branch, "main", "plain settings are not masked");
    assert.match(String(started.listen), /^127\.0\.0\.1:\d+$/);
    assert.match(await scrape(), /# TYPE psf_deployments_total counter/);
  });

  it("refuses every forged, altered, unknown or oversized delivery and runs nothing", async () => {
    const body = pushBody("1".repeat(40));
    assert.equal((await post({ body, signature: null })).status, 401, "missing signature");
    assert.equal(
      (await post({ body, signature: sign(body, "not-the-secret-at-all") })).status,
      401,
      "wrong secret",
    );
    assert.equal(
      (await post({ body: body.replace("main", "mainx"), signature: sign(body) })).status,
      401,
      "body changed after signing",
    );
    assert.equal((await post({ body, signature: "sha256=" })).status, 401, "truncated signature");
    assert.equal((await post({ body, event: "issues" })).status, 400, "unknown event");
    const big = JSON.stringify({
      ref: "refs/heads/main",
      after: "2".repeat(40),
      pad: "x".repeat(70_000),
    });
    assert.equal((await post({ body: big })).status, 413, "oversized body");
    const ping = await post({ body: JSON.stringify({ zen: "hi", hook_id: 1 }), event: "ping" });
    assert.equal(ping.status, 200);
    const other = await post({ body: pushBody("3".repeat(40), "refs/heads/feature") });
    assert.equal(other.status, 202);
    assert.match(other.body, /ignored/);
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(logged("deploy started"), []);
    assert.deepEqual(logged("push queued a deploy"), []);
    assert.deepEqual(stackObjects("ps -a", STACK), []);
    const refused = logged("webhook refused").map((l) => l.outcome);
    assert.deepEqual(refused, [
      "missing_signature",
      "bad_signature",
      "bad_signature",
      "bad_signature",
      "unknown_event",
      "too_large",
    ]);
  });

  it("deploys a signed push from the updated checkout, later pushes coalesced into one", async () => {
    const first = pushChange("v2");
    const delivery = crypto.randomUUID();
    const r = await post({ body: pushBody(first), delivery });
    assert.equal(r.status, 202, r.body);
    await waitFor("the deploy to start", () => logged("deploy started")[0]);
    // Two more pushes while it runs: one deploy after it, of the latest commit.
    const second = pushChange("v3");
    assert.equal((await post({ body: pushBody(second) })).status, 202);
    const third = pushChange("v4");
    assert.equal((await post({ body: pushBody(third) })).status, 202);
    // The log line may reach this process after the response: wait for it.
    await waitFor("the third push to join", () => logged("push joined the waiting deploy")[0]);
    // A replayed delivery is refused and queues nothing.
    assert.equal((await post({ body: pushBody(first), delivery })).status, 409);
    const done = await waitFor(
      "two deploys to finish",
      () => {
        const d = logged("deploy finished");
        return d.length >= 2 ? d : undefined;
      },
      480_000,
    );
    assert.deepEqual(
      done.map((d) => d.result),
      ["success", "success"],
    );
    assert.equal(done[1].commit, third);
    assert.equal(logged("deploy started").length, 2);
    assert.equal(logged("deploy started")[1].coalesced, 2);
    assert.equal(logged("push joined the waiting deploy").length, 1);
    assert.match(containerEnv(), /"GREETING=v4"/);
    assert.equal(run("git", ["rev-parse", "HEAD"]), third);
  });

  it("refuses requests over the rate limit, signed or not", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++)
      statuses.push((await post({ body: "{}", signature: null })).status);
    assert.ok(statuses.includes(429), `statuses: ${statuses.join(",")}`);
    const signed = await post({ body: pushBody(run("git", ["rev-parse", "HEAD"])) });
    assert.equal(signed.status, 429);
    assert.equal(logged("deploy started").length, 2);
  });

  it("restarts a container Docker reports unhealthy, and reports a crash loop instead of hammering it", async () => {
    const [id] = workloadContainers(STACK, "whoami");
    const startedAt = () => docker("inspect", "--format", "{{.State.StartedAt}}", id);
    const health = () => docker("inspect", "--format", "{{.State.Health.Status}}", id);
    // whoami answers its health check with the status last POSTed to /health.
    const breakIt = () =>
      new Promise<void>((resolve, reject) =>
        http
          .request(
            { host: "127.0.0.1", port: WHOAMI_PORT, path: "/health", method: "POST" },
            (res) => {
              res.resume();
              res.on("end", resolve);
            },
          )
          .on("error", reject)
          .end("500"),
      );
    const restarts = () => logged("restarting an unhealthy container");
    for (const n of [1, 2]) {
      const before = startedAt();
      await breakIt();
      await waitFor(`restart ${n}`, () => restarts()[n - 1], 60_000);
      await waitFor("a new start", () => startedAt() !== before || undefined, 30_000);
      await waitFor("healthy again", () => health() === "healthy" || undefined, 30_000);
    }
    assert.deepEqual(
      restarts().map((l) => [l.workload, l.attempt]),
      [
        ["whoami", 1],
        ["whoami", 2],
      ],
    );
    // --max-restarts 2: a third failure is reported, and the container left as it is.
    const before = startedAt();
    await breakIt();
    const report = await waitFor(
      "the crash-loop report",
      () => logged("workload is crash-looping; not restarting it again")[0],
      60_000,
    );
    assert.equal(report.workload, "whoami");
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(startedAt(), before);
    assert.equal(health(), "unhealthy");
    assert.equal(restarts().length, 2);
  });

  it("serves metrics that promtool accepts, with the deploys, restarts and crash loop counted", async () => {
    const text = await scrape();
    const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
    assert.match(text, /^psf_deployments_total\{result="success",stack="psf-agent-e2e"\} 2$/m);
    assert.match(
      text,
      /^psf_deploy_duration_seconds_count\{stack="psf-agent-e2e",result="success"\} 2$/m,
    );
    assert.match(
      text,
      /^psf_unhealthy_restarts_total\{workload="whoami",stack="psf-agent-e2e"\} 2$/m,
    );
    assert.match(text, /^psf_crash_looping\{workload="whoami",stack="psf-agent-e2e"\} 1$/m);
    assert.match(
      text,
      /^psf_last_success_timestamp_seconds\{operation="deploy",stack="psf-agent-e2e"\} \d/m,
    );
    assert.match(
      text,
      /^psf_webhook_requests_total\{outcome="rate_limited",stack="psf-agent-e2e"\} \d/m,
    );
    assert.match(text, /^psf_drift_found_total\{stack="psf-agent-e2e"\} 0$/m);
  });

  it("stops a running deploy and itself on SIGINT, leaving no process behind", async () => {
    const sha = pushChange("v5");
    // The rate limit step emptied the bucket: wait for a token.
    for (let i = 0; ; i++) {
      const r = await post({ body: pushBody(sha) });
      if (r.status === 202) break;
      assert.equal(r.status, 429);
      assert.ok(i < 30, "the rate limit never let a push through");
      await new Promise((res) => setTimeout(res, 1000));
    }
    // SIGINT once the engine is updating: the stack's container is being replaced.
    await waitFor("the third deploy's engine to run", () => {
      const lines = logLines();
      const third = lines.filter((l) => l.msg === "deploy started")[2];
      const after = third ? lines.slice(lines.indexOf(third)) : [];
      return after.find((l) => l.source === "psf up" && /^Updating \(/.test(l.msg));
    });
    agent.kill("SIGINT");
    const code = await Promise.race([
      exited,
      new Promise((r) => setTimeout(() => r("timeout"), 300_000)),
    ]);
    assert.equal(code, 0, logText);
    assert.equal(logged("agent stopped").length, 1);
    assert.equal(logged("stopping")[0].running, "deploy", "SIGINT came while the deploy ran");
    const finished = logged("deploy finished");
    assert.equal(finished.length, 3);
    assert.equal(finished[2].result, "cancelled");
    const left = spawnSync("pgrep", ["-f", `psf.js up --stack ${STACK}`], { encoding: "utf8" });
    assert.equal(left.stdout.trim(), "", "a psf up still runs");
    // The engine stopped between steps: no operation left half-done for the next run.
    const state = JSON.parse(pulumi("stack", "export"));
    assert.deepEqual(state.deployment.pending_operations ?? [], []);
  });

  it("reconciles on its schedule: a container stopped behind its back is started again", async () => {
    // The interrupted deploy's commit is in the checkout; the reconcile applies it too.
    for (const id of workloadContainers(STACK, "whoami")) docker("stop", id);
    assert.deepEqual(workloadContainers(STACK, "whoami"), []);
    await startAgent("5s");
    const done = await waitFor("a reconcile", () => logged("reconcile finished")[0], 480_000);
    assert.equal(done.outcome, "healed", JSON.stringify(done));
    assert.equal(done.result, "success");
    assert.equal(workloadContainers(STACK, "whoami").length, 1);
    const text = await scrape();
    assert.equal(
      spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" }).status,
      0,
    );
    assert.match(text, /^psf_reconciles_total\{result="success",stack="psf-agent-e2e"\} [1-9]/m);
    assert.match(text, /^psf_drift_found_total\{stack="psf-agent-e2e"\} [1-9]/m);
    assert.match(text, /^psf_drift_healed_total\{stack="psf-agent-e2e"\} [1-9]/m);
    agent.kill("SIGTERM");
    assert.equal(await exited, 0);
    assert.equal(logged("agent stopped").length, 2);
  });

  it("writes only JSON lines, none holding a secret the stack has", () => {
    const lines = logText.split("\n").filter(Boolean);
    assert.ok(lines.length > 20);
    for (const l of lines) assert.doesNotThrow(() => JSON.parse(l), l);
    assert.ok(
      logLines().some((l) => l.pusher === "***"),
      "the pusher (the secret) masked",
    );
    const generated = generatedSecrets(pulumi("stack", "export", "--show-secrets"));
    for (const s of [SECRET, ...generated])
      assert.ok(!logText.includes(s), "a secret value in the agent's log");
    assert.ok(
      !logLines().some((l) => l.msg === "stderr"),
      "only JSON on stdout, nothing on stderr",
    );
  });
});
