import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as automation from "@pulumi/pulumi/automation";
import { toolchainEnv } from "../../cli/engine";
import {
  STACK,
  assertNoSecretIn,
  destroyAsPsf,
  docker,
  editStack,
  engineEnv,
  generatedSecrets,
  projectCopy,
  psfIn,
  pulumiIn,
  request,
  sh,
  stackObjects,
  workloadContainers,
} from "./support";

/**
 * The ci stack on a real Docker engine with the real Pulumi engine (Automation API, local
 * file:// backend, passphrase secrets). Steps build on each other, in order.
 */
describe("the ci stack, end to end", function () {
  this.timeout(900_000);
  let dir: string;
  let stack: automation.Stack;
  let ca: string;
  let upOutput = "";
  const timings: Record<string, number> = {};
  const env = () => ({ ...toolchainEnv(), ...engineEnv(dir) });
  const cli = (...args: string[]) => pulumiIn(dir, STACK, env(), ...args);
  const demoContainers = () => workloadContainers(STACK, "demo");
  const psf = (...args: string[]) => psfIn(dir, STACK, env(), ...args);
  const destroy = () => destroyAsPsf(stack);

  before(async () => {
    dir = projectCopy(STACK, true);
    fs.mkdirSync(path.join(dir, "state"));
    stack = await automation.LocalWorkspace.createOrSelectStack(
      { stackName: STACK, workDir: dir },
      { envVars: env() },
    );
  });

  after(async () => {
    if (stackObjects("ps -a").length) await destroy().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(path.join(__dirname, "..", "..", "bench", "results"), { recursive: true });
    fs.writeFileSync(
      path.join(__dirname, "..", "..", "bench", "results", "e2e.json"),
      JSON.stringify({ date: new Date().toISOString(), timings }, null, 2) + "\n",
    );
  });

  it("comes up from nothing: nginx with TLS reaches the app, whose data lands in postgres", async () => {
    const t0 = Date.now();
    const res = await stack.up({ color: "never", onOutput: (o) => (upOutput += o) });
    timings.upFromNothingMs = Date.now() - t0;
    assert.equal(res.summary.result, "succeeded");
    const exported = JSON.parse(cli("stack", "export"));
    ca = exported.deployment.resources.find(
      (r: any) => r.type === "tls:index/selfSignedCert:SelfSignedCert",
    ).outputs.certPem;
    assert.match(ca, /BEGIN CERTIFICATE/);
    assert.equal((await request(ca, "POST", "hello from e2e")).status, 201);
    assert.match((await request(ca, "GET")).body, /hello from e2e/);
    assert.equal(
      sh(
        `docker exec psf-${STACK}-postgres psql -U postgres -d demo -Atc "select body from notes"`,
      ),
      "hello from e2e",
    );
  });

  it("previews no changes right after", async () => {
    const t0 = Date.now();
    const res = await stack.preview({ color: "never" });
    timings.noopPreviewMs = Date.now() - t0;
    const changes = Object.entries(res.changeSummary).filter(
      ([op, n]) => op !== "same" && (n ?? 0) > 0,
    );
    assert.deepEqual(changes, []);
    const t1 = Date.now();
    const up = await stack.up({ color: "never" });
    timings.noopUpMs = Date.now() - t1;
    assert.deepEqual(
      Object.keys(up.summary.resourceChanges ?? {}).filter((k) => k !== "same"),
      [],
    );
  });

  it("shows no generated secret in the up output, the stack outputs or the plain state", () => {
    const secrets = generatedSecrets(cli("stack", "export", "--show-secrets"));
    assert.ok(secrets.length >= 3, `generated secrets: ${secrets.length}`);
    assertNoSecretIn(secrets, {
      "the up output": upOutput,
      "stack output": cli("stack", "output", "--json"),
      "the plain state": cli("stack", "export"),
    });
  });

  it("finds a container removed behind its back with refresh, and the next up recreates it", async () => {
    const [demo] = demoContainers();
    docker("rm", "-f", demo);
    const refresh = await stack.refresh({ color: "never" });
    assert.ok(
      (refresh.summary.resourceChanges?.delete ?? 0) >= 1,
      JSON.stringify(refresh.summary.resourceChanges),
    );
    assert.equal((await stack.up({ color: "never" })).summary.result, "succeeded");
    assert.equal(demoContainers().length, 1);
    assert.match((await request(ca, "GET")).body, /hello from e2e/);
  });

  it("keeps the old release serving when the new one fails its health check, and heals on revert", async () => {
    const before = demoContainers();
    editStack(dir, (c) => (c["psf:services"].demo.env.DEMO_BROKEN = "1"));
    await assert.rejects(stack.up({ color: "never" }));
    assert.ok(demoContainers().includes(before[0]), "the old container still runs");
    assert.match((await request(ca, "GET")).body, /hello from e2e/);
    editStack(dir, (c) => delete c["psf:services"].demo.env.DEMO_BROKEN);
    assert.equal((await stack.up({ color: "never" })).summary.result, "succeeded");
    assert.equal((await request(ca, "GET")).status, 200);
  });

  it("restores deleted rows with the printed restore command after the backup job ran", async () => {
    const services = (await stack.outputs()).services.value as Record<
      string,
      Record<string, string>
    >;
    sh(services.demo.backupCommand);
    sh(`docker exec psf-${STACK}-postgres psql -U postgres -d demo -c "delete from notes"`);
    assert.equal((await request(ca, "GET")).body, "");
    sh(services.demo.restoreCommand);
    assert.match((await request(ca, "GET")).body, /hello from e2e/);
  });

  it("backs up, lists and restores through psf backup, every secret of the stack masked", async () => {
    const revealed = cli("stack", "export", "--show-secrets");
    const run = psf("backup", "run", "demo");
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /psf: backup of demo done in [\d.]+ s/);
    const list = psf("backup", "list", "demo");
    assert.equal(list.status, 0, list.stderr);
    const archives = list.stdout.match(/demo-\S+/g) ?? [];
    assert.ok(archives.length >= 2, list.stdout);

    sh(`docker exec psf-${STACK}-postgres psql -U postgres -d demo -c "delete from notes"`);
    // Without a terminal to ask on, a restore needs --yes: nothing is touched.
    const unconfirmed = psf("backup", "restore", "demo");
    assert.equal(unconfirmed.status, 2);
    assert.match(unconfirmed.stderr, /not confirmed[\s\S]*hint: .*--yes/);
    assert.equal((await request(ca, "GET")).body, "");
    const restore = psf(
      "backup",
      "restore",
      "demo",
      "--snapshot",
      archives[archives.length - 1],
      "--yes",
    );
    assert.equal(restore.status, 0, restore.stderr);
    assert.match((await request(ca, "GET")).body, /hello from e2e/);

    // A snapshot that does not exist: exit 1 with the tool's reason, no retry.
    const missing = psf("backup", "restore", "demo", "--snapshot", "demo-no-such-run", "--yes");
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /error: restore of demo failed \(exit \d+: .+\)/);
    assert.doesNotMatch(missing.stderr, /retry/);

    // What it masks: every generated secret in the real state.
    const { stackSecretValues } = await import("../../cli/stack-secrets");
    const masked = await stackSecretValues(stack, await stack.outputs());
    const secrets = generatedSecrets(revealed);
    for (const s of secrets) assert.ok(masked.includes(s), "a generated secret is masked");
    assertNoSecretIn(secrets, {
      "psf backup's output": [run, list, restore, missing]
        .map((r) => r.stdout + r.stderr)
        .join("\n"),
    });
  });

  it("proves the newest snapshot restores with a drill in the backup container, and psf status reports both", () => {
    const verify = psf("backup", "verify", "demo");
    const out = verify.stdout + verify.stderr;
    assert.equal(verify.status, 0, out);
    // The dump loaded into a throwaway PostgreSQL, row counts equal to those of the backup.
    assert.match(out, /DRILL PASSED: demo-\S+/);
    const status = psf("status", "--json");
    assert.equal(status.status, 0, status.stderr);
    const demo = JSON.parse(status.stdout).services.find((s: any) => s.name === "demo");
    assert.equal(demo.backup.backup.result, "ok");
    assert.equal(demo.backup.drill.result, "ok");
    assert.deepEqual(demo.backup.alerts, []);
    // Its container's health check, as Docker reports it.
    assert.equal(demo.health, "healthy");
    const table = psf("status");
    assert.match(table.stdout, /^SERVICE\s+URL\s+HEALTH\s+LAST BACKUP\s+LAST DRILL\s+ALERTS/m);
    assert.match(table.stdout, /^demo\s+https:\/\/demo\.psf-ci\.localhost:18443\s+healthy\s+ok /m);
  });

  it("takes a snapshot before an image change replaces the database, and restoring it rolls back later rows", async () => {
    // The same PostgreSQL under a new image id, as a version bump would give.
    sh(
      "docker rm -f psf-e2e-bump >/dev/null 2>&1; docker create --name psf-e2e-bump psf/postgres:ci >/dev/null && " +
        "docker commit -c 'LABEL psf.e2e=bumped' psf-e2e-bump psf-e2e/postgres:bumped >/dev/null && docker rm psf-e2e-bump >/dev/null",
    );
    const [before] = workloadContainers(STACK, "postgres");
    const images = (c: Record<string, any>, postgres: string) =>
      (c["psf:images"].postgres = postgres);

    // A backup that cannot run stops the change: the old database keeps serving.
    docker("stop", `psf-${STACK}-backup-demo`);
    editStack(dir, (c) => images(c, "psf-e2e/postgres:bumped"));
    const refused = psf("up");
    assert.notEqual(refused.status, 0);
    assert.match(
      refused.stdout + refused.stderr,
      /psf: the snapshot of demo before postgres changes failed, so postgres was left as it is/,
    );
    assert.deepEqual(workloadContainers(STACK, "postgres"), [before]);
    assert.match((await request(ca, "GET")).body, /hello from e2e/);

    docker("start", `psf-${STACK}-backup-demo`);
    const up = psf("up");
    const log = up.stdout + up.stderr;
    assert.equal(up.status, 0, log.slice(-4000));
    const id = /psf: snapshot (\S+) of demo taken before postgres changes/.exec(log)?.[1];
    assert.ok(id, `no snapshot named in the up output:\n${log.slice(-3000)}`);
    assert.match(log, new RegExp(`psf backup restore --stack ${STACK} demo --snapshot ${id}`));
    const [after] = workloadContainers(STACK, "postgres");
    assert.notEqual(after, before, "postgres was not replaced");
    assert.equal(
      docker("inspect", "--format", "{{.Image}}", after),
      docker("image", "inspect", "--format", "{{.Id}}", "psf-e2e/postgres:bumped"),
    );

    assert.equal((await request(ca, "POST", "written after the snapshot")).status, 201);
    assert.match((await request(ca, "GET")).body, /written after the snapshot/);
    const restore = psf("backup", "restore", "demo", "--snapshot", id, "--yes");
    assert.equal(restore.status, 0, restore.stderr);
    const body = (await request(ca, "GET")).body;
    assert.match(body, /hello from e2e/);
    assert.doesNotMatch(body, /written after the snapshot/);
  });

  it("completes on the next up after an up interrupted with SIGINT", async () => {
    editStack(dir, (c) => (c["psf:services"].demo.env.RELEASE = "2"));
    const child = spawn("pulumi", ["up", "--yes", "--stack", STACK, "--non-interactive"], {
      cwd: dir,
      env: { ...process.env, ...env() },
    });
    await new Promise((r) => setTimeout(r, 4000));
    child.kill("SIGINT");
    await new Promise((r) => child.on("exit", r));
    // A cancelled update may leave pending operations: the next up clears them and finishes.
    const res = await stack.up({ color: "never" });
    assert.equal(res.summary.result, "succeeded");
    assert.match((await request(ca, "GET")).body, /hello from e2e/);
  });

  it("destroy leaves no container, network or volume of the stack", async () => {
    assert.equal((await destroy()).summary.result, "succeeded");
    assert.deepEqual(stackObjects("ps -a"), []);
    assert.deepEqual(stackObjects("network ls"), []);
    assert.deepEqual(stackObjects("volume ls"), []);
  });
});
