import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as http from "http";
import { AddressInfo } from "net";
import { ensureProbe } from "../../cli/probe";

/** Runs the probe binary (async: the server answering it lives in this process). */
function probe(bin: string, url: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = require("child_process").spawn(bin, [url]);
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (out += d));
    child.on("close", (code: number | null) => resolve({ code, out }));
  });
}

/**
 * The static probe the Docker target copies into containers (scripts/probe), built with Go
 * and run for real against an HTTP server.
 */
describe("the HTTP health probe", function () {
  this.timeout(300_000);
  let bin = "";
  let server: http.Server;
  let base = "";

  before(async function () {
    if (spawnSync("go", ["version"]).status !== 0) {
      if (process.env.PSF_REQUIRE_REAL === "1") throw new Error("go is not installed");
      this.skip();
    }
    const built = ensureProbe();
    assert.ok(built.path, built.reason);
    bin = built.path!;
    server = http.createServer((req, res) => {
      if (req.url === "/health") res.end("ok");
      else if (req.url === "/login") res.writeHead(302, { Location: "/portal" }).end();
      else res.writeHead(503).end("database is down\n");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server?.close());

  it("is a static binary that needs no shell or library in the image", () => {
    const file = spawnSync("file", ["-L", bin], { encoding: "utf8" }).stdout;
    if (file) assert.match(file, /statically linked/);
    const ldd = spawnSync("ldd", [bin], { encoding: "utf8" });
    assert.match(`${ldd.stdout}${ldd.stderr}`, /not a dynamic executable/);
  });

  it("exits 0 on a 2xx answer and says what it saw", async () => {
    const r = await probe(bin, `${base}/health`);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /GET http:\/\/127\.0\.0\.1:\d+\/health: 200 OK: ok/);
  });

  it("takes a redirect as an answer (a sign-in page still means the server is up)", async () => {
    assert.equal((await probe(bin, `${base}/login`)).code, 0);
  });

  it("exits 1 on a 5xx answer with the status and the start of the body", async () => {
    const r = await probe(bin, `${base}/ready`);
    assert.equal(r.code, 1);
    assert.match(r.out, /503 Service Unavailable: database is down/);
  });

  it("exits 1 when nothing listens, naming the refused connection", async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const r = await probe(bin, `http://127.0.0.1:${port}/health`);
    assert.equal(r.code, 1);
    assert.match(r.out, /connection refused/);
  });
});
