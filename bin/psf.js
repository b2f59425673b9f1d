#!/usr/bin/env node
// Entry point of the psf CLI. TypeScript sources run through ts-node (transpile only).
"use strict";
const path = require("path");
// Planning a large stack allocates many short-lived Outputs; a larger young generation
// cuts garbage-collection time several-fold (measured with --cpu-prof, see bench/).
require("v8").setFlagsFromString("--max-semi-space-size=64");
require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "..", "tsconfig.json") });
// The SDK captures a stack trace per Output; the CLI never shows them (SPEC §4).
if (!process.env.PSF_DEBUG) Error.stackTraceLimit = 0;
require("../cli/main")
  .main(process.argv.slice(2))
  // Exit only after stdout/stderr drain: a pipe would otherwise lose the tail of --json.
  .then((code) => process.stdout.write("", () => process.stderr.write("", () => process.exit(code))))
  .catch((e) => {
    process.stderr.write(`psf: internal error: ${e && e.message ? e.message : e}\n`);
    if (process.env.PSF_DEBUG) process.stderr.write(String(e && e.stack) + "\n");
    else process.stderr.write("  hint: this is a bug in psf; rerun with PSF_DEBUG=1 for details and report it\n");
    process.exit(1);
  });
