// Preloaded into the engine's Node.js program (NODE_OPTIONS, set by cli/engine.ts) before the
// SDK's runner starts: defers the SDK's closure-serialization modules (bin/lazy-sdk.js), and
// stops the runner from loading TypeScript and ts-node (~0.5 s): Pulumi.yaml's `main`,
// bin/program.js, is JavaScript that falls back to ts-node by itself when the build is stale.
// Pulumi.yaml says `typescript: false`, but the toolchain's language host (v3.68, the last
// release the module proxy serves) ignores project options and always asks for TypeScript.
"use strict";
require("./lazy-sdk");
if (process.argv.some((a) => /[\\/]@pulumi[\\/]pulumi[\\/]cmd[\\/]run/.test(a))) {
  delete process.env.PULUMI_NODEJS_TYPESCRIPT;
  // bin/program.js turns the SDK's stack traces off for the program; doing it here as well
  // covers the stack resource and the log calls the runner makes before the program loads.
  if (!process.env.PSF_DEBUG) {
    require("@pulumi/pulumi/resource").Resource.callsites = () => [];
    Error.stackTraceLimit = 0;
  }
}

// PSF_PROFILE_DIR=<dir>: a CPU profile of the program run (node refuses --cpu-prof in
// NODE_OPTIONS), for finding what a preview spends its time on (docs/benchmarks.md).
if (process.env.PSF_PROFILE_DIR) {
  const inspector = require("inspector");
  const session = new inspector.Session();
  session.connect();
  session.post("Profiler.enable", () => session.post("Profiler.start"));
  process.on("exit", () =>
    session.post("Profiler.stop", (err, res) => {
      if (err) return;
      const fs = require("fs");
      fs.mkdirSync(process.env.PSF_PROFILE_DIR, { recursive: true });
      const file = require("path").join(
        process.env.PSF_PROFILE_DIR,
        `program-${process.pid}.cpuprofile`,
      );
      fs.writeFileSync(file, JSON.stringify(res.profile));
    }),
  );
}
