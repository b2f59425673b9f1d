import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { toolchainDir } from "./toolchain";
import { PrerequisiteError } from "./prerequisite-error";
import { PROJECT_ROOT } from "./source";

/** One progress line per step, on stderr (stdout stays the engine's). */
export const progress = (line: string) => process.stderr.write(`psf: ${line}\n`);

const run = (cmd: string, args: string[], env?: NodeJS.ProcessEnv) =>
  spawnSync(cmd, args, { encoding: "utf8", env: env ?? process.env, timeout: 60_000 });

const isRoot = () => process.getuid?.() === 0;

/** Debian or a derivative (Ubuntu): `apt-get install docker.io` is the fix we can apply. */
function onDebian(): boolean {
  try {
    const osRelease = fs.readFileSync("/etc/os-release", "utf8");
    return /^(ID|ID_LIKE)=.*\b(debian|ubuntu)\b/m.test(osRelease);
  } catch {
    return false;
  }
}

/**
 * A Docker engine that answers. A local one is started (Debian's docker.io, by
 * scripts/docker-engine.sh) or, as root on Debian/Ubuntu, installed first; a remote one
 * (`psf:target.host`) is only checked.
 */
export function ensureDocker(host?: string): void {
  const hostArgs = host ? ["-H", host] : [];
  const info = () => run("docker", [...hostArgs, "version", "--format", "{{.Server.Version}}"]);
  const first = info();
  if (first.status === 0) {
    progress(`Docker engine: running (${first.stdout.trim()}${host ? ` at ${host}` : ""})`);
    return;
  }
  const why = `${first.stderr ?? ""}${first.error ? String(first.error) : ""}`.trim();
  if (host)
    throw new PrerequisiteError(
      `the Docker engine at ${host} does not answer: ${lastLine(why)}`,
      host.startsWith("ssh://")
        ? `check that \`ssh ${host.slice(6)} docker info\` works (key-based login, user in the docker group)`
        : `check that \`docker -H ${host} info\` works`,
    );
  if (/permission denied/i.test(why))
    throw new PrerequisiteError(
      "the Docker engine runs, but this user may not use its socket",
      "sudo usermod -aG docker $USER, then log in again (or run psf as root)",
    );
  const installed = run("sh", ["-c", "command -v dockerd && command -v docker"]).status === 0;
  if (!installed && !(isRoot() && onDebian()))
    throw new PrerequisiteError(
      "no Docker engine is installed",
      onDebian()
        ? "sudo apt-get install docker.io, then run this again"
        : "install Docker Engine (https://docs.docker.com/engine/install/), then run this again",
    );
  if (!isRoot())
    throw new PrerequisiteError(
      "the Docker engine is installed but not running",
      "sudo systemctl start docker (or: sudo service docker start)",
    );
  progress(
    installed
      ? "Docker engine: not running; starting it"
      : "Docker engine: not installed; installing Debian's docker.io and starting it",
  );
  const r = spawnSync("bash", [path.join(PROJECT_ROOT, "scripts", "docker-engine.sh")], {
    encoding: "utf8",
  });
  const started = info();
  if (r.status !== 0 || started.status !== 0)
    throw new PrerequisiteError(
      `the Docker engine could not be started: ${lastLine(`${r.stdout}\n${r.stderr}`)}`,
      `see ${path.join(os.homedir(), ".cache", "psf", "dockerd.log")}; run bash scripts/docker-engine.sh to retry`,
    );
  progress(`Docker engine: running (${started.stdout.trim()})`);
}

/** Oldest CLI accepted from PATH: far below the SDK's 3.248, yet recent enough to be tested against it. */
const MIN_PULUMI = [3, 100];

function fits(version: string): boolean {
  const m = /^v?(\d+)\.(\d+)\./.exec(version.trim());
  return !!m && Number(m[1]) === MIN_PULUMI[0] && Number(m[2]) >= MIN_PULUMI[1];
}

/** Whether the air-gapped toolchain holds everything `up` needs. */
export function toolchainComplete(dir = toolchainDir()): boolean {
  const plugins = path.join(dir, "home", "plugins");
  const have = fs.existsSync(plugins) ? fs.readdirSync(plugins) : [];
  return (
    ["pulumi", "pulumi-language-nodejs"].every((b) => fs.existsSync(path.join(dir, "bin", b))) &&
    ["docker", "random", "tls", "command"].every((p) =>
      have.some((d) => d.startsWith(`resource-${p}-v`)),
    )
  );
}

/**
 * The Pulumi CLI, its Node.js language host and the resource plugins: the air-gapped toolchain
 * when built, else `pulumi` on PATH when its version fits, else the toolchain built now from
 * the Go module proxy (about half an hour the first time).
 */
/** Makes a Pulumi CLI available; returns its version (`v3.248.0`) when known without asking it. */
export async function ensurePulumi(): Promise<string | undefined> {
  const dir = toolchainDir();
  if (toolchainComplete(dir)) {
    // The build stamp names the version; asking the CLI would cost 0.4 s of every run.
    const stamp = path.join(dir, "stamps", "pulumi");
    const v = fs.existsSync(stamp)
      ? fs.readFileSync(stamp, "utf8").trim()
      : run(path.join(dir, "bin", "pulumi"), ["version"]).stdout?.trim();
    progress(`Pulumi CLI: ${v} and plugins from the air-gapped toolchain (${dir})`);
    return v;
  }
  const onPath = run("pulumi", ["version"]);
  if (onPath.status === 0 && fits(onPath.stdout)) {
    progress(`Pulumi CLI: ${onPath.stdout.trim()} on PATH (missing plugins download on first use)`);
    return onPath.stdout.trim();
  }
  const found = onPath.status === 0 ? `pulumi ${onPath.stdout.trim()} is too old` : "no pulumi";
  if (run("go", ["version"]).status !== 0)
    throw new PrerequisiteError(
      `${found} on PATH, and Go, which would build it offline, is not installed`,
      "install the Pulumi CLI (curl -fsSL https://get.pulumi.com | sh), or apt-get install golang-go and run this again to build it from the Go module proxy",
    );
  const log = path.join(os.homedir(), ".cache", "psf", "toolchain.log");
  progress(
    `Pulumi CLI: ${found} on PATH; building the air-gapped toolchain from the Go module proxy ` +
      `(about 30 min on 2 cores the first time, seconds after; log: ${log})`,
  );
  const code = await streamSteps("bash", [path.join(PROJECT_ROOT, "scripts", "toolchain.sh")], log);
  if (code !== 0 || !toolchainComplete(dir))
    throw new PrerequisiteError(
      `the Pulumi toolchain could not be built (scripts/toolchain.sh exit ${code}): ${lastLine(fs.readFileSync(log, "utf8"))}`,
      `see ${log}; npm run toolchain retries, or install the Pulumi CLI (curl -fsSL https://get.pulumi.com | sh)`,
    );
  progress(`Pulumi CLI: toolchain built in ${dir}`);
  const stamp = path.join(dir, "stamps", "pulumi");
  return fs.existsSync(stamp) ? fs.readFileSync(stamp, "utf8").trim() : undefined;
}

/**
 * Runs a long build with its full output in a log and its `name: ...` step lines (the
 * scripts' own progress) on stderr with the elapsed time.
 */
function streamSteps(cmd: string, args: string[], log: string): Promise<number> {
  fs.mkdirSync(path.dirname(log), { recursive: true });
  const out = fs.createWriteStream(log);
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let pending = "";
    const onData = (chunk: Buffer) => {
      out.write(chunk);
      pending += chunk.toString("utf8");
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const l of lines)
        if (/^[a-z-]+: /.test(l)) progress(`  [${Math.round((Date.now() - t0) / 1000)} s] ${l}`);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("close", (code) => out.end(() => resolve(code ?? 1)));
  });
}

function lastLine(text: string): string {
  return (
    text
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean)
      .pop() ?? "no output"
  );
}
