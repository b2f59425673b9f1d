// The `pulumi` CLI as `psf` runs it (cli/engine.ts, cli/toolchain.ts): the toolchain first on
// PATH, its plugin cache as PULUMI_HOME, the project's file:// backend and the stack's
// passphrase file. For what psf has no command for: exporting a stack, removing one.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const YAML = require("yaml");
const { ROOT, must, onInterrupt, psf, reason, run } = require("./lib");

/** Where `psf` keeps a stack's passphrase (cli/engine.ts passphraseEnv). */
function passphraseFile(stack) {
  const config = process.env.XDG_CONFIG_HOME ?? path.join(os.homedir(), ".config");
  return path.join(config, "psf", "passphrases", `psf-${stack}`);
}

const BACKEND = process.env.PULUMI_BACKEND_URL ?? `file://${ROOT}/.pulumi-state`;

function pulumiEnv(stack) {
  const dir =
    process.env.PSF_TOOLCHAIN_DIR ?? path.join(os.homedir(), ".cache", "psf", "toolchain");
  const env = {
    ...process.env,
    PULUMI_BACKEND_URL: BACKEND,
    PULUMI_SKIP_UPDATE_CHECK: "true",
  };
  if (fs.existsSync(path.join(dir, "bin", "pulumi")))
    env.PATH = `${path.join(dir, "bin")}:${process.env.PATH ?? ""}`;
  if (!env.PULUMI_HOME && fs.existsSync(path.join(dir, "home", "plugins")))
    env.PULUMI_HOME = path.join(dir, "home");
  if (stack && env.PULUMI_CONFIG_PASSPHRASE === undefined && !env.PULUMI_CONFIG_PASSPHRASE_FILE)
    env.PULUMI_CONFIG_PASSPHRASE_FILE = passphraseFile(stack);
  return env;
}

function pulumi(stack, args) {
  return run("pulumi", [...args, "--stack", stack, "--non-interactive"], {
    env: pulumiEnv(stack),
  });
}

/** The stack's deployment with secret values in the clear: keep it in memory only. */
async function exportWithSecrets(stack) {
  const r = must(await pulumi(stack, ["stack", "export", "--show-secrets"]), "pulumi stack export");
  return JSON.parse(r.stdout).deployment;
}

/**
 * Removes a stack `psf destroy` emptied, its config file and its passphrase, and on a file://
 * backend the checkpoint backups `pulumi stack rm` keeps (the stack was the bench's own).
 */
async function removeStack(stack) {
  const r = await pulumi(stack, ["stack", "rm", "--yes"]);
  if (r.code !== 0 && !/no stack named|not found/i.test(r.out)) {
    // Still holding resources: its file and passphrase stay, to destroy it by hand.
    console.log(`  pulumi stack rm ${stack}: exit ${r.code} (${r.out.trim().split("\n").pop()})`);
    console.log(
      `  left for you: node bin/psf.js destroy --stack ${stack}, then run the bench again`,
    );
    return;
  }
  if (r.code === 0 && BACKEND.startsWith("file://")) {
    const state = path.join(BACKEND.slice("file://".length), ".pulumi");
    fs.rmSync(path.join(state, "backups", "psf", stack), { recursive: true, force: true });
    for (const bak of [".json.bak", ".json.bak.attrs"])
      fs.rmSync(path.join(state, "stacks", "psf", `${stack}${bak}`), { force: true });
    // The empty directories it leaves; one that is not empty stays.
    for (const dir of [
      ["history", "psf"],
      ["locks", "organization", "psf"],
    ])
      try {
        fs.rmdirSync(path.join(state, ...dir, stack));
      } catch {
        // Absent, or not empty.
      }
  }
  fs.rmSync(path.join(ROOT, "stacks", `Pulumi.${stack}.yaml`), { force: true });
  if (!process.env.PULUMI_CONFIG_PASSPHRASE_FILE) fs.rmSync(passphraseFile(stack), { force: true });
}

/**
 * Runs `fn()` with stacks/Pulumi.<stack>.yaml written from `config` for it alone (`by`: which
 * bench file wrote it); after, `psf destroy` and removeStack.
 */
async function withStack(stack, config, by, fn) {
  fs.writeFileSync(
    path.join(ROOT, "stacks", `Pulumi.${stack}.yaml`),
    `# Written by ${by} for one run; removed after.\n${YAML.stringify({ config })}`,
  );
  const forget = onInterrupt(() =>
    console.log(
      `bench: interrupted; to remove stack ${stack}: node bin/psf.js destroy --stack ${stack}`,
    ),
  );
  try {
    return await fn();
  } finally {
    const d = await psf(["destroy", "--stack", stack]);
    if (d.code !== 0) console.log(`  psf destroy --stack ${stack}: ${reason(d)}`);
    await removeStack(stack);
    forget();
  }
}

/** `pulumi version`, or null without a Pulumi CLI. */
async function pulumiVersion() {
  const r = await run("pulumi", ["version"], { env: pulumiEnv() });
  return r.code === 0 ? r.stdout.trim() : null;
}

module.exports = { pulumi, pulumiVersion, exportWithSecrets, withStack };
