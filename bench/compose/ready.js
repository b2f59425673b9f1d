// What the Docker sections need, or why they are skipped: a Docker engine that answers (an
// installed, stopped one is started by scripts/docker-engine.sh), and the compose plugin
// (scripts/build-compose.sh builds it from Go modules the first time, minutes on 2 cores).
"use strict";
const path = require("path");
const { ROOT, reason, run } = require("../lib");

/** `{ version }` of the running engine, or `{ reason }` why there is none. */
async function dockerReady() {
  const version = () => run("docker", ["version", "--format", "{{.Server.Version}}"]);
  let r = await version();
  if (r.code === 0) return { version: r.stdout.trim() };
  if (r.code === 127) return { reason: "no docker CLI on PATH" };
  if ((await run("sh", ["-c", "command -v dockerd"])).code !== 0)
    return { reason: "no Docker engine installed (apt-get install docker.io)" };
  const started = await run("bash", [path.join(ROOT, "scripts", "docker-engine.sh")]);
  if (started.code !== 0) return { reason: `the Docker engine did not start: ${reason(started)}` };
  r = await version();
  return r.code === 0 ? { version: r.stdout.trim() } : { reason: reason(r) };
}

/** `{ version }` of `docker compose`, built and installed when missing, or `{ reason }`. */
async function composeReady() {
  console.log("compose: scripts/build-compose.sh (builds Compose from Go modules the first time)");
  const built = await run("bash", [path.join(ROOT, "scripts", "build-compose.sh")]);
  if (built.code !== 0) return { reason: `Compose could not be built: ${reason(built)}` };
  const r = await run("docker", ["compose", "version", "--short"]);
  return r.code === 0 ? { version: r.stdout.trim() } : { reason: reason(r) };
}

module.exports = { dockerReady, composeReady };
