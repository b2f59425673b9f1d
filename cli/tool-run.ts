import { spawn } from "child_process";
import { maskedLines } from "./secret-mask";
import { transientCause } from "./transient-failures";

export interface ToolRunOptions {
  /** What runs, for messages: "backup of miniflux". */
  label: string;
  /** A shell command line, as the stack outputs print it. */
  command: string;
  timeoutMs: number;
  /** Further attempts after a transient failure (transient-failures.ts). */
  retries: number;
  /** Wait before retry n (1-based). */
  backoffMs: (attempt: number) => number;
  mask: (text: string) => string;
  out: NodeJS.WriteStream;
  err: NodeJS.WriteStream;
}

export type ToolRunResult = { ok: true; attempts: number } | { ok: false; reason: string };

/** Lines of output kept to explain a failure. */
const TAIL = 20;

/**
 * Runs a backup tool's command: its output streamed with secrets masked, a progress line while
 * it runs, killed (its whole process group) after the timeout, retried after a transient
 * failure, and a reason when it fails for good.
 */
export async function runTool(o: ToolRunOptions): Promise<ToolRunResult> {
  for (let attempt = 1; ; attempt++) {
    const r = await runOnce(o);
    if (r.code === 0) return { ok: true, attempts: attempt };
    const last = r.tail.filter((l) => l.trim()).slice(-1)[0];
    const why = r.timedOut
      ? `timed out after ${seconds(o.timeoutMs)}`
      : `exit ${r.code ?? `on signal ${r.signal}`}${last ? `: ${last.trim()}` : ""}`;
    const cause = r.timedOut ? undefined : transientCause(r.tail);
    if (!cause || attempt > o.retries) return { ok: false, reason: `${o.label} failed (${why})` };
    const wait = o.backoffMs(attempt);
    o.err.write(
      `psf: ${o.label} failed with a transient error (${cause.trim()}); retry ${attempt}/${o.retries} in ${seconds(wait)}\n`,
    );
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

interface Once {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  tail: string[];
}

function runOnce(o: ToolRunOptions): Promise<Once> {
  return new Promise((resolve) => {
    const started = Date.now();
    const tail: string[] = [];
    const keep = (line: string) => {
      tail.push(line);
      if (tail.length > TAIL) tail.shift();
    };
    const progress = new Progress(o.label, o.out, started);
    const writer = (stream: NodeJS.WriteStream) => (line: string) => {
      progress.clear();
      stream.write(line);
      keep(line.replace(/\n$/, ""));
    };
    const stdout = maskedLines(o.mask, writer(o.out));
    const stderr = maskedLines(o.mask, writer(o.err));
    // Its own process group, so a timeout stops the tool and not only the shell around it.
    const child = spawn("/bin/sh", ["-c", o.command], {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.setEncoding("utf8").on("data", (d: string) => stdout.push(d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => stderr.push(d));
    let timedOut = false;
    const kill = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // Already gone.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill("SIGTERM");
      setTimeout(() => kill("SIGKILL"), 10_000).unref();
    }, o.timeoutMs);
    const ticker = setInterval(() => progress.tick(), 1000);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      clearInterval(ticker);
      stdout.end();
      stderr.end();
      progress.clear();
      resolve({ code, signal, timedOut, tail });
    });
  });
}

/**
 * On a terminal, one line rewritten in place ("backup of miniflux: 12 s"); elsewhere (CI logs,
 * pipes) a line every 30 s, so a long run still shows it is alive without flooding the log.
 */
class Progress {
  private shown = false;
  private ticks = 0;
  constructor(
    private readonly label: string,
    private readonly out: NodeJS.WriteStream,
    private readonly started: number,
  ) {}

  tick(): void {
    const s = Math.round((Date.now() - this.started) / 1000);
    if (this.out.isTTY) {
      this.out.write(`\r\x1b[2K${this.label}: running, ${s} s`);
      this.shown = true;
    } else if (++this.ticks % 30 === 0)
      this.out.write(`psf: ${this.label} still running (${s} s)\n`);
  }

  clear(): void {
    if (this.shown) this.out.write("\r\x1b[2K");
    this.shown = false;
  }
}

function seconds(ms: number): string {
  return ms >= 60_000 && ms % 60_000 === 0
    ? `${ms / 60_000} min`
    : `${Math.round(ms / 100) / 10} s`;
}
