import { strict as assert } from "assert";
import { execFile, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DockerTarget, httpProbe } from "../../components/targets/docker";
import { Deployed } from "../../components/targets/target";
import { Workload } from "../../components/workload";
import { Declared, installMocks, recorded, resetDeclared, valueOf } from "../support/mocks";
import { TestRoot, declaredSoFar, plain } from "./helpers";

/** Props and options of every resource, as the SDK saw them before serialization. */
const seen = new Map<
  string,
  { type: string; props: pulumi.Inputs; opts: pulumi.CustomResourceOptions }
>();
const capture: pulumi.ResourceTransformation = (args) => {
  seen.set(args.name, { type: args.type, props: args.props, opts: args.opts });
  return undefined;
};

const NASTY = `it's "quoted" $HOME \`x\` \\ ü\nsecond line`;

/** Files the reload test writes for real: under a temp dir, since the fake `docker exec` runs locally. */
const reloadDir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-reload-"));

const workloads: Record<string, Workload> = {
  api: {
    name: "api",
    component: "app",
    partOf: "api",
    image: "ghcr.io/example/api:2.0",
    ports: [{ name: "http", containerPort: 3000 }],
    healthcheck: {
      http: { path: "/", port: 3000 },
      intervalSeconds: 5,
      timeoutSeconds: 2,
      retries: 3,
      startPeriodSeconds: 0,
    },
    stateful: false,
  },
  web: {
    name: "web",
    component: "app",
    partOf: "web",
    image: "ghcr.io/example/web:1.0",
    env: { MODE: "production" },
    files: [
      { path: "/etc/web/config.json", content: "{}" },
      { path: "/etc/web/secret.key", content: "k3y", secret: true },
    ],
    ports: [
      { name: "http", containerPort: 8080, hostPort: 8080 },
      { name: "internal", containerPort: 9000 },
    ],
    healthcheck: {
      http: { path: "/healthz", port: 8080 },
      intervalSeconds: 5,
      timeoutSeconds: 2,
      retries: 3,
      startPeriodSeconds: 0,
    },
    stateful: false,
    resources: { memoryLimit: "512M" },
  },
  db: {
    name: "db",
    component: "database",
    partOf: "postgres",
    image: "postgres:15",
    secretEnv: { POSTGRES_PASSWORD: pulumi.secret("pw") },
    volumes: [{ volume: { owner: "db", name: "data" }, mountPath: "/var/lib/postgresql/data" }],
    stateful: true,
    resources: { memoryLimit: "1G" },
  },
  backup: {
    name: "backup",
    component: "backup",
    partOf: "borg",
    image: "ghcr.io/example/borg:1.2",
    command: ["borg", "create"],
    args: ["::{now}", "/data"],
    env: { BORG_REPO: "/repo", ODD: NASTY },
    secretEnv: { BORG_PASSPHRASE: pulumi.secret("pass phrase") },
    volumes: [{ volume: { owner: "db", name: "data" }, mountPath: "/data", readOnly: true }],
    healthcheck: {
      command: ["true"],
      intervalSeconds: 5,
      timeoutSeconds: 2,
      retries: 3,
      startPeriodSeconds: 0,
    },
    schedule: "15 3 * * 1-5",
    stateful: false,
  },
  proxy: {
    name: "proxy",
    component: "proxy",
    partOf: "nginx",
    image: "nginx:1.27",
    files: [
      { path: `${reloadDir}/conf/nginx.conf`, content: `events {}\n# ${NASTY}\n` },
      {
        path: `${reloadDir}/tls/key.pem`,
        content: pulumi.secret("-----KEY-----\n"),
        secret: true,
        mode: 0o600,
      },
    ],
    reloadCommand: ["nginx", "-s", "reload"],
    stateful: false,
    resources: { memoryLimit: String(128 * 1024 * 1024) },
  },
};

const deployed: Record<string, Deployed> = {};
let resources: Declared[] = [];
const ofType = (type: string) => resources.filter((r) => r.type === `docker:index/${type}`);
const containerInputs = (name: string) =>
  ofType("container:Container").find((r) => r.name === name)!.inputs;

/** Runs a shell command asynchronously (the probed server lives in this process). */
function sh(script: string, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) =>
    execFile("/bin/sh", ["-c", script], { env }, (err) =>
      resolve(err ? Number((err as { code?: number }).code ?? 1) : 0),
    ),
  );
}

describe("Docker target", () => {
  before(async () => {
    installMocks("test");
    resetDeclared();
    seen.clear();
    const root = new TestRoot("root", { transformations: [capture] });
    const target = new DockerTarget({ prefix: "psf-test", labels: { "psf.stack": "test" } }, root);
    for (const w of Object.values(workloads)) deployed[w.name] = target.deploy(w, { parent: root });
    await declaredSoFar();
    resources = [...recorded()];
  });
  after(() => fs.rmSync(reloadDir, { recursive: true, force: true }));

  it("puts every container on one network, reachable by its workload name", () => {
    const networks = ofType("network:Network");
    assert.equal(networks.length, 1);
    assert.equal(networks[0].inputs.name, "psf-test");
    for (const name of Object.keys(workloads)) {
      assert.deepEqual(
        containerInputs(name).networksAdvanced,
        [{ name: "psf-test", aliases: [name] }],
        name,
      );
      assert.equal(deployed[name].address, name);
    }
  });

  it("creates each named volume once, as psf-<stack>-<owner>-<volume>, shared by its mounts", () => {
    assert.deepEqual(
      ofType("volume:Volume").map((v) => v.inputs.name),
      ["psf-test-db-data"],
    );
    assert.deepEqual(containerInputs("db").mounts, [
      {
        type: "volume",
        source: "psf-test-db-data",
        target: "/var/lib/postgresql/data",
        readOnly: false,
      },
    ]);
    assert.deepEqual(containerInputs("backup").mounts, [
      { type: "volume", source: "psf-test-db-data", target: "/data", readOnly: true },
    ]);
  });

  it("uploads files, keeping secret files' content secret", async () => {
    const uploads = seen.get("web")!.props.uploads as Array<{
      file: string;
      content: pulumi.Input<string>;
      permissions: string;
    }>;
    assert.deepEqual(
      uploads.map((u) => [u.file, u.permissions]),
      [
        ["/etc/web/config.json", "0644"],
        ["/etc/web/secret.key", "0600"],
      ],
    );
    assert.equal(await pulumi.isSecret(pulumi.output(uploads[0].content)), false);
    assert.equal(await pulumi.isSecret(pulumi.output(uploads[1].content)), true);
    assert.deepEqual(
      plain(containerInputs("web").uploads).map((u: { content: string }) => u.content),
      ["{}", "k3y"],
    );
  });

  it("waits for the health check when there is one", () => {
    assert.equal(containerInputs("web").wait, true);
    assert.equal(containerInputs("web").waitTimeout, 0 + 3 * (5 + 2) + 30);
    assert.equal(containerInputs("db").wait, false);
    assert.equal(containerInputs("db").healthcheck, undefined);
  });

  it("lets Docker name a stateless container without host ports, so its replacement starts beside it", () => {
    // Create-before-delete: the old container serves until the new one passes its health check.
    assert.equal(containerInputs("api").name, undefined);
    assert.equal(seen.get("api")!.opts.deleteBeforeReplace, false);
    assert.equal(containerInputs("api").wait, true);
    assert.deepEqual(containerInputs("api").networksAdvanced[0].aliases, ["api"]);
  });

  it("replaces a stateless container that binds a host port delete-before-create, under a fixed name", () => {
    // Two containers cannot bind the same host port, so it cannot start beside its old copy.
    assert.equal(containerInputs("web").name, "psf-test-web");
    assert.equal(seen.get("web")!.opts.deleteBeforeReplace, true);
  });

  it("gives stateful and scheduled containers a fixed name and replaces them delete-before-create", () => {
    for (const name of ["db", "backup"]) {
      assert.equal(containerInputs(name).name, `psf-test-${name}`);
      assert.equal(seen.get(name)!.opts.deleteBeforeReplace, true, name);
    }
  });

  it("publishes only ports with a host port, on loopback by default", () => {
    assert.deepEqual(containerInputs("web").ports, [
      { internal: 8080, external: 8080, ip: "127.0.0.1", protocol: "tcp" },
    ]);
    assert.deepEqual(containerInputs("db").ports, []);
  });

  it("limits memory in megabytes, reading a bare number as bytes", () => {
    assert.equal(containerInputs("web").memory, 512);
    assert.equal(containerInputs("db").memory, 1024);
    assert.equal(containerInputs("proxy").memory, 128);
    assert.equal(containerInputs("backup").memory, undefined);
  });

  it("keeps secret env out of plain state", () => {
    assert.ok(!Array.isArray(containerInputs("db").envs), "the envs list is wrapped as a secret");
    assert.deepEqual(plain(containerInputs("db").envs), ["POSTGRES_PASSWORD=pw"]);
    assert.deepEqual(containerInputs("web").envs, ["MODE=production"]);
  });

  describe("a scheduled workload", () => {
    const file = (p: string) =>
      plain(containerInputs("backup").uploads).find((u: { file: string }) => u.file === p);

    it("becomes a container running cron, with no health check and no env of its own", () => {
      const c = containerInputs("backup");
      assert.deepEqual(c.entrypoints, ["/bin/sh", "-c"]);
      assert.deepEqual(c.command, ["cron -f"]);
      assert.deepEqual(c.envs, []);
      assert.equal(c.healthcheck, undefined);
      assert.equal(c.wait, false);
    });

    it("installs a crontab that runs the job on the schedule as root, logging to the container", () => {
      const crontab = file("/etc/cron.d/psf-job");
      assert.equal(crontab.permissions, "0644");
      const line = crontab.content.split("\n").find((l: string) => /^\d/.test(l));
      const fields = line.split(/\s+/);
      assert.deepEqual(fields.slice(0, 5), ["15", "3", "*", "*", "1-5"]);
      assert.deepEqual(fields.slice(5, 7), ["root", "/usr/local/bin/psf-job"]);
      assert.match(crontab.content, /^SHELL=\/bin\/sh$/m);
    });

    it("writes a job script that sh runs with the job's env and exact arguments", async () => {
      const job = file("/usr/local/bin/psf-job");
      const env = file("/etc/psf/job.env");
      assert.equal(job.permissions, "0755");
      assert.equal(env.permissions, "0600");
      const uploads = seen.get("backup")!.props.uploads as Array<{
        file: string;
        content: pulumi.Input<string>;
      }>;
      assert.equal(
        await secretInput(uploads.find((u) => u.file === "/etc/psf/job.env")!.content),
        true,
      );
      assert.equal(
        await secretInput(uploads.find((u) => u.file === "/usr/local/bin/psf-job")!.content),
        false,
      );
      // Run the real script with sh: its env file at a temp path, `exec` replaced by printing argv.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-job-"));
      try {
        fs.writeFileSync(path.join(dir, "job.env"), env.content);
        const script = job.content
          .replace("/etc/psf/job.env", path.join(dir, "job.env"))
          .replace(
            /^exec /m,
            `exec ${process.execPath} -e 'console.log(JSON.stringify({argv: process.argv.slice(1), repo: process.env.BORG_REPO, pass: process.env.BORG_PASSPHRASE, odd: process.env.ODD}))' `,
          );
        const r = spawnSync("/bin/sh", ["-c", script], {
          encoding: "utf8",
          env: { PATH: process.env.PATH },
        });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(JSON.parse(r.stdout), {
          argv: ["borg", "create", "::{now}", "/data"],
          repo: "/repo",
          pass: "pass phrase",
          odd: NASTY,
        });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it("offers a command that runs the job now", async () => {
      assert.equal(
        await valueOf(deployed.backup.runNow),
        "docker exec psf-test-backup /usr/local/bin/psf-job",
      );
      assert.equal(deployed.web.runNow, undefined);
    });
  });

  describe("a workload with a reload command", () => {
    const reload = () =>
      resources.find((r) => r.type === "command:local:Command" && r.name === "proxy-reload");

    it("gets a local command that depends on its container, with the files as a secret on stdin", async () => {
      assert.ok(reload(), "a command:local:Command named proxy-reload");
      assert.equal(resources.filter((r) => r.type === "command:local:Command").length, 1);
      const { props, opts } = seen.get("proxy-reload")!;
      assert.equal(await secretInput(props.stdin as pulumi.Input<string>), true);
      assert.deepEqual(opts.dependsOn, [deployed.proxy.resources[0]]);
      assert.equal(deployed.proxy.resources.length, 2);
      // Uploads are applied by the reload step, not by replacing the container.
      assert.deepEqual(seen.get("proxy")!.opts.ignoreChanges, ["uploads"]);
      assert.equal(seen.get("web")!.opts.ignoreChanges, undefined);
    });

    /** A fake `docker` (`exec [-i] <container> cmd...` runs cmd here) and `nginx`, both logging their calls. */
    function fakeTools(): { bin: string; calls: () => string[] } {
      const bin = fs.mkdtempSync(path.join(os.tmpdir(), "psf-fake-docker-"));
      const log = path.join(bin, "calls.log");
      fs.writeFileSync(
        path.join(bin, "docker"),
        `#!/bin/sh\necho "docker $1 $2" >> ${log}\n[ "$1" = exec ] || exit 9\nshift\n[ "$1" = -i ] && shift\nshift\nexec "$@"\n`,
        { mode: 0o755 },
      );
      fs.writeFileSync(path.join(bin, "nginx"), `#!/bin/sh\necho "nginx $*" >> ${log}\n`, {
        mode: 0o755,
      });
      const calls = () =>
        fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [];
      return { bin, calls };
    }

    it("writes every file byte for byte with its mode in one docker exec, then reloads; unchanged files reload nothing (real sh, fake docker)", () => {
      const cmd = plain(reload()!.inputs);
      const { bin, calls } = fakeTools();
      const run = (stdin: string) =>
        spawnSync(cmd.interpreter[0], [...cmd.interpreter.slice(1), cmd.create], {
          encoding: "utf8",
          input: stdin,
          env: { ...cmd.environment, PATH: `${bin}:${process.env.PATH}` },
        });
      try {
        let r = run(cmd.stdin);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(
          fs.readFileSync(`${reloadDir}/conf/nginx.conf`, "utf8"),
          `events {}\n# ${NASTY}\n`,
        );
        assert.equal(fs.readFileSync(`${reloadDir}/tls/key.pem`, "utf8"), "-----KEY-----\n");
        assert.equal(fs.statSync(`${reloadDir}/conf/nginx.conf`).mode & 0o777, 0o644);
        assert.equal(fs.statSync(`${reloadDir}/tls/key.pem`).mode & 0o777, 0o600);
        assert.deepEqual(calls(), [`docker exec -i`, "nginx -s reload"]);

        // A container that already has these files (created with them) is not reloaded.
        r = run(cmd.stdin);
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(calls(), [`docker exec -i`, "nginx -s reload", `docker exec -i`]);

        // One file changed: written, and the server reloaded.
        const files = JSON.parse(cmd.stdin) as Array<{ path: string; b64: string }>;
        files[0].b64 = Buffer.from("events {}\n# changed\n").toString("base64");
        r = run(JSON.stringify(files));
        assert.equal(r.status, 0, r.stderr);
        assert.equal(
          fs.readFileSync(`${reloadDir}/conf/nginx.conf`, "utf8"),
          "events {}\n# changed\n",
        );
        assert.deepEqual(calls().slice(3), [`docker exec -i`, "nginx -s reload"]);
        assert.deepEqual(
          fs.readdirSync(`${reloadDir}/conf`),
          ["nginx.conf"],
          "no temporary file left behind",
        );
      } finally {
        fs.rmSync(bin, { recursive: true, force: true });
      }
    });

    it("takes files larger than an environment variable may be (128 KiB) on stdin", () => {
      const cmd = plain(reload()!.inputs);
      const { bin } = fakeTools();
      try {
        const big = "x".repeat(300 * 1024);
        const file = `${reloadDir}/big/routes.conf`;
        const r = spawnSync(cmd.interpreter[0], [...cmd.interpreter.slice(1), cmd.create], {
          encoding: "utf8",
          input: JSON.stringify([
            { path: file, mode: 0o644, b64: Buffer.from(big).toString("base64") },
          ]),
          env: { ...cmd.environment, PATH: `${bin}:${process.env.PATH}` },
        });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(fs.readFileSync(file, "utf8"), big);
      } finally {
        fs.rmSync(bin, { recursive: true, force: true });
      }
    });
  });

  it("talks to a remote Docker host through its own provider", async () => {
    resetDeclared();
    const remote = new Map<string, pulumi.ResourceOptions>();
    const root = new TestRoot("remote-root", {
      transformations: [(a) => void remote.set(a.name, a.opts)],
    });
    const target = new DockerTarget(
      { prefix: "psf-remote", host: "ssh://ops@example.org", labels: {} },
      root,
    );
    const d = target.deploy(
      { name: "app", component: "app", partOf: "app", image: "nginx:1.27", stateful: true },
      { parent: root },
    );
    await declaredSoFar();
    const providers = recorded().filter((r) => r.type === "pulumi:providers:docker");
    assert.equal(providers.length, 1);
    assert.equal(providers[0].inputs.host, "ssh://ops@example.org");
    for (const name of ["psf-remote-network", "app", "image-nginx:1.27"])
      assert.ok(remote.get(name)!.provider, `${name} uses the provider`);
    assert.equal(
      await valueOf(d.exec(["psql", "-c", "select 1"])),
      "docker -H ssh://ops@example.org exec psf-remote-app psql -c 'select 1'",
    );
  });

  describe("with the static probe built", () => {
    let probed: Declared[] = [];
    before(async () => {
      resetDeclared();
      const root = new TestRoot("probe-root");
      const target = new DockerTarget(
        {
          prefix: "psf-probe",
          labels: {},
          probe: { path: "/cache/psf-probe", sha256: "ab".repeat(32) },
        },
        root,
      );
      for (const w of [
        workloads.api,
        workloads.db,
        { ...workloads.proxy, aliases: ["auth.example.org", "notes.example.org"] },
      ])
        target.deploy(w, { parent: root });
      await declaredSoFar();
      probed = recorded().filter((r) => r.type === "docker:index/container:Container");
    });
    const inputs = (name: string) => probed.find((r) => r.name === name)!.inputs;

    it("checks HTTP health with the probe, exec'd directly: no shell needed in the image", () => {
      assert.deepEqual(inputs("api").healthcheck.tests, [
        "CMD",
        "/.psf/probe",
        "http://127.0.0.1:3000/",
      ]);
    });

    it("copies the probe by path and hash, runnable by any user, only where an HTTP check runs", () => {
      assert.deepEqual(plain(inputs("api").uploads), [
        {
          file: "/.psf/probe",
          source: "/cache/psf-probe",
          sourceHash: "ab".repeat(32),
          permissions: "0755",
        },
      ]);
      assert.deepEqual(plain(inputs("db").uploads ?? []), []);
    });

    it("adds a workload's further names as network aliases", () => {
      assert.deepEqual(inputs("proxy").networksAdvanced, [
        { name: "psf-probe", aliases: ["proxy", "auth.example.org", "notes.example.org"] },
      ]);
    });
  });

  describe("the HTTP health probe (real sh against a real server)", () => {
    let server: http.Server;
    let port = 0;
    let status = 200;
    before(async () => {
      server = http.createServer((req, res) => {
        res.statusCode = req.url === "/healthz" ? status : 404;
        res.end("ok");
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      port = (server.address() as { port: number }).port;
    });
    after(() => server.close());

    /** PATH with only what the bash fallback needs: no curl, no wget. */
    function bareBin(): string {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-bare-"));
      for (const p of ["bash", "head", "grep"])
        fs.symlinkSync(
          spawnSync("sh", ["-c", `command -v ${p}`], { encoding: "utf8" }).stdout.trim(),
          path.join(dir, p),
        );
      return dir;
    }

    for (const variant of ["curl", "wget", "bash /dev/tcp"]) {
      it(`passes for 2xx and fails otherwise, with ${variant}`, async function () {
        let PATH = process.env.PATH ?? "";
        let cleanup = () => {};
        if (variant === "wget") {
          const dir = bareBin();
          fs.symlinkSync(
            spawnSync("sh", ["-c", "command -v wget"], { encoding: "utf8" }).stdout.trim(),
            path.join(dir, "wget"),
          );
          PATH = dir;
          cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
        } else if (variant !== "curl") {
          const dir = bareBin();
          PATH = dir;
          cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
        }
        try {
          status = 200;
          assert.equal(await sh(httpProbe(port, "/healthz"), { PATH }), 0);
          status = 503;
          assert.notEqual(await sh(httpProbe(port, "/healthz"), { PATH }), 0);
          status = 200;
          assert.notEqual(await sh(httpProbe(port, "/missing"), { PATH }), 0);
        } finally {
          cleanup();
        }
      });
    }
  });
});

/** Whether an input the SDK saw is a Pulumi secret. */
function secretInput(v: pulumi.Input<unknown> | undefined): Promise<boolean> {
  return pulumi.isSecret(pulumi.output(v));
}
