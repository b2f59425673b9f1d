// `psf plan --json` of generated stacks (bench/stack.js) of 10, 100 and 500 services
// (PSF_BENCH_SIZES): wall time of the whole command, median of RUNS, and its peak memory (the
// peak RSS of each psf process of the run, added up).
"use strict";
const { RUNS, fmt, must, peakMb, psf, timed, withTempDir } = require("./lib");
const { writeGeneratedStack } = require("./stack");

const SIZES = (process.env.PSF_BENCH_SIZES || "10,100,500").split(",").map(Number);

async function planBench() {
  console.log(`plan: psf plan --json of generated stacks, ${RUNS} runs each`);
  const results = [];
  await withTempDir("psf-bench-plan-", async (dir) => {
    for (const n of SIZES) {
      const file = writeGeneratedStack(dir, n);
      let peak = 0;
      let resources = 0;
      const t = await timed(`plan ${n}`, async () => {
        const args = ["plan", "--config", file, "--json"];
        const r = must(await psf(args, { rss: true }), `psf plan (${n} services)`);
        resources = JSON.parse(r.stdout).resources.length;
        peak = Math.max(peak, peakMb(r));
        return r.ms;
      });
      results.push({ services: n, resources, ...t, peakMb: peak });
      console.log(
        `plan ${String(n).padStart(4)} services: ${String(resources).padStart(6)} resources, median ${fmt(t.medianMs)} (min ${fmt(t.minMs)}), peak ${peak} MB`,
      );
    }
  });
  const at = (n) => results.find((r) => r.services === n);
  return {
    results,
    plan100Ms: at(100)?.medianMs ?? null,
    plan500Ms: at(500)?.medianMs ?? null,
    plan500PeakMb: at(500)?.peakMb ?? null,
  };
}

module.exports = { planBench };
