// A generated stack of N services, each needing every contract the registry can serve.
"use strict";
const fs = require("fs");
const path = require("path");
const YAML = require("yaml");
require("ts-node").register({
  transpileOnly: true,
  project: path.join(__dirname, "..", "tsconfig.json"),
});
const { registry } = require("../providers");

const has = (contract, name) =>
  registry.providers.some((p) => p.contract === contract && p.name === name);

function generatedStack(n) {
  const providers = { secrets: { use: "generated" }, ssl: { use: "selfsigned" } };
  if (has("database", "postgres")) providers.database = { use: "postgres" };
  if (has("proxy", "nginx")) providers.proxy = { use: "nginx" };
  if (has("backup", "borg")) providers.backup = { use: "borg" };
  const services = {};
  for (let i = 0; i < n; i++) {
    const name = `app${i}`;
    const needs = { secrets: { name: `${name}-key` } };
    const env = { APP_KEY: "{{ secrets.value }}", MODE: "production" };
    if (providers.database) {
      needs.database = { name: `app${i}`, extensions: ["pg_trgm"] };
      env.DATABASE_URL = "{{ database.url }}";
    }
    if (providers.proxy) needs.proxy = { auth: "none" };
    if (providers.backup) needs.backup = { volumes: ["data"], database: !!providers.database };
    services[name] = {
      image: `registry.example.org/team/${name}:1.0.${i}`,
      port: 8080,
      env,
      volumes: { data: "/data" },
      healthcheck: { http: "/health" },
      needs,
    };
  }
  return {
    "psf:environment": "staging",
    "psf:domain": "bench.example.org",
    "psf:providers": providers,
    "psf:services": services,
  };
}

/** Writes the generated stack of N services as DIR/Pulumi.benchN.yaml and returns its path. */
function writeGeneratedStack(dir, n) {
  const file = path.join(dir, `Pulumi.bench${n}.yaml`);
  fs.writeFileSync(file, YAML.stringify({ config: generatedStack(n) }));
  return file;
}

module.exports = { generatedStack, writeGeneratedStack };
