// Peak memory of a `psf up` process tree, sampled from /proc every 100 ms (Linux only). Each
// sample sums the resident memory of three groups of the tree:
//   engine        the `pulumi` CLI and its plugins (pulumi-resource-*, pulumi-language-nodejs)
//   languageHost  what the language plugin starts: the node program (the PSF program)
//   psf           the psf CLI above the engine (its node processes, the docker commands it runs)
// and the peak of each sum over the run is kept (MB), with the peak of each process by name
// (e.g. "engine:pulumi-resource-docker"). Processes the plugins start (docker, sh, node for a
// reload step) count as engine.
"use strict";
const fs = require("fs");

function readProcs() {
  const procs = new Map();
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
      // pid (comm) state ppid ... ; comm may hold spaces and parentheses.
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      procs.set(Number(name), { ppid: Number(rest[1]) });
    } catch {
      // Gone between readdir and read.
    }
  }
  return procs;
}

function exeName(pid) {
  try {
    const argv0 = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0];
    return argv0.split("/").pop();
  } catch {
    return "";
  }
}

function rssKb(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Samples the tree below `rootPid` until `stop()`, which returns the peaks (null without /proc). */
function sampleTree(rootPid, intervalMs = 100) {
  if (!fs.existsSync("/proc/self/status")) return { stop: () => null };
  const peaks = { engine: 0, languageHost: 0, psf: 0 };
  const byName = {};
  const names = new Map();
  const tick = () => {
    const procs = readProcs();
    const children = new Map();
    for (const [pid, p] of procs) {
      if (!children.has(p.ppid)) children.set(p.ppid, []);
      children.get(p.ppid).push(pid);
    }
    const sums = { engine: 0, languageHost: 0, psf: 0 };
    // Walk down from the root; a process's group follows from the first pulumi above it.
    const walk = (pid, group, parent) => {
      if (!names.has(pid)) names.set(pid, exeName(pid));
      const name = names.get(pid);
      let g = group;
      if (name === "pulumi") g = "engine";
      else if (group === "engine" && parent.startsWith("pulumi-language-")) g = "languageHost";
      const kb = rssKb(pid);
      sums[g] += kb;
      if (name) byName[`${g}:${name}`] = Math.max(byName[`${g}:${name}`] ?? 0, kb);
      for (const c of children.get(pid) ?? []) walk(c, g, name);
    };
    if (procs.has(rootPid)) walk(rootPid, "psf", "");
    for (const g of Object.keys(peaks)) peaks[g] = Math.max(peaks[g], sums[g]);
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      const mb = (kb) => Math.round(kb / 1024);
      return {
        engineMb: mb(peaks.engine),
        languageHostMb: mb(peaks.languageHost),
        psfMb: mb(peaks.psf),
        processesMb: Object.fromEntries(Object.entries(byName).map(([k, v]) => [k, mb(v)])),
      };
    },
  };
}

module.exports = { sampleTree };
