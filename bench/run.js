#!/usr/bin/env node
// `npm run bench`: times `psf plan --json` on generated stacks of 10, 100 and 500 services
// and reports wall time and peak memory. Target: 500 services plan in under 5 s.
"use strict";
const { spawnSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");
const YAML = require("yaml");
const { generatedStack } = require("./stack");

const root = path.join(__dirname, "..");
const sizes = (process.env.PSF_BENCH_SIZES || "10,100,500").split(",").map(Number);
const runs = Number(process.env.PSF_BENCH_RUNS || 3);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-bench-"));
const results = [];

for (const n of sizes) {
  const file = path.join(dir, `Pulumi.bench${n}.yaml`);
  fs.writeFileSync(file, YAML.stringify({ config: generatedStack(n) }));
  const times = [];
  let rss = 0;
  let resources = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(
      process.execPath,
      [
        "-r",
        path.join(__dirname, "rss.js"),
        path.join(root, "bin", "psf.js"),
        "plan",
        "--config",
        file,
        "--json",
      ],
      {
        encoding: "utf8",
        maxBuffer: 1 << 30,
      },
    );
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) {
      console.error(r.stderr);
      process.exit(1);
    }
    resources = JSON.parse(r.stdout).resources.length;
    rss = Math.max(rss, Number(/PSF_BENCH_MAXRSS_KB=(\d+)/.exec(r.stderr)?.[1] ?? 0));
    times.push(ms);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  results.push({
    services: n,
    resources,
    medianMs: Math.round(median),
    minMs: Math.round(times[0]),
    peakRssMB: Math.round(rss / 1024),
  });
  console.log(
    `plan ${String(n).padStart(4)} services: ${String(resources).padStart(6)} resources, median ${Math.round(median)} ms (min ${Math.round(times[0])} ms), peak ${Math.round(rss / 1024)} MB`,
  );
}
fs.rmSync(dir, { recursive: true, force: true });
const big = results.find((r) => r.services === 500);
if (big)
  console.log(
    `target: 500 services under 5000 ms: ${big.medianMs < 5000 ? "met" : "NOT met"} (${big.medianMs} ms)`,
  );
fs.mkdirSync(path.join(root, "bench", "results"), { recursive: true });
fs.writeFileSync(
  path.join(root, "bench", "results", "plan.json"),
  JSON.stringify(
    { date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, results },
    null,
    2,
  ) + "\n",
);

// `pulumi up` wall times, recorded by the end-to-end suite (npm run test:e2e) on real Docker.
const e2e = path.join(root, "bench", "results", "e2e.json");
if (fs.existsSync(e2e)) {
  const { date, timings } = JSON.parse(fs.readFileSync(e2e, "utf8"));
  console.log(
    `ci stack on Docker (${date}): up from nothing ${timings.upFromNothingMs} ms, no-op preview ${timings.noopPreviewMs} ms, no-op up ${timings.noopUpMs} ms`,
  );
} else console.log("ci stack on Docker: no timings yet (npm run test:e2e records them)");
