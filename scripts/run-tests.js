#!/usr/bin/env node
// Runs every mocha suite (unit, providers with real programs, CLI, the ci stack on Docker) and ends with the one
// summary line CI reads: "N passed, N failed".
"use strict";
const Mocha = require("mocha");
const fs = require("fs");
const path = require("path");

require("ts-node").register({
  transpileOnly: true,
  project: path.join(__dirname, "..", "tsconfig.json"),
});

const root = path.join(__dirname, "..");
const suites = ["test/unit", "test/providers", "test/cli", "test/docker"];
const grep = process.argv.slice(2).find((a) => !a.startsWith("-"));

function walk(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : e.name.endsWith(".test.ts") ? [p] : [];
  });
}

const mocha = new Mocha({ timeout: 180000, reporter: "spec", color: false });
for (const s of suites)
  for (const f of walk(path.join(root, s))) if (!grep || f.includes(grep)) mocha.addFile(f);

let passed = 0;
let failed = 0;
let skipped = 0;
const runner = mocha.run(() => {
  console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
});
runner.on("pass", () => passed++);
runner.on("fail", () => failed++);
runner.on("pending", () => skipped++);
