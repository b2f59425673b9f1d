#!/usr/bin/env node
// `npm run bench`: every figure of issue 10 beside its anchor measured in the same run, then the
// goals met / NOT met and bench/results/summary.json (docs/benchmarks.md says what each means).
//   plan      psf plan of 10, 100, 500 generated services (bench/plan.js)
//   validate  psf validate of 100 and 500, beside a bare node start (bench/validate.js)
//   compose   the ci stack: PSF no-op preview, no-op up, up from nothing, beside Docker Compose
//             on the same workloads (bench/versus-compose.js; Docker needed)
//   scale     10 and 50 services through the real engine: up time, engine and language host
//             peak memory (bench/engine-scale.js; Docker needed)
// PSF_BENCH_ONLY=plan,validate picks sections; PSF_BENCH_RUNS (default 3) the timed runs per
// figure, reported as their median. A section that cannot run says SKIPPED and why.
"use strict";
const { RUNS } = require("./lib");

const SECTIONS = {
  plan: () => require("./plan").planBench(),
  validate: () => require("./validate").validateBench(),
  compose: () => require("./versus-compose").composeBench(),
  scale: () => require("./engine-scale").scaleBench(),
};

async function main() {
  const only = (process.env.PSF_BENCH_ONLY || Object.keys(SECTIONS).join(","))
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = only.filter((s) => !SECTIONS[s]);
  if (unknown.length) {
    console.error(
      `bench: unknown section ${unknown.join(", ")} (PSF_BENCH_ONLY takes ${Object.keys(SECTIONS).join(", ")})`,
    );
    return 2;
  }
  console.log(
    `bench: ${only.join(", ")}; median of ${RUNS} run${RUNS > 1 ? "s" : ""} per figure\n`,
  );
  const sections = {};
  for (const name of Object.keys(SECTIONS)) {
    if (!only.includes(name)) {
      sections[name] = { skipped: "not selected (PSF_BENCH_ONLY)" };
      continue;
    }
    const started = Date.now();
    try {
      sections[name] = await SECTIONS[name]();
    } catch (e) {
      // A failed section is reported and the others still run.
      console.log(`${name}: FAILED: ${e.message}`);
      sections[name] = { skipped: `failed: ${e.message.split("\n")[0]}` };
    }
    console.log(`(${name}: ${Math.round((Date.now() - started) / 1000)} s)\n`);
  }
  await require("./summary").summarize(sections);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`bench: ${e.stack ?? e}`);
    process.exit(1);
  },
);
