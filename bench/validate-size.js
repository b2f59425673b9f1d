// `node bench/validate-size.js`: how long `psf validate` takes to read and check stack files of
// 100 KB, 1 MB and the 1 MiB limit (the dev stack plus generated services), in-process, after
// start-up. Validation time grows linearly with the file; a file over the limit is refused at once.
"use strict";
const path = require("path");
require("ts-node").register({
  transpileOnly: true,
  project: path.join(__dirname, "..", "tsconfig.json"),
});
const fs = require("fs");
const YAML = require("yaml");
const { readStackText } = require("../components/stack-file");
const { validateConfig } = require("../components/program");
const { notWithin } = require("../components/errors");
const { LIMITS } = require("../components/validate/limits");
const { registry } = require("../providers");

const dev = fs.readFileSync(path.join(__dirname, "..", "stacks", "Pulumi.dev.yaml"), "utf8");

function stackOf(bytes) {
  const doc = YAML.parse(dev);
  const services = doc.config["psf:services"];
  for (let i = 0; YAML.stringify(doc, { lineWidth: 0 }).length < bytes; i += 100)
    for (let j = i; j < i + 100; j++)
      services[`app${j}`] = {
        image: `registry.example.org/team/app${j}:1.0.${j}`,
        port: 8080,
        env: { DATABASE_URL: "{{ database.url }}", MODE: "production", INDEX: `${j}` },
        volumes: { data: "/data" },
        healthcheck: { http: "/health" },
        needs: { database: { name: `app${j}` }, proxy: { auth: "none" } },
      };
  let text = YAML.stringify(doc, { lineWidth: 0 });
  // Trim whole services from the end until the file fits.
  while (Buffer.byteLength(text) > bytes) {
    const names = Object.keys(services);
    delete services[names[names.length - 1]];
    text = YAML.stringify(doc, { lineWidth: 0 });
  }
  return { text, services: Object.keys(services).length };
}

function validate(text) {
  const read = readStackText(text, "<file>");
  if (read.fatal) return read.issues;
  return [
    ...read.issues,
    ...notWithin(read.issues, validateConfig(read.raw, "bench", registry).issues),
  ];
}

const sizes = [100_000, 1_000_000, LIMITS.fileBytes];
for (const bytes of sizes) {
  const { text, services } = stackOf(bytes);
  const times = [];
  let issues = [];
  for (let k = 0; k < 5; k++) {
    const started = process.hrtime.bigint();
    issues = validate(text);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(
    `validate ${String(Buffer.byteLength(text)).padStart(8)} bytes (${String(services).padStart(4)} services): median ${Math.round(times[2])} ms, min ${Math.round(times[0])} ms${issues.length ? `, ${issues.length} issues` : ""}`,
  );
}
const over = "x".repeat(LIMITS.fileBytes + 1);
const started = process.hrtime.bigint();
const refused = validate(over);
console.log(
  `validate ${LIMITS.fileBytes + 1} bytes: refused in ${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(1)} ms (${refused[0].message})`,
);
