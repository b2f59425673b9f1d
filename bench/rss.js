// Preloaded (`node -r`) into a benchmarked process: reports its peak memory when it exits; a
// child started with the same -r reports its own line.
process.on("exit", () => {
  process.stderr.write(`\nPSF_BENCH_MAXRSS_KB=${process.resourceUsage().maxRSS}\n`);
});
