#!/usr/bin/env node
// Entry point of the psf CLI. TypeScript sources run through ts-node (transpile only).
"use strict";
// The CLI process loads the Automation API for up/preview/refresh/destroy but never runs a
// program itself: gRPC, tracing and package.json normalization load only if used (~0.1 s).
require("./lazy-sdk").defer("@grpc/grpc-js", "@opentelemetry/api", "normalize-package-data");
const path = require("path");
// Compiled JavaScript (built by `npm ci` through `prepare`) starts faster; edited sources run
// through ts-node until the next build, so a stale build is never used.
const { freshBuild, registerTsNode, root } = require("./fresh-build");
const fresh = !process.env.PSF_FROM_SOURCE && freshBuild("cli/main") !== undefined;
if (!fresh) registerTsNode();
const code = (mod) => (fresh ? path.join(root, "bin-build", mod) : path.join(root, mod));
// The SDK captures a stack trace per Output; the CLI never shows them (SPEC §4).
if (!process.env.PSF_DEBUG) Error.stackTraceLimit = 0;
require(code("cli/main"))
  .main(process.argv.slice(2))
  // Exit only after stdout/stderr drain: a pipe would otherwise lose the tail of --json.
  .then((code) =>
    process.stdout.write("", () => process.stderr.write("", () => process.exit(code))),
  )
  .catch((e) => {
    process.stderr.write(`psf: internal error: ${e && e.message ? e.message : e}\n`);
    if (process.env.PSF_DEBUG) process.stderr.write(String(e && e.stack) + "\n");
    else
      process.stderr.write(
        "  hint: this is a bug in psf; rerun with PSF_DEBUG=1 for details and report it\n",
      );
    process.exit(1);
  });
