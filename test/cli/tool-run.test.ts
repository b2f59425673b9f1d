import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PassThrough } from "stream";
import { parseDuration } from "../../cli/duration";
import { secretMasker } from "../../cli/secret-mask";
import { ToolRunOptions, runTool } from "../../cli/tool-run";

/** A stream that keeps what is written, as stdout/stderr would show it. */
function capture(): { stream: NodeJS.WriteStream; text: () => string } {
  const s = new PassThrough();
  let text = "";
  s.on("data", (d) => (text += d));
  return { stream: s as unknown as NodeJS.WriteStream, text: () => text };
}

/** Runs a real shell command through runTool, with output captured. */
async function run(command: string, o: Partial<ToolRunOptions> = {}) {
  const out = capture();
  const err = capture();
  const result = await runTool({
    label: "backup of notes",
    command,
    timeoutMs: 20_000,
    retries: 2,
    backoffMs: () => 10,
    mask: (t) => t,
    out: out.stream,
    err: err.stream,
    ...o,
  });
  return { result, out: out.text(), err: err.text() };
}

describe("psf backup's tool runner (real sh)", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-tool-run-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("masks every secret in what the tool prints, even one split across two writes", async () => {
    const mask = secretMasker(["s3cr3t-passphrase", "s3cr3t", "ab"]);
    const r = await run(
      "printf 'repo key s3cr3t-pass'; sleep 0.2; printf 'phrase and s3cr3t\\n'; echo 'ab stays' >&2",
      { mask },
    );
    assert.deepEqual(r.result, { ok: true, attempts: 1 });
    assert.equal(r.out, "repo key *** and ***\n");
    assert.equal(r.err, "ab stays\n", "values under 4 characters are not masked");
  });

  it("retries after a transient failure (a lock) and succeeds", async () => {
    const count = path.join(dir, "count");
    const r = await run(
      `n=$(cat ${count} 2>/dev/null || echo 0); echo $((n+1)) > ${count}; ` +
        `if [ "$n" -lt 1 ]; then echo 'Failed to create/acquire the lock /repo/lock.exclusive (timeout).' >&2; exit 2; fi; echo ok`,
    );
    assert.deepEqual(r.result, { ok: true, attempts: 2 });
    assert.equal(fs.readFileSync(count, "utf8").trim(), "2");
    assert.match(
      r.err,
      /failed with a transient error \(Failed to create\/acquire the lock.*\); retry 1\/2/,
    );
  });

  it("gives up after its retries when the failure stays transient", async () => {
    const count = path.join(dir, "count");
    const r = await run(
      `echo x >> ${count}; echo 'Remote: ssh: connect to host backup.example.org port 22: Connection timed out' >&2; exit 2`,
      { retries: 1 },
    );
    assert.equal(r.result.ok, false);
    assert.equal(fs.readFileSync(count, "utf8").trim().split("\n").length, 2);
    assert.match(
      (r.result as { reason: string }).reason,
      /^backup of notes failed \(exit 2: Remote: ssh: connect to host .*Connection timed out\)$/,
    );
  });

  it("fails at once, with the exit code and the tool's last line, when the failure is not transient", async () => {
    const count = path.join(dir, "count");
    const r = await run(
      `echo x >> ${count}; echo 'passphrase supplied in BORG_PASSPHRASE is incorrect.' >&2; echo '' >&2; exit 52`,
    );
    assert.deepEqual(r.result, {
      ok: false,
      reason:
        "backup of notes failed (exit 52: passphrase supplied in BORG_PASSPHRASE is incorrect.)",
    });
    assert.equal(fs.readFileSync(count, "utf8").trim().split("\n").length, 1);
    assert.doesNotMatch(r.err, /retry/);
  });

  it("stops the tool and everything it started at the timeout", async function () {
    // A child left running would hold the output open for 300 s: the test would time out.
    this.timeout(30_000);
    const pid = path.join(dir, "pid");
    const r = await run(`sleep 300 & echo $! > ${pid}; wait`, { timeoutMs: 500 });
    assert.deepEqual(r.result, {
      ok: false,
      reason: "backup of notes failed (timed out after 0.5 s)",
    });
    const child = Number(fs.readFileSync(pid, "utf8"));
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Gone, or a zombie no one has reaped yet (PID 1 of a container may not): not running.
    const state = fs.existsSync(`/proc/${child}/stat`)
      ? fs.readFileSync(`/proc/${child}/stat`, "utf8").split(") ")[1][0]
      : "gone";
    assert.ok(["gone", "Z"].includes(state), `the tool's child is ${state}`);
  });

  it("reads durations as 90s, 30m, 2h or seconds, and refuses anything else", () => {
    assert.equal(parseDuration("90s"), 90_000);
    assert.equal(parseDuration("30m"), 1_800_000);
    assert.equal(parseDuration("2h"), 7_200_000);
    assert.equal(parseDuration("1.5"), 1500);
    for (const bad of ["", "0", "10x", "-5s", "m"])
      assert.equal(parseDuration(bad), undefined, bad);
  });
});
