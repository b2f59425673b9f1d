import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { PlannedResource, evaluate } from "../../cli/mock-engine";
import { readStackFile } from "../../components/stack-file";
import { runProgram } from "../../components/program";
import { PsfStack } from "../../components/stack";
import { registry } from "../../providers";
import { localOutputs } from "./local-outputs";
import { HOST, request } from "../e2e/support";
import { DockerRealizer } from "./realize";

const ROOT = path.join(__dirname, "..", "..");
const IMAGES = ["psf/postgres:ci", "psf/nginx:ci", "psf/borg:ci", "psf/demo:ci"];

/** The Docker engine and the Debian-built images (.ci/run starts and builds them). */
function requireDocker(ctx: Mocha.Context): void {
  const ok =
    spawnSync("docker", ["info"], { stdio: "ignore" }).status === 0 &&
    IMAGES.every(
      (i) => spawnSync("docker", ["image", "inspect", i], { stdio: "ignore" }).status === 0,
    );
  if (ok) return;
  if (process.env.PSF_REQUIRE_REAL === "1")
    throw new Error(
      "no Docker engine or images: run scripts/docker-engine.sh && scripts/build-images.sh",
    );
  console.warn("  skipped: no Docker engine or psf/* images (npm run images)");
  ctx.skip();
}

const sh = (command: string) =>
  execFileSync("sh", ["-c", command], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  }).trim();
const psql = (sql: string) =>
  sh(`docker exec psf-ci-postgres psql -U postgres -d demo -Atc ${JSON.stringify(sql)}`);

/**
 * The ci stack's workloads on a real Docker engine: every container, file, env var, volume and
 * network exactly as the program declares them, created by the docker CLI (the Pulumi plugins
 * cannot be built here, docs/toolchain.md), with real keys and certificates. What runs is real:
 * PostgreSQL provisioned by its start script, nginx terminating TLS with the stack CA, the demo
 * app, borg backing up and restoring with the commands the stack prints.
 */
describe("the ci stack's workloads on a real Docker engine", function () {
  this.timeout(600_000);
  const realizer = new DockerRealizer();
  let plan: PlannedResource[];
  let services: Record<string, Record<string, string>>;
  let ca = "";

  before(async function () {
    requireDocker(this);
    const { raw } = readStackFile(path.join(ROOT, "stacks", "Pulumi.ci.yaml"));
    let stack: PsfStack | undefined;
    plan = await evaluate(
      registry,
      raw,
      "ci",
      (r, s) => (stack = runProgram(registry, { raw: r, stackName: s })),
      (type, name, inputs) => {
        const out = localOutputs(type, name, inputs);
        if (type === "tls:index/selfSignedCert:SelfSignedCert") ca = String(out.certPem);
        return out;
      },
    );
    services = await new Promise((resolve) =>
      pulumi.output(stack!.services).apply((s) => resolve(s as any)),
    );
    // Leftovers of an interrupted run would hold the names and ports.
    spawnSync(
      "sh",
      [
        "-c",
        "docker ps -aq --filter label=psf.stack=ci | xargs -r docker rm -f -v; docker network rm psf-ci; docker volume ls -q --filter label=psf.stack=ci | xargs -r docker volume rm",
      ],
      { stdio: "ignore" },
    );
    realizer.up(plan);
  });

  after(() => realizer.down());

  it("provisions the app's database and role in PostgreSQL and passes every health check", () => {
    // Scheduled jobs (backups, drills: component "backup") have no health check.
    const servers = realizer.containers.filter(
      (c) =>
        sh(`docker inspect --format '{{index .Config.Labels "psf.component"}}' ${c}`) !== "backup",
    );
    assert.ok(servers.length >= 3, `servers: ${servers.join(", ")}`);
    for (const c of servers)
      assert.equal(sh(`docker inspect --format '{{.State.Health.Status}}' ${c}`), "healthy", c);
    assert.equal(
      sh(
        `docker exec psf-ci-postgres psql -U postgres -Atc "select datname from pg_database where datname = 'demo'"`,
      ),
      "demo",
    );
    assert.equal(
      sh(
        `docker exec psf-ci-postgres psql -U postgres -Atc "select pg_get_userbyid(datdba) from pg_database where datname = 'demo'"`,
      ),
      "demo",
    );
  });

  it("serves the app over HTTPS through nginx with the stack CA's certificate, and its data lands in postgres", async () => {
    assert.match(ca, /BEGIN CERTIFICATE/);
    assert.equal((await request(ca, "POST", "hello through nginx")).status, 201);
    const got = await request(ca, "GET");
    assert.equal(got.status, 200);
    assert.match(got.body, /hello through nginx/);
    assert.equal(psql("select body from notes"), "hello through nginx");
  });

  it("redirects plain HTTP to HTTPS and sends HSTS", () => {
    const head = sh(
      `curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Host: ${HOST}' http://127.0.0.1:18080/x`,
    );
    assert.equal(head, `301 https://${HOST}:18443/x`);
    const hsts = sh(
      `curl -s -D - -o /dev/null --cacert /dev/stdin --resolve ${HOST}:18443:127.0.0.1 https://${HOST}:18443/ <<'EOF'\n${ca}\nEOF`,
    );
    assert.match(hsts, /strict-transport-security: max-age=/i);
  });

  it("backs up with the printed backupCommand and brings deleted rows back with the printed restoreCommand", () => {
    assert.ok(services.demo.backupCommand, JSON.stringify(services.demo));
    sh(services.demo.backupCommand);
    assert.match(sh(services.demo.listCommand), /demo/);
    psql("delete from notes");
    assert.equal(psql("select count(*) from notes"), "0");
    sh(services.demo.restoreCommand);
    assert.equal(psql("select body from notes"), "hello through nginx");
  });

  it("applies a changed nginx config with a reload, not a restart", () => {
    const started = sh("docker inspect --format '{{.State.StartedAt}}' psf-ci-nginx");
    const reload = plan.find(
      (r) => r.type === "command:local:Command" && r.name === "nginx-reload",
    )!;
    assert.ok(reload, "nginx has a reload command");
    // Running the reload step again (as `up` does when only files change) keeps the same process.
    realizer.run(reload);
    assert.equal(sh("docker inspect --format '{{.State.StartedAt}}' psf-ci-nginx"), started);
  });
});
