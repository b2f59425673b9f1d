import { strict as assert } from "assert";
import { SpawnSyncReturns, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { browserChecks, chromiumAvailable } from "./browser";
import {
  ROOT,
  docker,
  editStack,
  engineEnv,
  httpsRequest,
  projectCopy,
  stackObjects,
  workloadContainers,
} from "./support";

const DOMAIN = "psf.localhost";
const HTTPS_PORT = 8443;
const url = (sub: string) => `https://${sub}.${DOMAIN}:${HTTPS_PORT}`;

/** The proxies other than nginx (which dev-stack.test.ts runs), each in the dev stack's place. */
const PROXIES = ["caddy", "traefik"];

/**
 * The dev stack with its nginx swapped for another proxy, everything else as the README's
 * stack has it, under the real engine: a person signs in through Authelia's forward auth in a
 * real browser, a config change reaches the running proxy without replacing it, and destroy
 * leaves nothing.
 */
for (const proxy of PROXIES)
  describe(`the dev stack behind ${proxy}, under the real engine`, function () {
    this.timeout(1_800_000);
    const STACK = `dev-${proxy}`;
    let dir: string;
    let ca = "";
    const env = () => ({ ...process.env, ...engineEnv(dir) });
    const psf = (...args: string[]): SpawnSyncReturns<string> =>
      spawnSync(process.execPath, [path.join(dir, "bin", "psf.js"), ...args, "--stack", STACK], {
        cwd: dir,
        env: env(),
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
      });
    const output = (name: string, ...flags: string[]) => {
      const r = psf("output", name, ...flags);
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    };
    const get = (host: string, p = "/") => httpsRequest({ ca, host, port: HTTPS_PORT, path: p });

    before(function () {
      const unbuilt = process.env[`PSF_UNBUILT_${proxy.toUpperCase()}`];
      if (unbuilt) {
        console.log(`      ${proxy} SKIPPED: ${unbuilt}`);
        this.skip();
      }
      if (!fs.existsSync(path.join(ROOT, "images", proxy, "changes"))) {
        if (process.env.PSF_REQUIRE_REAL === "1")
          throw new Error(`no image recipe images/${proxy}`);
        this.skip();
      }
      if (stackObjects("ps -a", STACK).length)
        throw new Error(
          `a stack named ${STACK} already runs on this Docker engine; destroy it first`,
        );
      if (!chromiumAvailable()) {
        if (process.env.PSF_REQUIRE_REAL === "1")
          throw new Error("no Chromium: apt-get install chromium (and npm ci for playwright-core)");
        this.skip();
      }
      dir = projectCopy("dev", true);
      fs.renameSync(
        path.join(dir, "stacks", "Pulumi.dev.yaml"),
        path.join(dir, "stacks", `Pulumi.${STACK}.yaml`),
      );
      editStack(
        dir,
        (c) => {
          const { httpPort, httpsPort, listenAddress } = c["psf:providers"].proxy;
          c["psf:providers"].proxy = { use: proxy, httpPort, httpsPort, listenAddress };
        },
        STACK,
      );
    });

    after(function () {
      if (dir && stackObjects("ps -a", STACK).length) psf("destroy");
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it(`comes up with ${proxy} in nginx's place and serves the portal with the stack CA's certificate`, async () => {
      const r = psf("up");
      assert.equal(r.status, 0, (r.stdout + r.stderr).slice(-4000));
      assert.match(r.stdout, new RegExp(`whoami\\s+${url("whoami")}`));
      assert.equal(workloadContainers(STACK, proxy).length, 1, `one ${proxy} container`);
      assert.equal(workloadContainers(STACK, "nginx").length, 0, "no nginx");
      ca = output("caPem");
      assert.equal((await get(`auth.${DOMAIN}`, "/api/health")).status, 200);
      const stranger = await get(`whoami.${DOMAIN}`);
      assert.equal(stranger.status, 302);
      const location = String(stranger.headers.location);
      assert.ok(location.startsWith(url("auth")), `sent to ${location}`);
      assert.equal(new URL(location).searchParams.get("rd")?.replace(/\/$/, ""), url("whoami"));
    });

    it("signs alice in through a real browser with forward auth, refuses bob, and keeps the SSO cookie from the app", async () => {
      const accounts = JSON.parse(output("accounts", "--show-secrets", "--json"));
      // whoami echoes the request it got: browserChecks asserts alice's identity headers arrive
      // and her authelia_session cookie does not.
      await browserChecks({
        urls: { whoami: url("whoami"), miniflux: url("miniflux"), portal: url("auth") },
        accounts,
        caPem: ca,
        screenshots: path.join(ROOT, "test-results", `browser-${proxy}`),
      });
    });

    it(`applies a proxy setting to the running ${proxy}, without replacing it, and previews no changes after`, async () => {
      const [before] = workloadContainers(STACK, proxy);
      editStack(
        dir,
        (c) => {
          c["psf:providers"].proxy.hstsMaxAge = 1234;
        },
        STACK,
      );
      const r = psf("up");
      assert.equal(r.status, 0, (r.stdout + r.stderr).slice(-4000));
      assert.deepEqual(workloadContainers(STACK, proxy), [before], `${proxy} was replaced`);
      const res = await get(`auth.${DOMAIN}`, "/api/health");
      assert.match(String(res.headers["strict-transport-security"]), /max-age=1234\b/);
      const again = psf("preview");
      assert.equal(again.status, 0, again.stderr);
      assert.match(again.stdout, /psf: preview: no changes/);
    });

    it("destroy leaves no container, network or volume of the stack", () => {
      const r = psf("destroy");
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(stackObjects("ps -a", STACK), []);
      assert.deepEqual(stackObjects("network ls", STACK), []);
      assert.deepEqual(stackObjects("volume ls", STACK), []);
      assert.equal(docker("ps", "-aq", "--filter", `name=psf-${STACK}-`), "");
    });
  });
