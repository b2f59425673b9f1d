import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as ts from "typescript";

/**
 * The air-gapped toolchain (scripts/toolchain.sh): its plugins must speak the npm SDKs' names,
 * and a real `pulumi up` must load each of them. Skipped until `npm run toolchain` has run;
 * PSF_REQUIRE_TOOLCHAIN=1 turns the skip into a failure. The kubernetes plugin is optional
 * (`toolchain.sh --kubernetes`): PSF_REQUIRE_KUBERNETES=1 makes it required.
 */
const root = path.join(__dirname, "..", "..");
const dir = process.env.PSF_TOOLCHAIN_DIR ?? path.join(os.homedir(), ".cache", "psf", "toolchain");
const bin = path.join(dir, "bin");
const home = path.join(dir, "home");
const lock = JSON.parse(fs.readFileSync(path.join(root, "package-lock.json"), "utf8"));
const sdkVersion = (pkg: string): string => lock.packages[`node_modules/@pulumi/${pkg}`].version;
const plugin = (name: string) =>
  path.join(home, "plugins", `resource-${name}-v${sdkVersion(name)}`, `pulumi-resource-${name}`);
const env = {
  ...process.env,
  PATH: `${bin}:${process.env.PATH}`,
  PULUMI_HOME: home,
  PULUMI_SKIP_UPDATE_CHECK: "true",
};

/** Plugins only some targets need, built when asked for (scripts/toolchain.sh --kubernetes). */
const OPTIONAL = new Set(["kubernetes"]);

function requireToolchain(ctx: Mocha.Context, plugins: string[]): void {
  const missing = [path.join(bin, "pulumi"), ...plugins.map(plugin)].filter(
    (f) => !fs.existsSync(f),
  );
  if (!missing.length) return;
  const optional = plugins.some((p) => OPTIONAL.has(p));
  const why = optional
    ? `the optional plugins are not built (bash scripts/toolchain.sh --kubernetes): missing ${missing.join(", ")}`
    : `the toolchain is not built (npm run toolchain): missing ${missing.join(", ")}`;
  const required = optional
    ? process.env.PSF_REQUIRE_KUBERNETES === "1"
    : process.env.PSF_REQUIRE_TOOLCHAIN === "1";
  if (required) throw new Error(why);
  console.warn(`  skipped: ${why}`);
  ctx.skip();
}

/**
 * The npm SDK a plugin is compared with: node_modules/@pulumi/<name>, or the unpacked package
 * in PSF_SDK_DIR_<NAME> (e.g. `npm pack @pulumi/kubernetes@4.25.0` unpacked, before `npm ci`).
 * It must be the version package-lock.json names; node_modules lags after a lock change.
 */
function sdkDir(ctx: Mocha.Context, pkg: string, installed = false): string {
  const dir =
    (installed ? undefined : process.env[`PSF_SDK_DIR_${pkg.toUpperCase()}`]) ??
    path.join(root, "node_modules", "@pulumi", pkg);
  const have = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")).version;
  if (have === sdkVersion(pkg)) return dir;
  const why = `${dir} is @pulumi/${pkg} ${have}, package-lock.json names ${sdkVersion(pkg)} (npm ci)`;
  if (process.env.PSF_REQUIRE_TOOLCHAIN === "1") throw new Error(why);
  console.warn(`  skipped: ${why}`);
  ctx.skip();
}

type Prop = { $ref?: string; items?: Prop; additionalProperties?: Prop };
type Schema = {
  name: string;
  version: string;
  provider?: { inputProperties?: Record<string, Prop> };
  functions?: Record<string, unknown>;
  resources: Record<
    string,
    {
      inputProperties?: Record<string, Prop>;
      properties?: Record<string, Prop>;
      requiredInputs?: string[];
    }
  >;
  types: Record<string, { properties?: Record<string, Prop> }>;
};

function schemaOf(name: string): Schema {
  const r = spawnSync(path.join(bin, "pulumi"), ["package", "get-schema", plugin(name)], {
    env,
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Schema;
}

/**
 * The module file (no extension) of a resource or type token in an SDK: `index/randomPassword`
 * is randomPassword (random, tls, docker, command); kubernetes nests group and version,
 * `kubernetes:apps/v1:Deployment` is apps/v1/deployment, `helm.sh/v3` is helm/v3.
 */
function moduleFile(sdk: string, tok: string, ext: ".js" | ".d.ts"): string | undefined {
  const [, mod, type] = tok.split(":");
  const lower = `${type[0].toLowerCase()}${type.slice(1)}`;
  const [group, version] = mod.split("/");
  const candidates = mod.includes("/")
    ? [group === "index" ? version : "", `${group.split(".")[0]}/${version}/${lower}`]
    : [`${mod}/${lower}`];
  return candidates
    .filter(Boolean)
    .map((c) => path.join(sdk, c + ext))
    .find((f) => fs.existsSync(f));
}

/**
 * The property names of every interface in an SDK's types/input.d.ts, by qualified name:
 * `ContainerLabel` (top-level, random/tls/docker/command) or `core.v1.Container` (kubernetes
 * nests them in namespaces per group and version).
 */
function inputInterfaces(sdk: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const file = path.join(sdk, "types", "input.d.ts");
  if (!fs.existsSync(file)) return out;
  const src = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.Latest);
  const walk = (node: ts.Node, prefix: string): void => {
    if (ts.isModuleDeclaration(node) && node.body) {
      const inner = `${prefix}${node.name.getText(src)}.`;
      ts.forEachChild(node.body, (c) => walk(c, inner));
    } else if (ts.isInterfaceDeclaration(node)) {
      out.set(
        prefix + node.name.text,
        node.members.filter(ts.isPropertySignature).map((m) => m.name.getText(src)),
      );
    } else ts.forEachChild(node, (c) => walk(c, prefix));
  };
  walk(src, "");
  return out;
}

/** The qualified input.d.ts name of a type token (see inputInterfaces). */
function inputInterface(interfaces: Map<string, string[]>, tok: string): string[] | undefined {
  const [, mod, type] = tok.split(":");
  const [group, version] = mod.split("/");
  return (
    (version && interfaces.get(`${group.split(".")[0]}.${version}.${type}`)) || interfaces.get(type)
  );
}

/** The property names an SDK resource class sends and reads: `resourceInputs["x"]` in its .js. */
function sdkNames(file: string): Set<string> {
  return new Set(
    [...fs.readFileSync(file, "utf8").matchAll(/resourceInputs\["(\w+)"\]/g)].map((m) => m[1]),
  );
}

/**
 * Names the npm SDK uses that the plugin's schema lacks: each would be refused or lost. Also
 * how many input types it compared, so a layout it cannot read fails instead of passing empty.
 */
function sdkOnlyNames(sdk: string, schema: Schema): { names: string[]; typesCompared: number } {
  const interfaces = inputInterfaces(sdk);
  const out: string[] = [];
  const seen = new Set<string>();
  let typesCompared = 0;
  const visit = (p: Prop | undefined): void => {
    if (!p) return;
    if (p.$ref?.startsWith("#/types/")) {
      const tok = decodeURIComponent(p.$ref.slice("#/types/".length));
      if (seen.has(tok)) return;
      seen.add(tok);
      const type = tok.split(":").pop()!;
      const members = inputInterface(interfaces, tok);
      const props = schema.types?.[tok]?.properties ?? {};
      if (members) {
        typesCompared++;
        for (const n of members) if (!(n in props)) out.push(`${type}.${n}`);
      }
      Object.values(props).forEach(visit);
    }
    visit(p.items);
    visit(p.additionalProperties);
  };
  for (const [tok, res] of Object.entries(schema.resources)) {
    const file = moduleFile(sdk, tok, ".js");
    if (!file) continue; // a resource the SDK does not have
    const type = tok.split(":")[2];
    const ours = { ...res.inputProperties, ...res.properties };
    for (const n of sdkNames(file)) if (!(n in ours)) out.push(`${type}.${n}`);
    Object.values(res.inputProperties ?? {}).forEach(visit);
  }
  for (const n of sdkNames(path.join(sdk, "provider.js")))
    if (!(n in (schema.provider?.inputProperties ?? {}))) out.push(`Provider.${n}`);
  return { names: out.sort(), typesCompared };
}

/** Inputs the plugin requires but the SDK lets a program leave out: such a program would fail. */
function requiredBeyondSdk(sdk: string, schema: Schema): string[] {
  const out: string[] = [];
  for (const [tok, res] of Object.entries(schema.resources)) {
    const file = moduleFile(sdk, tok, ".d.ts");
    if (!file) continue;
    const type = tok.split(":")[2];
    const args =
      fs
        .readFileSync(file, "utf8")
        .match(new RegExp(`export interface ${type}Args \\{([\\s\\S]*?)\\n\\}`))?.[1] ?? "";
    const sdkRequired = [...args.matchAll(/^ {4}(?:readonly )?(\w+):/gm)].map((m) => m[1]).sort();
    for (const n of res.requiredInputs ?? [])
      if (!sdkRequired.includes(n)) out.push(`${type}.${n}`);
  }
  return out;
}

/** The resource tokens an SDK registers: `case "<token>":` in its index.js files (kubernetes has one per group and version). */
function sdkResources(sdk: string): string[] {
  return fs
    .readdirSync(sdk, { recursive: true, encoding: "utf8" })
    .filter((f) => path.basename(f) === "index.js" && !f.includes("node_modules"))
    .flatMap((f) =>
      [...fs.readFileSync(path.join(sdk, f), "utf8").matchAll(/case "(\w+:[\w./]+:\w+)":/g)].map(
        (m) => m[1],
      ),
    );
}

/** SDK resource classes the plugin does not serve. */
function missingResources(sdk: string, schema: Schema): string[] {
  const served = new Set(Object.keys(schema.resources));
  return [...new Set(sdkResources(sdk))].filter((t) => !served.has(t)).sort();
}

/** SDK functions (invokes) the plugin does not serve. */
function missingFunctions(sdk: string, schema: Schema): string[] {
  const files = fs
    .readdirSync(sdk, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".js") && !f.includes("node_modules"));
  const tokens = new Set(
    files.flatMap((f) =>
      [...fs.readFileSync(path.join(sdk, f), "utf8").matchAll(/invoke\("([^"]+)"/g)].map(
        (m) => m[1],
      ),
    ),
  );
  return [...tokens].filter((t) => !(t in (schema.functions ?? {}))).sort();
}

describe("the toolchain's plugins", function () {
  this.timeout(120_000);

  // What the rebuilt plugins knowingly lack (scripts/toolchain/*): docker's native buildx Image
  // (pulumi-docker's own code), a Network option the Docker API dropped, command's asset outputs,
  // its local.run function and its remote (SSH) resources.
  const known: Record<string, { names: string[]; resources: string[]; functions: string[] }> = {
    random: { names: [], resources: [], functions: [] },
    tls: { names: [], resources: [], functions: [] },
    docker: {
      names: ["Network.checkDuplicate"],
      resources: ["docker:index/image:Image"],
      functions: [],
    },
    command: {
      names: ["Command.archive", "Command.assets"],
      resources: [
        "command:remote:Command",
        "command:remote:CopyFile",
        "command:remote:CopyToRemote",
      ],
      functions: ["command:local:run"],
    },
    // The provider's own build at its release commit (toolchain.sh --kubernetes): nothing lacks.
    // Its yaml, helm and kustomize invokes are served (provider.go's Invoke) but, upstream,
    // not declared in its schema.
    kubernetes: {
      names: [],
      resources: [],
      functions: [
        "kubernetes:helm:template",
        "kubernetes:kustomize:directory",
        "kubernetes:yaml:decode",
      ],
    },
  };
  for (const [name, expected] of Object.entries(known)) {
    it(`${name}: reports version ${sdkVersion(name)}, every name @pulumi/${name} uses, and no input the SDK leaves optional is required`, function () {
      requireToolchain(this, [name]);
      const sdk = sdkDir(this, name);
      const schema = schemaOf(name);
      assert.equal(`${schema.name} ${schema.version}`, `${name} ${sdkVersion(name)}`);
      const { names, typesCompared } = sdkOnlyNames(sdk, schema);
      assert.deepEqual(names, expected.names);
      if (Object.keys(schema.types ?? {}).length)
        assert.ok(typesCompared > 0, "no input type compared");
      assert.ok(sdkResources(sdk).length > 0, "no resource registration found in the SDK");
      assert.deepEqual(missingResources(sdk, schema), expected.resources);
      assert.deepEqual(missingFunctions(sdk, schema), expected.functions);
      assert.deepEqual(requiredBeyondSdk(sdk, schema), []);
    });
  }
});

describe("a real pulumi up through the toolchain", function () {
  this.timeout(300_000);
  let project: ScratchProject | undefined;
  let image: string | undefined;
  let withDocker = false;
  const suffix = `${process.pid}`;
  const run = (...args: string[]) => project!.run(...args);

  before(function () {
    // The Docker part runs where an engine answers and holds an image (nothing can be pulled here).
    image =
      spawnSync("docker", ["info"], { stdio: "ignore" }).status === 0 ? localImage() : undefined;
    withDocker = image !== undefined;
    if (!withDocker)
      console.warn(
        "  (no Docker engine with an image: the docker plugin is checked by its schema only)",
      );
    requireToolchain(this, ["random", "tls", "command", ...(withDocker ? ["docker"] : [])]);
    if (withDocker) {
      const left = spawnSync("docker", ["ps", "-aq", "--filter", `name=psf-toolchain-${suffix}`], {
        encoding: "utf8",
      });
      assert.equal(left.stdout.trim(), "");
    }
    project = scratchProject("psf-toolchain-check", program(image, suffix), { TRIGGER: "1" });
  });

  after(() => project?.dispose());

  it("creates with every plugin, keeps secrets secret, then previews no changes", () => {
    run("up", "--yes", "--skip-preview");
    const out = JSON.parse(run("stack", "output", "--json"));
    assert.equal(out.password, "[secret]");
    assert.equal(out.keyAlgorithm, "ECDSA");
    assert.match(out.certPem, /^-----BEGIN CERTIFICATE-----/);
    assert.equal(out.echoed, "[secret]", "stdout of a command with a secret input is secret");
    const shown = JSON.parse(run("stack", "output", "--json", "--show-secrets"));
    assert.equal(shown.password.length, 20);
    assert.equal(shown.echoed, "hello-secret-value");
    assert.ok(!run("stack", "export").includes("secret-value"), "no plain secret in the state");
    if (withDocker) {
      const inspect = spawnSync(
        "docker",
        ["inspect", "-f", "{{.State.Running}}", `psf-toolchain-${suffix}`],
        { encoding: "utf8" },
      );
      assert.equal(inspect.stdout.trim(), "true", inspect.stderr);
    }
    run("preview", "--expect-no-changes");
  });

  it("replaces a command when its trigger changes, and destroys everything", () => {
    project!.env.TRIGGER = "2";
    assert.match(run("up", "--yes", "--skip-preview", "--color", "never"), /replaced/);
    run("destroy", "--yes");
    if (withDocker) {
      const left = spawnSync("docker", ["ps", "-aq", "--filter", `name=psf-toolchain-${suffix}`], {
        encoding: "utf8",
      });
      assert.equal(left.stdout.trim(), "");
    }
  });
});

describe("the kubernetes plugin under a real pulumi up, without a cluster", function () {
  this.timeout(300_000);
  let project: ScratchProject | undefined;
  const run = (...args: string[]) => project!.run(...args);

  before(function () {
    requireToolchain(this, ["kubernetes"]);
    // The engine loads the plugin of the version the SDK in node_modules asks for.
    sdkDir(this, "kubernetes", true);
    // renderYamlToDirectory: the provider writes the manifests it would apply, no API server.
    project = scratchProject(
      "psf-toolchain-k8s",
      `import * as k8s from "@pulumi/kubernetes";
const provider = new k8s.Provider("render", { renderYamlToDirectory: "out" });
new k8s.core.v1.ConfigMap("cm", { metadata: { name: "psf-check", namespace: "psf" }, data: { a: process.env.VALUE ?? "1" } }, { provider });
new k8s.apps.v1.Deployment("web", {
  metadata: { name: "web", namespace: "psf" },
  spec: {
    selector: { matchLabels: { app: "web" } },
    template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "psf/demo:ci" }] } },
  },
}, { provider });
`,
      { PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true", VALUE: "1" },
    );
  });

  after(() => project?.dispose());

  it("renders the objects, previews no changes, updates a changed one and destroys", () => {
    run("up", "--yes", "--skip-preview");
    const manifests = path.join(project!.dir, "out", "1-manifest");
    const rendered = fs
      .readdirSync(manifests)
      .map((f) => fs.readFileSync(path.join(manifests, f), "utf8"));
    assert.ok(
      rendered.some((y) => /kind: ConfigMap/.test(y) && /a: "?1"?/.test(y)),
      rendered.join("\n---\n"),
    );
    assert.ok(rendered.some((y) => /kind: Deployment/.test(y) && /image: psf\/demo:ci/.test(y)));
    run("preview", "--expect-no-changes");
    project!.env.VALUE = "2";
    assert.match(run("up", "--yes", "--skip-preview", "--color", "never"), /updated|replaced/);
    run("destroy", "--yes");
    assert.deepEqual(fs.existsSync(manifests) ? fs.readdirSync(manifests) : [], []);
  });
});

function program(image: string | undefined, suffix: string): string {
  return `import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";

const pw = new random.RandomPassword("pw", { length: 20, special: false });
const key = new tls.PrivateKey("key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
const cert = new tls.SelfSignedCert("cert", {
  privateKeyPem: key.privateKeyPem,
  validityPeriodHours: 24,
  allowedUses: ["server_auth"],
  subject: { commonName: "check.local" },
});
const echo = new command.local.Command("echo", {
  create: "echo hello-$VALUE",
  interpreter: ["/bin/sh", "-c"],
  environment: { VALUE: pulumi.secret("secret-value") },
  triggers: [process.env.TRIGGER ?? "1"],
  logging: "none",
});
export const keyAlgorithm = key.algorithm;
export const certPem = cert.certPem;
export const password = pw.result;
export const echoed = echo.stdout;
${
  image
    ? `const net = new docker.Network("net", { name: "psf-toolchain-${suffix}", driver: "bridge" });
const vol = new docker.Volume("vol", { name: "psf-toolchain-${suffix}" });
const img = new docker.RemoteImage("img", { name: "${image}", keepLocally: true });
new docker.Container("c", {
  name: "psf-toolchain-${suffix}",
  image: img.imageId,
  entrypoints: ["/bin/sh", "-c"],
  command: ["sleep 600"],
  envs: ["CHECK=1"],
  mounts: [{ type: "volume", source: vol.name, target: "/data" }],
  networksAdvanced: [{ name: net.name, aliases: ["c"] }],
  uploads: [{ file: "/etc/check.txt", content: "check" }],
});`
    : ""
}
`;
}

/** An image already on the Docker engine, with a shell (not every one has: psf/whoami has none). */
function localImage(): string | undefined {
  const r = spawnSync("docker", ["images", "--format", "{{.Repository}}:{{.Tag}}"], {
    encoding: "utf8",
  });
  const images = r.stdout.split("\n").filter((i) => i && !i.includes("<none>"));
  const hasShell = (i: string) =>
    spawnSync("docker", ["run", "--rm", "--entrypoint", "/bin/sh", i, "-c", "true"], {
      stdio: "ignore",
    }).status === 0;
  return [...images.filter((i) => i.startsWith("psf/")), ...images].find(hasShell);
}

/** A Pulumi project of its own in a temp dir (`index.ts` is `program`), on a file backend. */
interface ScratchProject {
  dir: string;
  /** The engine's environment; a test may change it between runs. */
  env: NodeJS.ProcessEnv;
  /** `pulumi ARGS --non-interactive` there; fails the test on a non-zero exit. */
  run(...args: string[]): string;
  /** Destroys what the stack holds and removes the directory. */
  dispose(): void;
}

function scratchProject(
  name: string,
  program: string,
  extraEnv: NodeJS.ProcessEnv,
): ScratchProject {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
  fs.symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"));
  fs.writeFileSync(
    path.join(dir, "Pulumi.yaml"),
    `name: ${name}\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n`,
  );
  fs.writeFileSync(path.join(dir, "package.json"), `{"name":"${name}","main":"index.ts"}\n`);
  fs.writeFileSync(path.join(dir, "index.ts"), program);
  fs.mkdirSync(path.join(dir, "state"));
  const project: ScratchProject = {
    dir,
    env: {
      ...env,
      PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
      PULUMI_CONFIG_PASSPHRASE: "toolchain-test",
      ...extraEnv,
    },
    run: (...args) => {
      const r = spawnSync(path.join(bin, "pulumi"), [...args, "--non-interactive"], {
        cwd: dir,
        env: project.env,
        encoding: "utf8",
      });
      assert.equal(r.status, 0, `pulumi ${args.join(" ")}\n${r.stdout}\n${r.stderr}`);
      return r.stdout;
    },
    dispose: () => {
      spawnSync(path.join(bin, "pulumi"), ["destroy", "--yes", "--non-interactive"], {
        cwd: dir,
        env: project.env,
      });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  project.run("stack", "init", "t");
  return project;
}
