import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import * as YAML from "yaml";
import { toolchainEnv } from "../../cli/engine";
import { docker, httpsRequest, projectCopy, sh } from "./support";

const TEMPLATE = "psf-preview-e2e";
const PR = 9014;
const STACK = `pr-${PR}`;
/** A second preview, only a stack file and an empty stack, for the age rule of prune. */
const OLD_PR = 9015;
const HOST = `demo-pr-${PR}.psf-preview.localhost`;
const TEMPLATE_TOKEN = "template-api-token-never-in-a-preview";

/**
 * `psf preview-env` on the real engine and Docker: PR 9014's preview derived from a small
 * template (test/e2e/fixtures/Pulumi.psf-preview-e2e.yaml: demo app, postgres, nginx), up,
 * up again, kept and pruned by prune's rules, taken down, and nothing of it left behind.
 */
describe("preview environments per pull request, end to end", function () {
  this.timeout(1_200_000);
  let dir: string;
  let held: net.Server;
  let heldPort: number;
  let up: { urls: Record<string, string>; ports: Array<{ what: string; port: number }> };
  const xdg = () => path.join(dir, "xdg");
  const env = (): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = {
      ...process.env,
      ...toolchainEnv(),
      XDG_CONFIG_HOME: xdg(),
      PULUMI_SKIP_UPDATE_CHECK: "true",
    };
    // Each stack's own passphrase file, as psf makes it; the default backend in the copy.
    for (const k of [
      "PULUMI_CONFIG_PASSPHRASE",
      "PULUMI_CONFIG_PASSPHRASE_FILE",
      "PULUMI_BACKEND_URL",
      "GH_TOKEN",
      "GITHUB_TOKEN",
    ])
      delete e[k];
    return e;
  };
  const psf = (...args: string[]) =>
    spawnSync(process.execPath, [path.join(dir, "bin", "psf.js"), ...args], {
      cwd: dir,
      env: env(),
      encoding: "utf8",
    });
  const pulumi = (args: string[], extra: NodeJS.ProcessEnv = {}) => {
    const r = spawnSync("pulumi", [...args, "--non-interactive"], {
      cwd: dir,
      env: { ...env(), PULUMI_BACKEND_URL: `file://${path.join(dir, ".pulumi-state")}`, ...extra },
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const passphrase = (stack: string) => path.join(xdg(), "psf", "passphrases", `psf-${stack}`);
  const labelled = (kind: "ps -a" | "network ls" | "volume ls", stack: string) =>
    docker(
      ...kind.split(" "),
      "--format",
      kind === "ps -a" ? "{{.Names}}" : "{{.Name}}",
      "--filter",
      `label=psf.stack=${stack}`,
    )
      .split("\n")
      .filter(Boolean);
  const named = (kind: "ps -a" | "network ls" | "volume ls", stack: string) =>
    docker(...kind.split(" "), "--format", kind === "ps -a" ? "{{.Names}}" : "{{.Name}}")
      .split("\n")
      .filter((n) => n.includes(`psf-${stack}`));
  const stateFiles = (stack: string) =>
    sh(`find ${path.join(dir, ".pulumi-state")} -name '${stack}' -o -name '${stack}.*'`)
      .split("\n")
      .filter(Boolean);

  /** Every trace of a stack: Docker objects (by label and by name), state, stack file, passphrase. */
  const traces = (stack: string) => ({
    containers: [...labelled("ps -a", stack), ...named("ps -a", stack)],
    networks: [...labelled("network ls", stack), ...named("network ls", stack)],
    volumes: [...labelled("volume ls", stack), ...named("volume ls", stack)],
    state: stateFiles(stack),
    stackFile: fs.existsSync(path.join(dir, "stacks", `Pulumi.${stack}.yaml`)),
    passphrase: fs.existsSync(passphrase(stack)),
  });
  const nothing = {
    containers: [],
    networks: [],
    volumes: [],
    state: [],
    stackFile: false,
    passphrase: false,
  };

  before(async () => {
    dir = projectCopy("ci", true);
    fs.rmSync(path.join(dir, "stacks", "Pulumi.ci.yaml"));
    fs.copyFileSync(
      path.join(__dirname, "fixtures", `Pulumi.${TEMPLATE}.yaml`),
      path.join(dir, "stacks", `Pulumi.${TEMPLATE}.yaml`),
    );
    fs.mkdirSync(path.join(dir, ".pulumi-state"));
    // The template holds a secret of its own, encrypted with its passphrase: never the preview's.
    const templatePass = { PULUMI_CONFIG_PASSPHRASE: "template-passphrase" };
    pulumi(["stack", "init", TEMPLATE], templatePass);
    pulumi(
      [
        "config",
        "set",
        "--secret",
        "--path",
        "psf:services.demo.env.API_TOKEN",
        TEMPLATE_TOKEN,
        "--stack",
        TEMPLATE,
      ],
      templatePass,
    );
    // The first port PR 9014's preview would take is busy: the preview must pass over it.
    held = net.createServer();
    heldPort = 21400;
    await new Promise<void>((resolve, reject) => {
      held.once("error", reject);
      held.listen(heldPort, "0.0.0.0", resolve);
    });
  });

  after(() => {
    held?.close();
    for (const pr of [PR, OLD_PR])
      if (fs.existsSync(path.join(dir, "stacks", `Pulumi.pr-${pr}.yaml`)))
        psf("preview-env", "down", "--pr", String(pr));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("brings PR 9014's preview up on its own hosts and ports and prints its URLs as JSON", () => {
    const r = psf("preview-env", "up", "--pr", String(PR), "--from", TEMPLATE, "--json");
    assert.equal(r.status, 0, r.stderr.slice(-4000));
    up = JSON.parse(r.stdout);
    const ports = up.ports.map((p) => p.port);
    assert.equal(ports.length, 2);
    for (const taken of [28080, 28443, heldPort])
      assert.ok(!ports.includes(taken), `port ${taken}`);
    const https = up.ports.find((p) => p.what === "nginx https")!.port;
    assert.deepEqual(up.urls, { demo: `https://${HOST}:${https}` });
  });

  it("serves the demo app at demo-pr-9014 with a fresh database, over TLS from its own CA", async () => {
    const ca = psf("output", "caPem", "--stack", STACK).stdout;
    assert.match(ca, /BEGIN CERTIFICATE/);
    const port = Number(new URL(up.urls.demo).port);
    const first = await httpsRequest({ ca, host: HOST, port });
    assert.deepEqual([first.status, first.body], [200, ""]);
    assert.equal(
      (await httpsRequest({ ca, host: HOST, port, method: "POST", body: "from PR 9014" })).status,
      201,
    );
    assert.equal(
      sh(
        `docker exec psf-${STACK}-postgres psql -U postgres -d demo -Atc "select body from notes"`,
      ),
      "from PR 9014",
    );
  });

  it("runs on its own network and volumes, named after pr-9014, with a secret of its own", () => {
    assert.deepEqual(labelled("network ls", STACK), [`psf-${STACK}`]);
    const volumes = labelled("volume ls", STACK);
    assert.ok(
      volumes.length > 0 && volumes.every((v) => v.startsWith(`psf-${STACK}-`)),
      volumes.join(),
    );
    assert.deepEqual(named("network ls", TEMPLATE), []);
    const demo = docker(
      "ps",
      "-q",
      "--filter",
      `label=psf.stack=${STACK}`,
      "--filter",
      "label=psf.workload=demo",
    );
    const envs = JSON.parse(
      docker("inspect", "--format", "{{json .Config.Env}}", demo),
    ) as string[];
    const token = envs.find((e) => e.startsWith("API_TOKEN="))?.slice("API_TOKEN=".length) ?? "";
    assert.match(token, /^[A-Za-z0-9_-]{32}$/);
    assert.notEqual(token, TEMPLATE_TOKEN);
    const revealed = pulumi(["stack", "export", "--show-secrets", "--stack", STACK], {
      PULUMI_CONFIG_PASSPHRASE_FILE: passphrase(STACK),
    });
    assert.ok(
      !revealed.includes(TEMPLATE_TOKEN),
      "the template's secret is in the preview's state",
    );
    const file = fs.readFileSync(path.join(dir, "stacks", `Pulumi.${STACK}.yaml`), "utf8");
    assert.ok(!file.includes(TEMPLATE_TOKEN));
  });

  it("updates the same preview on a second up, its stack file lost with the checkout: same URL, nothing changed", () => {
    // As in CI, where a fresh checkout has no stacks/Pulumi.pr-N.yaml: restored from the backend.
    fs.rmSync(path.join(dir, "stacks", `Pulumi.${STACK}.yaml`));
    const r = psf("preview-env", "up", "--pr", String(PR), "--from", TEMPLATE, "--json");
    assert.equal(r.status, 0, r.stderr.slice(-4000));
    assert.deepEqual(JSON.parse(r.stdout).urls, up.urls);
    const resources = /Resources:\n([\s\S]*?)\n\n/.exec(r.stderr)?.[1] ?? "";
    assert.match(resources, /^\s+\d+ unchanged$/, resources);
  });

  it("prunes a preview older than the bound and keeps the open, recent one", () => {
    // PR 9015's preview: a stack file from 30 days ago and its (empty) stack under its passphrase.
    const oldStack = `pr-${OLD_PR}`;
    const doc = YAML.parse(
      fs.readFileSync(path.join(dir, "stacks", `Pulumi.${STACK}.yaml`), "utf8"),
    );
    delete doc.encryptionsalt;
    delete doc.config["psf:services"].demo.env.API_TOKEN;
    doc.config["psf:preview"] = {
      pr: OLD_PR,
      from: TEMPLATE,
      createdAt: new Date(Date.now() - 30 * 86_400_000).toISOString(),
    };
    fs.writeFileSync(path.join(dir, "stacks", `Pulumi.${oldStack}.yaml`), YAML.stringify(doc));
    fs.writeFileSync(passphrase(oldStack), "old-preview-passphrase", { mode: 0o600 });
    pulumi(["stack", "init", oldStack], { PULUMI_CONFIG_PASSPHRASE_FILE: passphrase(oldStack) });
    assert.ok(traces(oldStack).state.length > 0);

    const r = psf(
      "preview-env",
      "prune",
      "--older-than",
      "7d",
      "--open",
      `${PR},${OLD_PR}`,
      "--json",
    );
    assert.equal(r.status, 0, r.stderr.slice(-4000));
    const out = JSON.parse(r.stdout);
    assert.deepEqual(
      out.removed.map((x: { stack: string; ok: boolean }) => [x.stack, x.ok]),
      [[oldStack, true]],
    );
    assert.match(out.removed[0].reason, /created 30d ago/);
    assert.deepEqual(out.kept, [STACK]);
    assert.deepEqual(traces(oldStack), nothing);
    assert.ok(labelled("ps -a", STACK).length > 0, "the open preview still runs");
  });

  it("takes the preview down: no container, network, volume, state, stack file or passphrase of pr-9014 remains", () => {
    const before = traces(STACK);
    assert.ok(
      before.containers.length &&
        before.networks.length &&
        before.volumes.length &&
        before.state.length,
    );
    assert.ok(before.stackFile && before.passphrase);
    const r = psf("preview-env", "down", "--pr", String(PR), "--json");
    assert.equal(r.status, 0, r.stderr.slice(-4000));
    assert.deepEqual(JSON.parse(r.stdout).remaining, []);
    assert.deepEqual(traces(STACK), nothing);
    // Again: nothing to take down is not an error.
    const again = psf("preview-env", "down", "--pr", String(PR));
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /nothing to remove/);
  });
});
