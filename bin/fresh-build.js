// Whether `npm run build` output (bin-build/) is newer than every TypeScript source the CLI and
// the program run from, by mtime: compiled JavaScript starts seconds faster than ts-node, and
// a stale build must never run in place of edited sources.
"use strict";
const fs = require("fs");
const path = require("path");

const root = path.join(__dirname, "..");
const SOURCE_DIRS = ["cli", "components", "providers"];

function newerThan(dir, builtAt) {
  return fs.readdirSync(dir, { withFileTypes: true }).some((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return newerThan(p, builtAt);
    return e.name.endsWith(".ts") && fs.statSync(p).mtimeMs > builtAt;
  });
}

/** The compiled module for a source path relative to the root (`cli/main`), or undefined when stale. */
function freshBuild(mod) {
  const built = path.join(root, "bin-build", `${mod}.js`);
  let builtAt;
  try {
    builtAt = fs.statSync(built).mtimeMs;
  } catch {
    return undefined;
  }
  if (fs.statSync(path.join(root, "index.ts")).mtimeMs > builtAt) return undefined;
  const stale = SOURCE_DIRS.some(
    (d) => fs.existsSync(path.join(root, d)) && newerThan(path.join(root, d), builtAt),
  );
  return stale ? undefined : built;
}

/** Runs TypeScript sources through ts-node (transpile only: `npm run lint` type-checks). */
function registerTsNode() {
  require("ts-node").register({ transpileOnly: true, project: path.join(root, "tsconfig.json") });
}

module.exports = { freshBuild, registerTsNode, root };
