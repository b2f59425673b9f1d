import { strict as assert } from "assert";
import { SpawnSyncReturns, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { browserChecks, chromiumAvailable } from "./browser";
import {
  ROOT,
  assertNoSecretIn,
  docker,
  editStack,
  engineEnv,
  generatedSecrets,
  httpsRequest,
  projectCopy,
  pulumiIn,
  sh,
  stackObjects,
  workloadContainers,
} from "./support";

const STACK = "dev";
const DOMAIN = "psf.localhost";
const HTTPS_PORT = 8443;
const url = (sub: string) => `https://${sub}.${DOMAIN}:${HTTPS_PORT}`;
const SCREENSHOTS = path.join(ROOT, "test-results", "browser");

/** GET through nginx on loopback, the certificate checked against the stack CA. */
const get = (ca: string, host: string, p = "/") =>
  httpsRequest({ ca, host, port: HTTPS_PORT, path: p });

/**
 * The README's main job as a user runs it: `psf up --stack dev` brings the whole dev stack up
 * (PostgreSQL, Authelia, nginx, borg, whoami behind forward auth, Miniflux signing in with
 * OIDC) from the upstream image names, with local equivalents built where no registry
 * answers. Then a real browser signs people in, and the stack is checked for idempotence,
 * leaked secrets, restorable backups, a health check that names what failed, and a clean destroy.
 */
describe("the dev stack, brought up by psf up as the README says", function () {
  this.timeout(2_400_000);
  let dir: string;
  let upLog = "";
  let ca = "";
  const timings: Record<string, number> = {};
  const env = () => ({ ...process.env, ...engineEnv(dir) });
  const psf = (...args: string[]): SpawnSyncReturns<string> =>
    spawnSync(process.execPath, [path.join(dir, "bin", "psf.js"), ...args, "--stack", STACK], {
      cwd: dir,
      env: env(),
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
  const pulumi = (...args: string[]) => pulumiIn(dir, STACK, engineEnv(dir), ...args);
  const output = (name: string, ...flags: string[]) => {
    const r = psf("output", name, ...flags);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const container = (workload: string) => workloadContainers(STACK, workload);
  const minifluxUsers = () =>
    sh(
      `docker exec psf-${STACK}-postgres psql -U postgres -d miniflux -Atc "select username from users order by 1"`,
    );

  before(function () {
    if (stackObjects("ps -a", STACK).length)
      throw new Error(
        `a stack named ${STACK} already runs on this Docker engine; destroy it first (npm run destroy)`,
      );
    if (!chromiumAvailable()) {
      if (process.env.PSF_REQUIRE_REAL === "1")
        throw new Error("no Chromium: apt-get install chromium (and npm ci for playwright-core)");
      this.skip();
    }
    dir = projectCopy(STACK, true);
  });

  after(function () {
    if (dir && stackObjects("ps -a", STACK).length) psf("destroy");
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    const results = path.join(ROOT, "bench", "results");
    fs.mkdirSync(results, { recursive: true });
    fs.writeFileSync(
      path.join(results, "e2e-dev.json"),
      JSON.stringify({ date: new Date().toISOString(), timings }, null, 2) + "\n",
    );
  });

  it("comes up from nothing, printing each prerequisite step, the URLs and how to sign in", () => {
    const t0 = Date.now();
    const r = psf("up");
    timings.upFromNothingMs = Date.now() - t0;
    upLog = r.stdout + r.stderr;
    assert.equal(r.status, 0, upLog.slice(-4000));
    for (const step of [/psf: Docker engine: running/, /psf: Pulumi CLI: /, /psf: health probe: /])
      assert.match(r.stderr, step);
    assert.match(r.stdout, new RegExp(`whoami\\s+${url("whoami")}`));
    assert.match(r.stdout, new RegExp(`miniflux\\s+${url("miniflux")}`));
    assert.match(r.stdout, new RegExp(`Sign in at ${url("auth")} as alice, bob`));
    assert.match(r.stdout, /npx psf output accounts --stack dev --show-secrets/);
    ca = output("caPem");
    assert.match(ca, /BEGIN CERTIFICATE/);
  });

  it("runs whoami's HTTP health check in its image, which has no shell", () => {
    const [whoami] = container("whoami");
    const health = JSON.parse(docker("inspect", "--format", "{{json .State.Health}}", whoami));
    assert.equal(health.Status, "healthy");
    assert.match(health.Log.at(-1).Output, /GET http:\/\/127\.0\.0\.1:80\/health: 200/);
    const shell = spawnSync("docker", ["exec", whoami, "/bin/sh", "-c", "true"], {
      encoding: "utf8",
    });
    assert.notEqual(shell.status, 0, "whoami's image has a shell; the test proves nothing");
  });

  it("serves the portal with a certificate of the stack CA, and sends a stranger to it", async () => {
    assert.equal((await get(ca, `auth.${DOMAIN}`, "/api/health")).status, 200);
    const whoami = await get(ca, `whoami.${DOMAIN}`);
    assert.equal(whoami.status, 302);
  });

  it("signs alice in through a real browser, refuses bob, and lands alice in Miniflux over OIDC", async () => {
    const accounts = JSON.parse(output("accounts", "--show-secrets", "--json"));
    assert.deepEqual(Object.keys(accounts).sort(), ["alice", "bob"]);
    await browserChecks({
      urls: { whoami: url("whoami"), miniflux: url("miniflux"), portal: url("auth") },
      accounts,
      caPem: ca,
      screenshots: SCREENSHOTS,
    });
    assert.equal(
      minifluxUsers(),
      "alice",
      "Miniflux created alice's account from her OIDC sign-in",
    );
  });

  it("previews no changes right after", () => {
    const t0 = Date.now();
    const r = psf("preview");
    timings.noopPreviewMs = Date.now() - t0;
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /psf: preview: no changes/);
  });

  it("shows no generated secret in the up output, the stack outputs or the plain state", () => {
    const secrets = generatedSecrets(pulumi("stack", "export", "--show-secrets"));
    // database passwords, Authelia's secrets, two client secrets, two people, the borg passphrase
    assert.ok(secrets.length >= 10, `generated secrets: ${secrets.length}`);
    const outputs = psf("output").stdout;
    assert.match(outputs, /"accounts": "\[secret\]"/);
    assertNoSecretIn(secrets, {
      "the up output": upLog,
      "the stack outputs": outputs,
      "the plain state": pulumi("stack", "export"),
    });
  });

  it("brings Miniflux's rows back with the printed restore command after the backup job ran", () => {
    const services = JSON.parse(output("services", "--json"));
    sh(services.miniflux.backupCommand);
    sh(`docker exec psf-${STACK}-postgres psql -U postgres -d miniflux -c "delete from users"`);
    assert.equal(minifluxUsers(), "");
    sh(services.miniflux.restoreCommand);
    assert.equal(minifluxUsers(), "alice");
  });

  it("names the service, the probe and its output when a health check fails, and keeps the old release", async () => {
    const [before] = container("whoami");
    editStack(
      dir,
      (c) => {
        // whoami now listens where its health check does not look.
        c["psf:services"].whoami.command = ["--port", "81"];
        c["psf:services"].whoami.healthcheck = {
          http: "/health",
          interval: 2,
          timeout: 2,
          retries: 2,
          startPeriod: 1,
        };
      },
      STACK,
    );
    const r = psf("up");
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /psf: service whoami failed its health check/);
    assert.match(r.stderr, /probe: \/\.psf\/probe http:\/\/127\.0\.0\.1:80\/health/);
    assert.match(
      r.stderr,
      /last output: GET http:\/\/127\.0\.0\.1:80\/health: .*connection refused/,
    );
    assert.ok(container("whoami").includes(before), "the old whoami still runs");
    assert.equal((await get(ca, `whoami.${DOMAIN}`)).status, 302);
    editStack(
      dir,
      (c) => {
        c["psf:services"].whoami.command = ["--port", "80"];
        c["psf:services"].whoami.healthcheck = { http: "/health" };
      },
      STACK,
    );
    const healed = psf("up");
    assert.equal(healed.status, 0, healed.stderr.slice(-3000));
  });

  it("destroy leaves no container, network or volume of the stack", () => {
    const r = psf("destroy");
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(stackObjects("ps -a", STACK), []);
    assert.deepEqual(stackObjects("network ls", STACK), []);
    assert.deepEqual(stackObjects("volume ls", STACK), []);
  });
});
