// Where a no-op `psf preview` spends its time, from the engine's own timestamped log
// (PSF_ENGINE_LOG, cli/engine.ts): psf's prerequisites before the engine, the CLI loading the
// stack, the language host and Node.js starting the program, the program evaluating until it
// declares its first resource, each resource plugin starting, and the providers' Check/Diff
// calls. Phases overlap where the engine works in parallel; the sums say what each costs.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { fmt, must, psf } = require("./lib");

/** `{ms, msg}` per log line with a timestamp, ms from the first line. */
function timeline(text) {
  const lines = [];
  let t0;
  for (const line of text.split("\n")) {
    const m = /^\{"time":"([^"]+)".*"msg":"((?:[^"\\]|\\.)*)"/.exec(line);
    if (!m) continue;
    // Nanosecond timestamps; milliseconds are enough here.
    const t = Date.parse(m[1].replace(/(\.\d{3})\d+/, "$1"));
    t0 ??= t;
    lines.push({ ms: t - t0, msg: m[2] });
  }
  return lines;
}

const first = (lines, re, from = 0) => lines.find((l) => l.ms >= from && re.test(l.msg));

/** Sum of the durations of calls logged as `<call> executing` … `<call> success|failed`. */
function callTime(lines, re) {
  const open = new Map();
  let total = 0;
  let count = 0;
  for (const l of lines) {
    const m = re.exec(l.msg);
    if (!m) continue;
    if (/executing/.test(l.msg)) open.set(m[1], l.ms);
    else if (open.has(m[1])) {
      total += l.ms - open.get(m[1]);
      count++;
      open.delete(m[1]);
    }
  }
  return { ms: total, count };
}

/** The phases of one run's engine log; undefined values when a marker is missing. */
function phases(text) {
  const lines = timeline(text);
  if (!lines.length) return undefined;
  const run = first(lines, /langhost\[nodejs\]\.Run\(.*executing/);
  const root = first(lines, /RegisterResource received: t=pulumi:pulumi:Stack/);
  const done = first(lines, /langhost\[nodejs\]\.Run\(.*success/);
  // A plugin's start: from the engine's last word before it (the launch logs nothing at -v=7)
  // to its Configure call; the command plugin starts twice (its state records an extra input).
  const plugins = [];
  lines.forEach((l, i) => {
    const m = /Handshake: not supported by '.*pulumi-resource-(\w+)'/.exec(l.msg);
    if (!m || i === 0) return;
    const ready = first(lines, /\.Configure\(\) executing/, l.ms);
    plugins.push({ name: m[1], ms: (ready ?? l).ms - lines[i - 1].ms });
  });
  const firstPlugin = plugins.length
    ? lines[lines.findIndex((l) => /Handshake: not supported/.test(l.msg)) - 1]
    : undefined;
  return {
    engineMs: lines[lines.length - 1].ms,
    stackLoadMs: run?.ms,
    programStartMs: run && root ? root.ms - run.ms : undefined,
    programToFirstResourceMs: root && firstPlugin ? firstPlugin.ms - root.ms : undefined,
    pluginStarts: plugins,
    pluginStartMs: plugins.reduce((a, p) => a + (p.ms ?? 0), 0),
    providerCalls: callTime(lines, /Provider\[\w+\]\.(?:Check|Diff|Read)\(([^)]*)\)/),
    programRunMs: run && done ? done.ms - run.ms : undefined,
    afterProgramMs: done ? lines[lines.length - 1].ms - done.ms : undefined,
  };
}

/** One no-op `psf preview` with the engine log on; prints and returns its phases. */
async function profilePreview(stack) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-profile-"));
  const log = path.join(dir, "engine.log");
  try {
    const r = must(
      await psf(["preview", "--stack", stack], { env: { ...process.env, PSF_ENGINE_LOG: log } }),
      "psf preview (profiled)",
    );
    const p = phases(fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "");
    if (!p) return { skipped: "the engine wrote no log" };
    const profile = {
      wallMs: Math.round(r.ms),
      prerequisitesMs: Math.round(r.ms - p.engineMs),
      ...p,
    };
    const ms = (x) => (x === undefined ? "?" : fmt(x));
    console.log(`  no-op preview, profiled (log on: slower than the timed runs): ${fmt(r.ms)}`);
    console.log(
      `    psf before the engine (checks, images, workspace): ${ms(profile.prerequisitesMs)}`,
    );
    console.log(`    engine: load the stack, secrets, VCS metadata: ${ms(p.stackLoadMs)}`);
    console.log(`    language host + Node.js + SDK start: ${ms(p.programStartMs)}`);
    console.log(`    program evaluation to its first resource: ${ms(p.programToFirstResourceMs)}`);
    console.log(
      `    plugin starts: ${ms(p.pluginStartMs)} (${p.pluginStarts.map((x) => `${x.name} ${ms(x.ms)}`).join(", ")})`,
    );
    console.log(
      `    provider Check/Diff/Read calls: ${ms(p.providerCalls.ms)} summed over ${p.providerCalls.count} calls`,
    );
    console.log(`    program run in all: ${ms(p.programRunMs)}; after it: ${ms(p.afterProgramMs)}`);
    return profile;
  } finally {
    // The log holds resource inputs: never keep it.
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { profilePreview, phases };
