// `psf validate --config FILE` of generated stacks of 100 and 500 services: wall time of the
// whole command (start-up included: that is what a user waits for), median of RUNS, beside its
// anchor, a bare `node -e 0` start measured in the same run. (bench/validate-size.js times the
// check alone, in-process, on files up to the size limit.)
"use strict";
const { RUNS, fmt, must, psf, run, timed, withTempDir } = require("./lib");
const { writeGeneratedStack } = require("./stack");

async function validateBench() {
  console.log(`validate: psf validate of generated stacks, ${RUNS} runs each`);
  const node = (
    await timed("node -e 0", async () => must(await run(process.execPath, ["-e", "0"]), "node").ms)
  ).medianMs;
  const results = [];
  await withTempDir("psf-bench-validate-", async (dir) => {
    for (const n of [100, 500]) {
      const file = writeGeneratedStack(dir, n);
      const t = await timed(`validate ${n}`, async () => {
        const r = must(await psf(["validate", "--config", file]), `psf validate (${n} services)`);
        return r.ms;
      });
      results.push({ services: n, ...t });
      console.log(
        `validate ${String(n).padStart(4)} services: median ${fmt(t.medianMs)} (min ${fmt(t.minMs)}); node start alone ${fmt(node)}`,
      );
    }
  });
  return {
    results,
    nodeStartMs: node,
    validate500Ms: results.find((r) => r.services === 500).medianMs,
  };
}

module.exports = { validateBench };
