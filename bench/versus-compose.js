// PSF beside Docker Compose on the same workloads: the `ci` stack (stacks/Pulumi.ci.yaml),
// copied as stack `benchci` with its own network and host ports so it never touches a `ci`
// deployment, and the compose project generated from what PSF deployed
// (bench/compose/generate.js). Timed, RUNS each: PSF no-op preview, no-op up, up from nothing
// (after `psf destroy`); Compose `up -d --wait` from nothing (after `down -v`) and no-op. The two
// bind the same host ports, so they run one after the other; everything is removed after.
"use strict";
const fs = require("fs");
const path = require("path");
const YAML = require("yaml");
const { ROOT, fmt, must, psf, reason, skipped, timed } = require("./lib");
const { exportWithSecrets, withStack } = require("./pulumi");
const { composeFromDeployment } = require("./compose/generate");
const { withProject } = require("./compose/project");
const { composeReady, dockerReady } = require("./compose/ready");
const { profilePreview } = require("./preview-profile");

const STACK = "benchci";
/** Host ports of the copy: the ci stack's plus this, so both can be deployed at once. */
const PORT_SHIFT = 10000;

/** The ci stack's config with its own network and host ports. */
function benchConfig() {
  const doc = YAML.parse(fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.ci.yaml"), "utf8"));
  const config = doc.config;
  config["psf:target"] = { ...config["psf:target"], network: `psf-${STACK}` };
  const proxy = config["psf:providers"]?.proxy;
  for (const key of ["httpPort", "httpsPort"])
    if (proxy?.[key]) proxy[key] = Number(proxy[key]) + PORT_SHIFT;
  return config;
}

/** A line's note when a "no-op" run found something to change. */
function changed(r) {
  const m =
    /(\d+) (to create|to update|to replace|to delete|created|updated|replaced|deleted)/.exec(r.out);
  return m ? ` (not a no-op: ${m[0]})` : "";
}

/** The PSF side, ending with the stack destroyed; `{ skipped }` when psf up cannot run. */
async function psfTimings() {
  const first = await psf(["up", "--stack", STACK]);
  // Exit 3: a prerequisite is missing (no Pulumi toolchain, say); nothing to measure.
  if (first.code === 3) return { skipped: reason(first) };
  must(first, `psf up --stack ${STACK}`);
  console.log(`  psf up (first, untimed: images, stack): ${fmt(first.ms)}`);
  const notes = [];
  const noop = (verb) => async () => {
    const r = must(await psf([verb, "--stack", STACK]), `psf ${verb}`);
    if (changed(r)) notes.push(`${verb}${changed(r)}`);
    return r.ms;
  };
  const noopPreview = await timed("psf preview (no-op)", noop("preview"));
  const noopUp = await timed("psf up (no-op)", noop("up"));
  const profile = await profilePreview(STACK);
  // The compose file comes from this deployment, before the runs below replace it.
  const model = composeFromDeployment(await exportWithSecrets(STACK));
  const upFromNothing = await timed("psf up from nothing", async () => {
    must(await psf(["destroy", "--stack", STACK]), "psf destroy");
    return must(await psf(["up", "--stack", STACK]), "psf up").ms;
  });
  // Compose binds the same host ports: PSF's containers go first.
  must(await psf(["destroy", "--stack", STACK]), "psf destroy");
  for (const n of notes) console.log(`  note: ${n}`);
  return { model, times: { noopPreview, noopUp, upFromNothing, notes, profile } };
}

function composeTimings(model) {
  return withProject(model, async (project) => {
    const up = async () => must(await project.up(), "docker compose up -d --wait").ms;
    const upFromNothing = await timed("compose up -d --wait from nothing", async () => {
      must(await project.down(), "docker compose down -v");
      return up();
    });
    const noopUp = await timed("compose up -d --wait (no-op)", up);
    return { upFromNothing, noopUp, services: project.services };
  });
}

async function composeBench() {
  const docker = await dockerReady();
  if (docker.reason) return skipped("psf vs compose", docker.reason);
  const compose = await composeReady();
  console.log(
    `psf vs compose: the ci stack's workloads as stack ${STACK} (own network, ports +${PORT_SHIFT})`,
  );
  const p = await withStack(STACK, benchConfig(), "bench/versus-compose.js", psfTimings);
  if (p.skipped) return skipped("psf vs compose", p.skipped);
  const result = { dockerVersion: docker.version, psf: p.times };
  if (compose.reason) {
    console.log(`compose: SKIPPED (${compose.reason})`);
    return { ...result, compose: { skipped: compose.reason } };
  }
  console.log(
    `  compose ${compose.version}: ${Object.keys(p.model.compose.services).length} services`,
  );
  return { ...result, composeVersion: compose.version, compose: await composeTimings(p.model) };
}

module.exports = { composeBench };
