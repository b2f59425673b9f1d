// Defers modules the Pulumi SDK loads at start for function serialization (closures),
// which PSF never uses (and more, below): the TypeScript compiler and npm's arborist cost ~0.85 s of every
// start (measured: `@pulumi/pulumi` loads in 1.16 s with them, 0.3 s without). They load on
// first use, so a program that does serialize a function still works.
// Required first by bin/psf.js and, through bin/engine-preload.js, by the engine's program.
// `defer(...)` adds more: the CLI defers what only a program run needs (see bin/psf.js).
"use strict";
const Module = require("module");

const path = require("path");
const DEFERRED = new Set(["typescript", "@npmcli/arborist"]);
exports.defer = (...names) => names.forEach((n) => DEFERRED.add(n));
const sdkDir = `${path.sep}@pulumi${path.sep}pulumi${path.sep}`;
const sdkIndex = `${sdkDir}index.js`;
const load = Module._load;

/**
 * Also deferred, from inside the SDK: the Automation API its index loads for every program
 * (the CLI, a program's own deployments), and the gRPC service stubs, of which a program
 * uses the engine's and the resource monitor's, and a plan none.
 */
const deferred = (request, from) =>
  DEFERRED.has(request) ||
  request.endsWith("_grpc_pb") ||
  (request === "./automation" && from.endsWith(sdkIndex));

Module._load = function (request, parent, isMain) {
  if (!parent || !parent.filename || !parent.filename.includes(sdkDir))
    return load.apply(this, arguments);
  if (!deferred(request, parent.filename)) return load.apply(this, arguments);
  let real;
  const target = () => (real ??= load.call(this, request, parent, isMain));
  // `__esModule` keeps TypeScript's `__importStar` from copying every key (a load) at import.
  return new Proxy(
    {},
    {
      get: (_, key) => (key === "__esModule" ? true : target()[key]),
      has: (_, key) => key in target(),
      ownKeys: () => Reflect.ownKeys(target()),
      getOwnPropertyDescriptor: (_, key) => {
        const d = Object.getOwnPropertyDescriptor(target(), key);
        return d && { ...d, configurable: true };
      },
    },
  );
};
