// The Pulumi program's entry (Pulumi.yaml `main`): the compiled index.js when the build is
// fresh, else index.ts through ts-node, so the engine neither compiles nor type-checks on
// every run (half a no-op preview's time) and edited sources still take effect.
"use strict";
const path = require("path");
const { freshBuild, registerTsNode, root } = require("./fresh-build");

// The SDK records a stack trace for each resource (where it was declared) and each of its
// promises (for leak reports), mapped through source maps: 0.8 s of a 30-resource preview.
// Those places are always inside PSF's framework, never in the user's stack config, and PSF
// prints no stack traces (SPEC §4); PSF_DEBUG=1 keeps them.
if (!process.env.PSF_DEBUG) {
  require("@pulumi/pulumi/resource").Resource.callsites = () => [];
  Error.stackTraceLimit = 0;
}

if (process.env.PSF_FROM_SOURCE || !freshBuild("index")) {
  registerTsNode();
  module.exports = require(path.join(root, "index.ts"));
} else module.exports = require(freshBuild("index"));
