// Preloaded into a benchmarked process: reports its peak memory when it exits.
process.on("exit", () => {
  process.stderr.write(`\nPSF_BENCH_MAXRSS_KB=${process.resourceUsage().maxRSS}\n`);
});
