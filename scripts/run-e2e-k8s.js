#!/usr/bin/env node
// `npm run test:e2e:k8s`: the ci stack on a real Kubernetes cluster (test/e2e-k8s) under the
// real Pulumi engine. It needs the toolchain with the kubernetes plugin
// (bash scripts/toolchain.sh --kubernetes), @pulumi/kubernetes in node_modules at the version
// package-lock.json names (the plugin's), and a cluster: PSF_K8S_KUBECONFIG's, or the local one
// (npm run cluster), started for the run when it is built and stopped after. Without one of
// them it prints one line, `e2e-k8s: SKIPPED (reason)`.
// Ends with "N passed, N failed, N skipped".
"use strict";
const { spawnSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

const root = path.join(__dirname, "..");
const toolchain =
  process.env.PSF_TOOLCHAIN_DIR || path.join(os.homedir(), ".cache", "psf", "toolchain");
/** Minutes the suite takes on 2 cores with a margin (11 min measured under load; CI skips it when fewer are left). */
const NEEDS_MINUTES = 16;

function skip(reason) {
  console.log(`e2e-k8s: SKIPPED (${reason})`);
  console.log("\n0 passed, 0 failed, 1 skipped");
  process.exit(0);
}

const lock = require(path.join(root, "package-lock.json"));
const locked = (pkg) => lock.packages[`node_modules/${pkg}`].version;
const onPath = (exe) =>
  spawnSync("sh", ["-c", `command -v ${exe}`], {
    env: { ...process.env, PATH: `${toolchain}/bin:${process.env.PATH}` },
  }).status === 0;
const plugin = (name) =>
  fs.existsSync(
    path.join(
      toolchain,
      "home",
      "plugins",
      `resource-${name}-v${locked(`@pulumi/${name}`)}`,
      `pulumi-resource-${name}`,
    ),
  );
const missing = [
  ...["pulumi", "pulumi-language-nodejs"].filter((b) => !onPath(b)),
  ...["random", "tls", "command", "kubernetes"].filter((p) => !plugin(p)).map((p) => `plugin ${p}`),
];
if (missing.length)
  skip(`toolchain incomplete: ${missing.join(", ")}; run bash scripts/toolchain.sh --kubernetes`);

// The engine loads the plugin of the version the SDK in node_modules asks for.
const sdk = require(
  path.join(root, "node_modules", "@pulumi", "kubernetes", "package.json"),
).version;
if (sdk !== locked("@pulumi/kubernetes"))
  skip(
    `node_modules has @pulumi/kubernetes ${sdk}, package-lock.json ${locked("@pulumi/kubernetes")} (the plugin's): run npm ci`,
  );

const deadline = Number(process.env.PSF_CI_DEADLINE || 0);
const left = deadline ? Math.floor((deadline - Date.now() / 1000) / 60) : Infinity;
if (left < NEEDS_MINUTES)
  skip(`${left} min left before CI's deadline; it needs about ${NEEDS_MINUTES}`);

require("ts-node").register({ transpileOnly: true, project: path.join(root, "tsconfig.json") });
const { clusterUnavailable } = require(path.join(root, "test", "e2e-k8s", "cluster.ts"));
// The local cluster (npm run cluster) is started when it is built but not running, and stopped
// afterwards; a cluster named by PSF_K8S_KUBECONFIG is used as it is.
const cluster = (...args) =>
  spawnSync("bash", [path.join(root, "scripts", "cluster.sh"), ...args], { stdio: "inherit" });
let started = false;
let why = clusterUnavailable();
if (why && !process.env.PSF_K8S_KUBECONFIG) {
  const built =
    spawnSync("bash", [path.join(root, "scripts", "cluster.sh"), "build", "--cached"], {
      stdio: "ignore",
    }).status === 0;
  if (!built) skip(`no cluster: ${why}; its programs are not built (npm run cluster, ~1 h cold)`);
  console.log("e2e-k8s: starting the local cluster (npm run cluster)");
  if (cluster("start").status !== 0 || (why = clusterUnavailable())) {
    console.log(`e2e-k8s: the local cluster did not start${why ? ` (${why})` : ""}`);
    cluster("stop");
    console.log("\n0 passed, 1 failed, 0 skipped");
    process.exit(1);
  }
  started = true;
}
if (why) skip(`no cluster: ${why}`);

process.env.PATH = `${toolchain}/bin:${process.env.PATH}`;
const Mocha = require("mocha");
const mocha = new Mocha({ timeout: 900000, reporter: "spec", color: false, bail: false });
const dir = path.join(root, "test", "e2e-k8s");
for (const f of fs
  .readdirSync(dir)
  .filter((f) => f.endsWith(".test.ts"))
  .sort())
  mocha.addFile(path.join(dir, f));
let passed = 0,
  failed = 0,
  skipped = 0;
const runner = mocha.run(() => {
  if (started) cluster("stop");
  console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exitCode = failed > 0 ? 1 : 0;
});
runner.on("pass", () => passed++);
runner.on("fail", () => failed++);
runner.on("pending", () => skipped++);
