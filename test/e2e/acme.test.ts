import { strict as assert } from "assert";
import { SpawnSyncReturns, execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tls from "tls";
import { PEBBLE, TestBind, TestPebble, startBind, startPebble } from "../support/acme";
import { editStack, engineEnv, projectCopy, stackObjects, workloadContainers } from "./support";

const DOMAIN = "psf-acme.test";
const HOST = `demo.${DOMAIN}`;
const HTTP_PORT = 18180;
const HTTPS_PORT = 18543;

/** The certificate the proxy serves for HOST, verified against `ca` (throws when it does not verify). */
function servedCertificate(ca: string): Promise<tls.PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: "127.0.0.1", port: HTTPS_PORT, servername: HOST, ca, rejectUnauthorized: true },
      () => {
        const cert = socket.getPeerCertificate();
        socket.end();
        resolve(cert);
      },
    );
    socket.on("error", reject);
    socket.setTimeout(5000, () => socket.destroy(new Error("timeout")));
  });
}

/** The address containers reach the host on: the default Docker bridge's gateway. */
function bridgeGateway(): string {
  return execFileSync(
    "docker",
    ["network", "inspect", "bridge", "--format", "{{(index .IPAM.Config 0).Gateway}}"],
    { encoding: "utf8" },
  ).trim();
}

/**
 * The ci stack with the acme ssl provider in selfsigned's place, under the real engine: Pebble
 * (the ACME CA) and BIND (its DNS) run on the host, certbot runs in the stack's own acme
 * workload and proves HTTP-01 through the stack's proxy (nginx, Caddy) on its published HTTP
 * port, and the proxy then serves a certificate that verifies against Pebble's root, without a
 * restart.
 */
for (const proxy of ["nginx", "caddy"])
  describe(`the ci stack with certificates from an ACME CA (Pebble) behind ${proxy}, under the real engine`, function () {
    this.timeout(900_000);
    const STACK = `ci-acme-${proxy}`;
    let dir: string;
    let work: string;
    let bind: TestBind | undefined;
    let pebble: TestPebble | undefined;
    const env = () => ({ ...process.env, ...engineEnv(dir) });
    const psf = (...args: string[]): SpawnSyncReturns<string> =>
      spawnSync(process.execPath, [path.join(dir, "bin", "psf.js"), ...args, "--stack", STACK], {
        cwd: dir,
        env: env(),
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
      });

    before(async function () {
      const missing = [
        ...(fs.existsSync(PEBBLE) ? [] : ["Pebble (bash scripts/pebble.sh)"]),
        ...(spawnSync("sh", ["-c", "command -v named dig"]).status === 0
          ? []
          : ["BIND (apt-get install bind9 bind9-dnsutils)"]),
      ];
      if (missing.length) {
        if (process.env.PSF_REQUIRE_PEBBLE === "1")
          throw new Error(`missing: ${missing.join(", ")}`);
        console.log(`      SKIPPED: ${missing.join(", ")} not installed`);
        this.skip();
      }
      if (stackObjects("ps -a", STACK).length)
        throw new Error(
          `a stack named ${STACK} already runs on this Docker engine; destroy it first`,
        );
      work = fs.mkdtempSync(path.join(os.tmpdir(), "psf-e2e-acme-"));
      bind = await startBind(path.join(work, "bind"), DOMAIN);
      pebble = await startPebble(path.join(work, "pebble"), {
        dnsPort: bind.port,
        // Pebble resolves the host to 127.0.0.1 and asks nginx's published HTTP port.
        httpPort: HTTP_PORT,
        validitySeconds: 7 * 24 * 3600,
        publicIp: bridgeGateway(),
      });
      dir = projectCopy("ci", true);
      fs.renameSync(
        path.join(dir, "stacks", "Pulumi.ci.yaml"),
        path.join(dir, "stacks", `Pulumi.${STACK}.yaml`),
      );
      editStack(
        dir,
        (c) => {
          c["psf:domain"] = DOMAIN;
          c["psf:target"].network = STACK;
          const { listenAddress } = c["psf:providers"].proxy;
          // The ci stack pins nginx's image; another proxy runs its own default image.
          if (proxy !== "nginx") delete c["psf:images"].nginx;
          c["psf:providers"].proxy = {
            use: proxy,
            httpPort: HTTP_PORT,
            httpsPort: HTTPS_PORT,
            listenAddress,
          };
          c["psf:providers"].ssl = {
            use: "acme",
            email: "ops@psf-acme.test",
            directoryUrl: pebble!.directoryUrl,
            caPem: pebble!.tlsCaPem,
          };
        },
        STACK,
      );
    });

    after(async function () {
      if (dir && stackObjects("ps -a", STACK).length) psf("destroy");
      await pebble?.stop();
      await bind?.stop();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
      if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    it(`comes up, and ${proxy} then serves the demo host a certificate from Pebble, in the same process`, async () => {
      const r = psf("up");
      assert.equal(r.status, 0, (r.stdout + r.stderr).slice(-4000));
      const [server] = workloadContainers(STACK, proxy);
      const pid = execFileSync("docker", ["inspect", "--format", "{{.State.Pid}}", server], {
        encoding: "utf8",
      }).trim();
      // certbot proves HTTP-01 through the proxy, whose watcher reloads it within 30 s of new files.
      let cert: tls.PeerCertificate | undefined;
      let last: unknown;
      for (let i = 0; i < 60 && !cert; i++) {
        try {
          cert = await servedCertificate(pebble!.rootPem);
        } catch (e) {
          last = e;
          await new Promise((res) => setTimeout(res, 3000));
        }
      }
      const logs = (workload: string) => {
        const r = spawnSync(
          "docker",
          ["logs", "--tail", "40", workloadContainers(STACK, workload)[0] ?? "none"],
          { encoding: "utf8" },
        );
        return `--- ${workload}:\n${r.stdout}${r.stderr}`;
      };
      assert.ok(
        cert,
        `no certificate from Pebble served in 3 min (${String(last)})\n${logs("acme")}\n${logs(proxy)}\n${pebble!.log().slice(-1500)}`,
      );
      assert.match(String(cert.subjectaltname), new RegExp(`DNS:${HOST.replace(/\./g, "\\.")}`));
      assert.deepEqual(workloadContainers(STACK, proxy), [server], `${proxy} was replaced`);
      assert.equal(
        execFileSync("docker", ["inspect", "--format", "{{.State.Pid}}", server], {
          encoding: "utf8",
        }).trim(),
        pid,
        `${proxy} was restarted`,
      );
    });

    it("previews no changes after, and destroy leaves nothing of the stack", () => {
      const again = psf("preview");
      assert.equal(again.status, 0, again.stderr);
      assert.match(again.stdout, /psf: preview: no changes/);
      const r = psf("destroy");
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(stackObjects("ps -a", STACK), []);
      assert.deepEqual(stackObjects("volume ls", STACK), []);
    });
  });
