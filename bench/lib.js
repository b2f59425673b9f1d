// What every bench section shares: running a command and timing it, medians, formatting.
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

const ROOT = path.join(__dirname, "..");
const PSF = path.join(ROOT, "bin", "psf.js");
/** Timed runs per figure (PSF_BENCH_RUNS, default 3); the median is reported. */
const RUNS = Math.max(1, Number(process.env.PSF_BENCH_RUNS || 3));

/** Children still running, and what to undo if the bench is interrupted. */
const live = new Set();
const cleanups = new Set();

/**
 * Registers `fn` (synchronous) to run if the bench is interrupted (Ctrl-C, SIGTERM): removing
 * temporary files, saying what was left deployed. Returns the function that unregisters it.
 */
function onInterrupt(fn) {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

for (const signal of ["SIGINT", "SIGTERM"])
  process.on(signal, () => {
    // Each child leads its own process group: this ends it with whatever it started.
    for (const child of live)
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        // Already gone.
      }
    for (const fn of cleanups)
      try {
        fn();
      } catch (e) {
        console.log(`bench: clean-up after ${signal}: ${e.message}`);
      }
    process.exit(130);
  });

/**
 * Runs a command to its end and resolves `{ code, stdout, out, ms }` (`out`: stdout and stderr
 * together; `ms`: wall time). `onSpawn(child)` sees the child as it starts (memory samplers).
 */
function run(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? ROOT,
      env: opts.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    live.add(child);
    const chunks = [];
    const stdout = [];
    child.stdout.on("data", (d) => (chunks.push(d), stdout.push(d)));
    child.stderr.on("data", (d) => chunks.push(d));
    opts.onSpawn?.(child);
    const done = (code) => {
      live.delete(child);
      resolve({
        code,
        stdout: Buffer.concat(stdout).toString("utf8"),
        out: Buffer.concat(chunks).toString("utf8"),
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      });
    };
    child.on("error", (e) => {
      chunks.push(Buffer.from(String(e.message)));
      done(127);
    });
    child.on("close", (code, signal) => done(code ?? (signal ? 128 : 1)));
  });
}

/** `node bin/psf.js ARGS`; with `opts.rss`, each node process reports its peak RSS (bench/rss.js). */
function psf(args, opts = {}) {
  const preload = opts.rss ? ["-r", path.join(__dirname, "rss.js")] : [];
  return run(process.execPath, [...preload, PSF, ...args], opts);
}

/** The peak memory of a psf run with `rss`: its processes' peaks added up, in MB. */
function peakMb(r) {
  const kb = [...r.out.matchAll(/PSF_BENCH_MAXRSS_KB=(\d+)/g)].map((m) => Number(m[1]));
  return Math.round(kb.reduce((a, b) => a + b, 0) / 1024);
}

/** Throws with the last lines of the output when a command failed. */
function must(r, what) {
  if (r.code === 0) return r;
  const tail = r.out.trim().split("\n").slice(-12).join("\n  ");
  throw new Error(`${what} exited ${r.code}:\n  ${tail}`);
}

/** The first line of a command's output that says what went wrong, for a SKIPPED line. */
function reason(r) {
  const lines = r.out.split("\n").map((l) => l.trim());
  return lines.find((l) => /^error:/i.test(l)) ?? lines.filter(Boolean).pop() ?? `exit ${r.code}`;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Runs `once` (resolving a time in ms) RUNS times, one line each, and returns
 * `{ medianMs, minMs, runsMs }`.
 */
async function timed(label, once, runs = RUNS) {
  const runsMs = [];
  for (let i = 0; i < runs; i++) {
    const ms = await once(i);
    runsMs.push(Math.round(ms));
    console.log(`  ${label} run ${i + 1}/${runs}: ${fmt(ms)}`);
  }
  return { medianMs: Math.round(median(runsMs)), minMs: Math.min(...runsMs), runsMs };
}

/** 640 ms, 17.5 s. */
function fmt(ms) {
  if (ms === undefined || ms === null) return "-";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Runs `fn(dir)` with a private temporary directory, removed after (and on interrupt). */
async function withTempDir(prefix, fn) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o700);
  const remove = () => fs.rmSync(dir, { recursive: true, force: true });
  const forget = onInterrupt(remove);
  try {
    return await fn(dir);
  } finally {
    remove();
    forget();
  }
}

/** A section's result when it could not run. */
function skipped(section, why) {
  console.log(`${section}: SKIPPED (${why})`);
  return { skipped: why };
}

module.exports = {
  ROOT,
  PSF,
  RUNS,
  onInterrupt,
  withTempDir,
  run,
  psf,
  peakMb,
  must,
  reason,
  median,
  timed,
  fmt,
  skipped,
};
