// A compose project in a private temporary directory (mode 0700; the compose file, which holds
// the stack's secrets, 0600), under its own project name, and `docker compose` on it.
"use strict";
const fs = require("fs");
const path = require("path");
const YAML = require("yaml");
const { onInterrupt, run, withTempDir } = require("../lib");

const PROJECT = "psf-bench-compose";
const WAIT_SECONDS = 600;

/**
 * Runs `fn(project)` with `{ compose, files }` (bench/compose/generate.js) written out; after,
 * the project is taken down (`down -v`) and its directory deleted, the secrets with it.
 */
async function withProject({ compose, files }, fn) {
  return withTempDir("psf-bench-compose-", async (dir) => {
    const forget = onInterrupt(() =>
      console.log(
        `bench: interrupted; to remove the containers: docker compose -p ${PROJECT} down -v`,
      ),
    );
    for (const f of files) {
      const file = path.join(dir, f.path);
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      fs.writeFileSync(file, f.content, { mode: f.mode });
      fs.chmodSync(file, f.mode);
    }
    const composeFile = path.join(dir, "compose.yaml");
    fs.writeFileSync(composeFile, YAML.stringify(compose, { lineWidth: 0 }), { mode: 0o600 });
    const dc = (...args) =>
      run("docker", ["compose", "-p", PROJECT, "-f", composeFile, ...args], { cwd: dir });
    const project = {
      services: Object.keys(compose.services).length,
      up: () => dc("up", "-d", "--wait", "--wait-timeout", String(WAIT_SECONDS)),
      down: () => dc("down", "-v", "--remove-orphans"),
    };
    try {
      return await fn(project);
    } finally {
      await project.down();
      forget();
    }
  });
}

module.exports = { withProject };
