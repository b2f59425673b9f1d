import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { stackLocks } from "../../cli/stack-lock";
import {
  assertNoSecretIn,
  docker,
  editStack,
  engineEnv,
  projectCopy,
  pulumiIn,
  stackObjects,
  workloadContainers,
} from "./support";

/**
 * `psf reconcile` on a stack of its own (test/e2e/reconcile-stack.yaml: one whoami service with
 * a generated secret in its env), on the real Docker engine with the real Pulumi engine. Drift
 * is made behind PSF's back with the docker CLI. Steps build on each other, in order.
 */
describe("psf reconcile, end to end", function () {
  this.timeout(900_000);
  // Docker objects are named psf-<stack>: psf-reconcile-<unique>.
  const STACK = `reconcile-${Date.now().toString(36)}`;
  // The container made by hand (not PSF's: without its labels), removed at the end.
  let handMade: string | undefined;
  let dir: string;
  const env = () => ({ ...process.env, ...engineEnv(dir), PSF_FROM_SOURCE: "1" });
  const args = (a: string[]) => [path.join(dir, "bin", "psf.js"), ...a, "--stack", STACK];
  const psf = (...a: string[]) => {
    const r = spawnSync(process.execPath, args(a), { cwd: dir, env: env(), encoding: "utf8" });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const psfAsync = (...a: string[]) => {
    const child = spawn(process.execPath, args(a), { cwd: dir, env: env() });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const done = new Promise<{ code: number | null; out: string }>((resolve) =>
      child.on("exit", (code) => resolve({ code, out })),
    );
    return { child, done, output: () => out };
  };
  const reconcile = (...a: string[]) => {
    const r = psf("reconcile", "--json", ...a);
    let report: any;
    try {
      report = JSON.parse(r.stdout);
    } catch {
      assert.fail(`no JSON on stdout (exit ${r.code}):\n${r.stdout}\n${r.stderr.slice(-3000)}`);
    }
    assert.equal(report.exitCode, r.code, "the report's exitCode is the process's");
    return { ...r, report };
  };
  const whoami = () => {
    const ids = workloadContainers(STACK, "whoami");
    assert.equal(ids.length, 1, `running whoami containers: ${ids.join(" ")}`);
    return ids[0];
  };
  const inspect = (id: string, format: string) => docker("inspect", "--format", format, id);
  const waitFor = async (what: string, ok: () => boolean, ms = 120_000) => {
    const until = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const locks = () => stackLocks(STACK, path.join(dir, "state"));
  let secret: string;
  const outputs: string[] = [];

  before(function () {
    dir = projectCopy(STACK, true, path.join(__dirname, "reconcile-stack.yaml"));
    fs.mkdirSync(path.join(dir, "state"));
    const up = psf("up");
    assert.equal(up.code, 0, up.stdout.slice(-2000) + up.stderr.slice(-3000));
    secret = /WHOAMI_TOKEN=(.*)/.exec(inspect(whoami(), "{{json .Config.Env}}"))![1].split('"')[0];
    assert.ok(secret.length >= 16, "the generated token is in the container's env");
  });

  after(function () {
    if (handMade) spawnSync("docker", ["rm", "-f", handMade]);
    if (!dir) return;
    const destroy = psf("destroy");
    if (destroy.code !== 0) process.stderr.write(destroy.stderr);
    assert.deepEqual(stackObjects("ps -a", STACK), []);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("reports no drift right after up (exit 0)", () => {
    const r = reconcile();
    outputs.push(r.stdout, r.stderr);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assert.equal(r.report.outcome, "noDrift");
    assert.deepEqual(r.report.drift, []);
    assert.deepEqual(r.report.changes, []);
  });

  it("dry run: reports a stopped container field by field and leaves it stopped (exit 5)", () => {
    const id = whoami();
    docker("stop", id);
    const r = reconcile("--dry-run");
    outputs.push(r.stdout, r.stderr);
    assert.equal(r.code, 5, r.stderr.slice(-3000));
    assert.equal(r.report.outcome, "driftFound");
    const drift = r.report.drift.find((d: any) => d.resource === "whoami");
    assert.ok(drift, JSON.stringify(r.report.drift));
    assert.equal(drift.type, "docker:index/container:Container");
    assert.deepEqual(
      drift.fields.find((f: any) => f.field === "mustRun"),
      { field: "mustRun", before: true, after: false },
    );
    assert.ok(r.report.changes.some((c: any) => c.resource === "whoami"));
    assert.equal(inspect(id, "{{.State.Running}}"), "false", "the dry run started it");
    // Nor did it accept the drift into the state: a second dry run finds it again.
    assert.equal(reconcile("--dry-run").code, 5);
  });

  it("heals the stopped container (exit 4), and a second reconcile finds no drift", async () => {
    const r = reconcile();
    outputs.push(r.stdout, r.stderr);
    assert.equal(r.code, 4, r.stderr.slice(-3000));
    assert.equal(r.report.outcome, "healed");
    assert.ok(r.report.drift.some((d: any) => d.resource === "whoami"));
    // Started again: its health check passes soon after.
    await waitFor(
      "whoami healthy",
      () => inspect(whoami(), "{{.State.Health.Status}}") === "healthy",
    );
    const again = reconcile();
    assert.equal(again.code, 0, JSON.stringify(again.report, null, 2));
    assert.deepEqual(again.report.drift, []);
  });

  it("reports a restart policy changed behind its back, before and after, and puts it back", () => {
    docker("update", "--restart", "no", whoami());
    const human = psf("reconcile");
    outputs.push(human.stdout, human.stderr);
    assert.equal(human.code, 4, human.stderr.slice(-3000));
    assert.match(human.stdout, /drift: whoami \(docker:index\/container:Container\)/);
    assert.match(human.stdout, /restart: "unless-stopped" -> "no"/);
    assert.match(
      human.stdout,
      /psf: reconcile \S+: 1 drifted resource; healed \(.*whoami.*\) \(exit 4/,
    );
    assert.equal(inspect(whoami(), "{{.HostConfig.RestartPolicy.Name}}"), "unless-stopped");
  });

  it("replaces a container recreated by hand with other env, secrets masked in the report", () => {
    const id = whoami();
    const network = inspect(id, "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}");
    const name = inspect(id, "{{.Name}}").replace(/^\//, "");
    docker("rm", "-f", id);
    // The same name, image and network, another env: what someone fixing things by hand does.
    handMade = name;
    docker(
      "run",
      "-d",
      "--name",
      name,
      "--network",
      network,
      "-e",
      "GREETING=changed by hand",
      "-e",
      `WHOAMI_TOKEN=${secret}`,
      "psf/whoami:ci",
    );
    const r = reconcile();
    outputs.push(r.stdout, r.stderr);
    assert.equal(r.code, 4, r.stderr.slice(-3000));
    const drift = r.report.drift.find((d: any) => d.resource === "whoami");
    assert.equal(drift?.kind, "missing", JSON.stringify(r.report.drift));
    assert.ok(
      r.report.changes.some((c: any) => c.resource === "whoami" && c.op === "create"),
      JSON.stringify(r.report.changes),
    );
    const envs = inspect(whoami(), "{{json .Config.Env}}");
    assert.match(envs, /"GREETING=hello"/);
    assert.doesNotMatch(envs, /changed by hand/);
  });

  it("refuses a second reconcile and a second up while one runs, naming who holds the lock and since when", async () => {
    // Something to do, so the first run holds the lock for a while: a new release.
    editStack(dir, (c) => (c["psf:services"].whoami.env.RELEASE = "2"), STACK);
    const first = psfAsync("up");
    await waitFor("the first run's lock", () => locks().length > 0, 300_000);
    const [lock] = locks();
    const second = reconcile();
    assert.equal(second.code, 6, second.stderr);
    assert.equal(second.report.outcome, "locked");
    assert.deepEqual(second.report.lockedBy, [
      { username: lock.username, hostname: lock.hostname, pid: lock.pid, since: lock.timestamp },
    ]);
    const pattern = new RegExp(
      `error: stack ${STACK} is locked[\\s\\S]*held by ${lock.username}@${lock.hostname} \\(pid ${lock.pid}\\) since ${lock.timestamp.replace(/[.+]/g, "\\$&")}`,
    );
    assert.match(second.stderr, pattern);
    const up = psf("up");
    assert.equal(up.code, 6, up.stderr);
    assert.match(up.stderr, pattern);
    // The holder is a live process of the first run (the engine it started).
    assert.doesNotThrow(() => process.kill(lock.pid, 0));
    const done = await first.done;
    assert.equal(done.code, 0, done.out.slice(-3000));
    assert.deepEqual(locks(), []);
  });

  it("stops psf up cleanly on SIGINT (exit 130), and the next psf up finishes the change", async () => {
    editStack(dir, (c) => (c["psf:services"].whoami.env.RELEASE = "3"), STACK);
    const run = psfAsync("up");
    // Interrupted while the engine works on the stack: its new container is being created.
    await waitFor("the update to start", () => /whoami creating/.test(run.output()), 300_000);
    run.child.kill("SIGINT");
    const stopped = await run.done;
    assert.equal(stopped.code, 130, stopped.out.slice(-3000));
    assert.match(stopped.out, /psf: SIGINT: cancelling/);
    assert.deepEqual(locks(), [], "the lock is released");
    const next = psf("up");
    assert.equal(next.code, 0, next.stdout.slice(-2000) + next.stderr.slice(-3000));
    assert.match(inspect(whoami(), "{{json .Config.Env}}"), /"RELEASE=3"/);
    const r = reconcile();
    assert.equal(r.code, 0, JSON.stringify(r.report, null, 2));
  });

  it("records per-resource timeouts in the state: the container's bound covers its health check", () => {
    const exported = pulumiIn(dir, STACK, engineEnv(dir), "stack", "export");
    const resources = JSON.parse(exported).deployment.resources as any[];
    const of = (type: string) => resources.find((x) => x.type === type)?.customTimeouts ?? {};
    // The state keeps seconds; read "330s"/"20m" too, in case a version keeps the option's text.
    const secs = (v: unknown) =>
      typeof v === "number"
        ? v
        : Number(/^(\d+)s$/.exec(String(v))?.[1] ?? Number(/^(\d+)m$/.exec(String(v))?.[1]) * 60);
    // The container's bound: its health check's, as Docker reports it, plus 300 s to start.
    const hc = JSON.parse(inspect(whoami(), "{{json .Config.Healthcheck}}"));
    const ns = 1e9;
    const healthBound =
      (hc.StartPeriod ?? 0) / ns + hc.Retries * ((hc.Interval + hc.Timeout) / ns) + 30;
    const container = of("docker:index/container:Container");
    assert.equal(secs(container.create), healthBound + 300, JSON.stringify(container));
    assert.equal(secs(container.update), healthBound + 300);
    assert.equal(secs(container.delete), 300);
    assert.equal(secs(of("docker:index/remoteImage:RemoteImage").create), 1200);
    // pulumi-docker ignores timeouts on networks and volumes and warns on every up: none are set.
    assert.deepEqual(of("docker:index/network:Network"), {});
    assert.deepEqual(of("docker:index/volume:Volume"), {});
  });

  it("prints no secret value of the stack in any report or log", () => {
    assertNoSecretIn([secret], { "psf reconcile's output": outputs.join("\n") });
  });
});
