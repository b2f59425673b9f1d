import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";

const ROOT = path.join(__dirname, "..", "..");

/**
 * Runs psf commands in a fresh node (TypeScript sources through ts-node) and reports their exit
 * codes, what they printed, and every module under node_modules/@pulumi/ the process loaded.
 */
function runFresh(commands: string[][]): {
  codes: number[];
  stdout: string;
  stderr: string;
  pulumiModules: string[];
} {
  const script = `
    const { main } = require("./cli/main");
    (async () => {
      const codes = [];
      for (const argv of ${JSON.stringify(commands)}) codes.push(await main(argv));
      const pulumiModules = Object.keys(require.cache).filter((f) =>
        f.split(require("path").sep).join("/").includes("/node_modules/@pulumi/"),
      );
      process.stderr.write("\\n@@" + JSON.stringify({ codes, pulumiModules }) + "\\n");
    })();`;
  const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") },
  });
  const marker = r.stderr.lastIndexOf("\n@@");
  assert.ok(marker >= 0, `the child did not finish (exit ${r.status}):\n${r.stderr}`);
  return { ...JSON.parse(r.stderr.slice(marker + 3)), stdout: r.stdout, stderr: r.stderr };
}

describe("psf validate and psf graph without the Pulumi SDK", () => {
  it("validate and graph the dev stack (and validate the k8s one) without loading any @pulumi/ module", () => {
    const r = runFresh([
      ["validate", "--stack", "dev"],
      ["graph", "--stack", "dev"],
      ["validate", "--stack", "k8s"],
    ]);
    assert.deepEqual(r.codes, [0, 0, 0], r.stderr);
    assert.match(r.stdout, /^dev: valid \(2 services\)$/m);
    assert.match(r.stdout, /^k8s: valid \(1 services?\)$/m);
    assert.match(r.stdout, /^flowchart LR$/m);
    // A value import of @pulumi/* in a provider definition, the resolver or the validator
    // (rather than in its *-component.ts module, loaded by `create`) shows up here.
    assert.deepEqual(r.pulumiModules, []);
  });

  it("reports an invalid stack without loading any @pulumi/ module either", () => {
    const r = runFresh([
      ["validate", "--config", path.join(ROOT, "test", "cli", "fixtures", "Pulumi.broken.yaml")],
    ]);
    assert.deepEqual(r.codes, [2]);
    assert.deepEqual(r.pulumiModules, []);
  });

  it("is a check that fails: planning the same stack does load the SDK", () => {
    const r = runFresh([["plan", "--stack", "dev", "--json"]]);
    assert.deepEqual(r.codes, [0], r.stderr);
    assert.ok(
      r.pulumiModules.some((m) => m.includes("/@pulumi/pulumi/")),
      "plan evaluates the program on the SDK",
    );
  });
});
