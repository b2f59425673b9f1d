#!/usr/bin/env node
// `npm run docs`: rewrites the generated blocks of docs/providers/*.md and docs/contracts.md
// from the settings and request specs (scripts/docs/pages.ts). `--check` writes nothing and
// exits 1 when a page differs. Reads provider definitions only: no Pulumi is loaded.
"use strict";
const fs = require("fs");
const path = require("path");
const { registerTsNode, root } = require("../bin/fresh-build");

registerTsNode();
const { pageStates } = require("./docs/pages");
const { registry } = require("../providers/index");

async function main(argv) {
  const check = argv.includes("--check");
  const states = await pageStates(root, registry);
  for (const s of states) {
    if (check || s.current === s.next) continue;
    fs.writeFileSync(path.join(root, s.page), s.next);
    console.log(`docs: rewrote ${s.page}`);
  }
  const problems = states.flatMap((s) => (check ? [...s.problems, ...s.stale] : s.stale));
  for (const p of problems) console.error(`docs: ${p}`);
  if (check && problems.length) console.error("  hint: run `npm run docs`");
  else if (problems.length) console.error("  hint: remove those blocks (their markers included)");
  return problems.length ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(`docs: ${e && e.stack ? e.stack : e}`);
    process.exit(1);
  },
);
