import { strict as assert } from "assert";
import { backoffDelay } from "../../cli/retry";
import { transientEngineCause, transientPullCause } from "../../cli/transient-failures";

/** Messages as the Docker engine, its CLI and the Pulumi Docker provider print them. */
describe("transient failures: what is worth another attempt", () => {
  it("retries a pull the registry dropped, refused for load, or rate-limited", () => {
    for (const line of [
      "Error response from daemon: received unexpected HTTP status: 503 Service Unavailable",
      'Error response from daemon: Get "https://registry-1.docker.io/v2/": net/http: TLS handshake timeout',
      "Error response from daemon: toomanyrequests: You have reached your pull rate limit.",
      "error pulling image configuration: download failed after attempts=6: unexpected EOF",
      "read tcp 10.0.0.2:51234->104.18.121.25:443: read: connection reset by peer",
    ])
      assert.equal(transientPullCause(`Pulling from library/x\n${line}`), line);
  });

  it("does not wait for a registry that is not there: offline machines build from recipes", () => {
    for (const line of [
      'Error response from daemon: Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 127.0.0.11:53: no such host',
      'Error response from daemon: Get "https://r.example/v2/": dial tcp 10.1.1.1:443: i/o timeout',
      'Error response from daemon: Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused',
      "Error response from daemon: manifest for x:1 not found: manifest unknown: manifest unknown",
    ])
      assert.equal(transientPullCause(line), undefined, line);
  });

  it("retries an update the Docker engine dropped, never one a health check or a lock stopped", () => {
    assert.match(
      transientEngineCause(
        "error: creating container: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
      ) ?? "",
      /Cannot connect/,
    );
    assert.equal(
      transientEngineCause("error: container exited unexpectedly: unhealthy (i/o timeout)"),
      undefined,
    );
    assert.equal(
      transientEngineCause("error: the stack is currently locked by 1 lock(s)"),
      undefined,
    );
  });

  it("waits first, first × factor, … capped", () => {
    const p = { attempts: 5, firstDelayMs: 2_000, factor: 3, maxDelayMs: 30_000 };
    assert.deepEqual(
      [2, 3, 4, 5].map((n) => backoffDelay(p, n)),
      [2_000, 6_000, 18_000, 30_000],
    );
  });
});
