import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as http from "http";
import type { AddressInfo } from "net";
import { provideImages } from "../../cli/local-images";
import { PrerequisiteError } from "../../cli/prerequisite-error";

/**
 * `docker pull` (the real Docker engine) against a registry on loopback that fails the way
 * registries do under load: pulls that fail for a transient reason are tried again with a
 * growing wait, each attempt logged, up to a bound; other failures are not retried.
 */
describe("image pulls retried after transient failures (real docker pull)", function () {
  this.timeout(120_000);
  let server: http.Server;
  let port: number;
  /** What the registry answers to the n-th pull (counted at /v2/, where each pull starts). */
  let answer: (pull: number) => number;
  let pulls: number[];

  before(function () {
    if (spawnSync("docker", ["info"], { stdio: "ignore" }).status !== 0) {
      if (process.env.PSF_REQUIRE_REAL === "1") throw new Error("no Docker engine");
      this.skip();
    }
  });
  beforeEach(async () => {
    pulls = [];
    server = http.createServer((req, res) => {
      if (req.url === "/v2/") pulls.push(Date.now());
      const status = answer(pulls.length);
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(
        status === 404
          ? '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}'
          : '{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}',
      );
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  afterEach(() => new Promise((r) => server.close(r)));

  // 127.0.0.0/8 is an insecure registry by default: the engine speaks plain HTTP to it.
  const ref = () => `127.0.0.1:${port}/psf-reconcile/flaky:1`;
  const policy = { attempts: 3, firstDelayMs: 400, factor: 2, maxDelayMs: 5_000 };

  it("tries a registry answering 503 three times, 0.4 s then 0.8 s apart, then gives up naming the bound", async () => {
    answer = () => 503;
    const lines: string[] = [];
    await assert.rejects(
      provideImages(new Map([[ref(), ["app"]]]), { log: (l) => lines.push(l), pullRetry: policy }),
      (e: unknown) => {
        assert.ok(e instanceof PrerequisiteError);
        assert.match(e.message, /\(used by app\): the pull failed \(.*503.*\), after 3 attempts/);
        return true;
      },
    );
    assert.equal(pulls.length, 3, `pulls that reached the registry: ${pulls.length}`);
    assert.ok(pulls[1] - pulls[0] >= 400 && pulls[2] - pulls[1] >= 800, String(pulls));
    const attempts = lines.filter((l) => l.startsWith(`image ${ref()}: pull: attempt`));
    assert.equal(attempts.length, 3, lines.join("\n"));
    assert.match(
      attempts[0],
      /attempt 1\/3 failed with a transient error \(.*503.*\); retrying in 0\.4 s/,
    );
    assert.match(attempts[1], /attempt 2\/3 failed with a transient error .*; retrying in 0\.8 s/);
    assert.match(attempts[2], /attempt 3\/3 failed .*; giving up after 3 attempts/);
  });

  it("stops retrying when the registry's answer is final: no such image", async () => {
    answer = (n) => (n === 1 ? 503 : 404);
    const lines: string[] = [];
    await assert.rejects(
      provideImages(new Map([[ref(), ["app"]]]), { log: (l) => lines.push(l), pullRetry: policy }),
      (e: unknown) => {
        assert.ok(e instanceof PrerequisiteError);
        assert.doesNotMatch(e.message, /after \d+ attempts/);
        return true;
      },
    );
    assert.equal(pulls.length, 2, lines.join("\n"));
    assert.equal(lines.filter((l) => /: pull: attempt/.test(l)).length, 1, lines.join("\n"));
  });
});
