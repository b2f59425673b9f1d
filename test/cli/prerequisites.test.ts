import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const root = path.join(__dirname, "..", "..");
const STACK_FRAME = /^\s+at .+\(.+:\d+:\d+\)$/m;

/** A PATH holding only node (and what the test adds): no docker, no pulumi, no go. */
function barePath(extra: string[] = []): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-path-"));
  fs.chmodSync(dir, 0o755);
  for (const exe of [process.execPath, ...extra])
    fs.symlinkSync(exe, path.join(dir, path.basename(exe)));
  return dir;
}

const which = (exe: string) =>
  spawnSync("sh", ["-c", `command -v ${exe}`], { encoding: "utf8" }).stdout.trim();

/** `psf <args>` as another user (nobody) or as root, with a chosen PATH. */
function psf(
  args: string[],
  opts: { path: string; asNobody?: boolean; env?: Record<string, string> },
) {
  const cmd = [process.execPath, path.join(root, "bin", "psf.js"), ...args];
  const [exe, ...argv] = opts.asNobody
    ? [which("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups", "--", ...cmd]
    : cmd;
  const r = spawnSync(exe, argv, {
    cwd: root,
    encoding: "utf8",
    env: { PATH: opts.path, HOME: os.tmpdir(), PSF_FROM_SOURCE: "1", ...opts.env },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const isRoot = process.getuid?.() === 0;

/**
 * What `psf up` does when a prerequisite is missing and cannot be set up: an error that says
 * what is missing and the command that fixes it, exit 3 (SPEC §4), before any slow step.
 */
describe("psf up with a missing prerequisite", function () {
  this.timeout(180_000);
  before(function () {
    // Switching to another user needs root; CI runs as root.
    if (!isRoot || !which("setpriv")) this.skip();
  });

  it("without Docker and without root: exit 3, the apt-get command, and nothing built", () => {
    const bin = barePath();
    const r = psf(["up", "--stack", "dev"], { path: bin, asNobody: true });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /^error: no Docker engine is installed$/m);
    assert.match(r.stderr, /^ {2}hint: sudo apt-get install docker\.io, then run this again$/m);
    assert.doesNotMatch(r.stderr, /internal error|bug in psf|debootstrap|build-images/);
    assert.doesNotMatch(r.stderr, STACK_FRAME);
  });

  it("with a Docker engine this user may not use: exit 3 and how to join the docker group", function () {
    const docker = which("docker");
    if (!docker || spawnSync("docker", ["info"], { stdio: "ignore" }).status !== 0) this.skip();
    const r = psf(["preview", "--stack", "dev"], { path: barePath([docker]), asNobody: true });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /error: the Docker engine runs, but this user may not use its socket/);
    assert.match(r.stderr, /hint: sudo usermod -aG docker \$USER/);
  });

  it("with Docker but no Pulumi CLI and no Go to build it: exit 3 and the installer command", function () {
    const docker = which("docker");
    if (!docker || spawnSync("docker", ["info"], { stdio: "ignore" }).status !== 0) this.skip();
    const r = psf(["up", "--stack", "dev"], {
      path: barePath([docker]),
      env: { PSF_TOOLCHAIN_DIR: path.join(os.tmpdir(), "psf-no-toolchain") },
    });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /^psf: Docker engine: running/m);
    assert.match(
      r.stderr,
      /error: no pulumi on PATH, and Go, which would build it offline, is not installed/,
    );
    assert.match(
      r.stderr,
      /hint: install the Pulumi CLI \(curl -fsSL https:\/\/get\.pulumi\.com \| sh\)/,
    );
    assert.doesNotMatch(r.stderr, STACK_FRAME);
  });
});
