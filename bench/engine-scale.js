// A stack of N small services through the real engine, N = 10 and 50 (PSF_BENCH_SCALE): each a
// whoami container (images/whoami, a few MB, starts at once) with an HTTP health check and a
// route through the stack's nginx (none with PSF_BENCH_SCALE_PROXY=0). The stack file is stacks/Pulumi.benchN.yaml for the run
// only. Measured: `psf up` from nothing, a no-op preview after it, and the peak memory of the
// engine (the pulumi CLI and its plugins) and of the language host (the node program) during
// the up (bench/proc-tree.js); then how both grow from the smallest N to the largest.
// Afterwards: `psf destroy`, the stack, its file and its passphrase removed.
"use strict";
const { fmt, must, psf, reason, skipped } = require("./lib");
const { withStack } = require("./pulumi");
const { sampleTree } = require("./proc-tree");
const { dockerReady } = require("./compose/ready");

const SIZES = (process.env.PSF_BENCH_SCALE || "10,50").split(",").map(Number);
/** PSF_BENCH_SCALE_PROXY=0: no nginx, no routes (the containers and their health checks only). */
const PROXY = process.env.PSF_BENCH_SCALE_PROXY !== "0";

function scaleStack(n, proxy = PROXY) {
  const services = {};
  for (let i = 0; i < n; i++)
    services[`w${i}`] = {
      image: "psf/whoami:ci",
      port: 80,
      healthcheck: { http: "/health" },
      ...(proxy ? { needs: { proxy: { auth: "none" } } } : {}),
    };
  const providers = {
    ssl: { use: "selfsigned", organization: "PSF bench" },
    proxy: {
      use: "nginx",
      version: "1.22.1",
      httpPort: 29080,
      httpsPort: 29443,
      listenAddress: "127.0.0.1",
    },
  };
  return {
    "psf:environment": "development",
    "psf:domain": `bench${n}.localhost`,
    "psf:target": { kind: "docker", network: `psf-bench${n}` },
    ...(proxy ? { "psf:images": { nginx: "psf/nginx:ci" }, "psf:providers": providers } : {}),
    "psf:services": services,
  };
}

async function scaleRun(n) {
  const stack = `bench${n}`;
  return withStack(stack, scaleStack(n), "bench/engine-scale.js", async () => {
    let sampler;
    const up = await psf(["up", "--stack", stack], {
      onSpawn: (child) => (sampler = sampleTree(child.pid)),
    });
    const memory = sampler.stop();
    // Exit 3: a prerequisite is missing (no Pulumi toolchain, say); nothing to measure.
    if (up.code === 3) return { services: n, skipped: reason(up) };
    if (up.code !== 0) return { services: n, failed: reason(up) };
    const preview = must(await psf(["preview", "--stack", stack]), "psf preview");
    const r = { services: n, upMs: Math.round(up.ms), noopPreviewMs: Math.round(preview.ms) };
    Object.assign(r, memory ?? {});
    console.log(
      `scale ${String(n).padStart(3)} services: up ${fmt(r.upMs)}, no-op preview ${fmt(r.noopPreviewMs)}; peak engine ${r.engineMb ?? "-"} MB, language host ${r.languageHostMb ?? "-"} MB (psf CLI ${r.psfMb ?? "-"} MB)`,
    );
    return r;
  });
}

/** How a figure grows from the first run to the last: ×ratio and the cost per added service. */
function growth(runs, key, unit) {
  const [a, b] = [runs[0], runs[runs.length - 1]];
  if (!a?.[key] || !b?.[key] || a === b) return null;
  const per = (b[key] - a[key]) / (b.services - a.services);
  return {
    from: a[key],
    to: b[key],
    ratio: Number((b[key] / a[key]).toFixed(2)),
    perService: Number(per.toFixed(unit === "ms" ? 0 : 1)),
  };
}

async function scaleBench() {
  const docker = await dockerReady();
  if (docker.reason) return skipped("scale", docker.reason);
  console.log(
    `scale: stacks of ${SIZES.join(", ")} whoami services through the real engine, ${PROXY ? "each routed through nginx" : "no proxy (PSF_BENCH_SCALE_PROXY=0)"}`,
  );
  const runs = [];
  for (const n of SIZES) {
    const r = await scaleRun(n);
    if (r.skipped) return skipped("scale", r.skipped);
    if (r.failed) {
      console.log(`scale ${n} services: FAILED (${r.failed})`);
      return { proxy: PROXY, runs, failed: `${n} services: ${r.failed}` };
    }
    runs.push(r);
  }
  const g = {
    upMs: growth(runs, "upMs", "ms"),
    engineMb: growth(runs, "engineMb", "MB"),
    languageHostMb: growth(runs, "languageHostMb", "MB"),
  };
  const say = (label, x, unit) =>
    x &&
    console.log(
      `scale growth ${runs[0].services}→${runs[runs.length - 1].services} services, ${label}: ${x.from} → ${x.to} ${unit} (×${x.ratio}, ${x.perService} ${unit} per added service)`,
    );
  say("up", g.upMs, "ms");
  say("engine peak", g.engineMb, "MB");
  say("language host peak", g.languageHostMb, "MB");
  return { proxy: PROXY, runs, growth: g };
}

module.exports = { scaleBench, scaleStack };
