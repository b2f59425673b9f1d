// Preloaded (`node -r`) into a benchmarked process: reports its peak memory when it exits. bin/psf.js
// re-runs itself with a V8 flag and passes its own -r on, so each process of a run reports one line.
process.on("exit", () => {
  process.stderr.write(`\nPSF_BENCH_MAXRSS_KB=${process.resourceUsage().maxRSS}\n`);
});
