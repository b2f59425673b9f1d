import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { evaluate } from "../../cli/mock-engine";
import { kubectlBase } from "../../components/targets/kubernetes-commands";
import {
  KubernetesTarget,
  KubernetesTargetArgs,
  imagesChanged,
} from "../../components/targets/kubernetes";
import { Deployed } from "../../components/targets/target";
import { Workload } from "../../components/workload";
import { registry } from "../../providers";
import { valueOf } from "../support/mocks";
import { validateObject } from "../support/kubernetes-schema";
import { TestRoot } from "./helpers";

/** The argv a real `sh` passes to kubectl for a printed command line (kubectl itself is a function that prints it). */
function kubectlArgv(commandLine: string): string[] {
  const r = spawnSync("sh", ["-c", `kubectl() { printf '%s\\0' "$@"; }; ${commandLine}`], {
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split("\0").slice(0, -1);
}

const workloads: Workload[] = [
  {
    name: "db",
    component: "database",
    partOf: "db",
    image: "postgres:16",
    secretEnv: { POSTGRES_PASSWORD: pulumi.secret("superuser-password-xyz") },
    volumes: [
      { volume: { owner: "db", name: "data" }, mountPath: "/var/lib/postgresql/data", size: "5Gi" },
    ],
    ports: [{ name: "postgres", containerPort: 5432 }],
    stateful: true,
  },
  {
    name: "app",
    component: "app",
    partOf: "app",
    image: "example/app:1",
    volumes: [{ volume: { owner: "app", name: "data" }, mountPath: "/data" }],
    ports: [{ name: "http", containerPort: 8080 }],
    stateful: false,
  },
  {
    name: "backup-app",
    component: "backup",
    partOf: "borg",
    image: "psf/borg:1",
    command: ["/usr/local/bin/psf-backup"],
    files: [
      { path: "/usr/local/bin/psf-restore", content: "#!/bin/sh\necho restore\n", mode: 0o755 },
      {
        path: "/etc/psf/backup.env",
        content: pulumi.secret("BORG_PASSPHRASE=very-secret-passphrase\n"),
        secret: true,
        mode: 0o600,
      },
    ],
    volumes: [
      { volume: { owner: "app", name: "data" }, mountPath: "/restore/volumes/data" },
      { volume: { owner: "borg", name: "repository" }, mountPath: "/repository" },
    ],
    schedule: "0 3 * * *",
    stateful: false,
  },
];

const targetArgs = (over: Partial<KubernetesTargetArgs> = {}): KubernetesTargetArgs => ({
  kind: "kubernetes",
  namespace: "apps",
  context: "prod cluster",
  proxyMode: "loadbalancer",
  createNamespace: true,
  clusterDomain: "cluster.local",
  volumeAccessMode: "ReadWriteOnce",
  labels: { "psf.stack": "t" },
  stack: { services: { app: {} } } as unknown as KubernetesTargetArgs["stack"],
  ...over,
});

interface Seen {
  name: string;
  type: string;
  props: Record<string, any>;
  opts: pulumi.CustomResourceOptions;
}

/** Deploys the workloads on a target, offline, keeping every resource's options. */
async function deployAll(args: KubernetesTargetArgs): Promise<{
  deployed: Record<string, Deployed>;
  seen: Seen[];
  names: Map<pulumi.Resource, string>;
}> {
  const seen: Seen[] = [];
  const names = new Map<pulumi.Resource, string>();
  const deployed: Record<string, Deployed> = {};
  await evaluate(registry, {}, "t", () => {
    const capture: pulumi.ResourceTransformation = (a) => {
      seen.push({
        name: a.name,
        type: a.type,
        props: a.props,
        opts: a.opts as pulumi.CustomResourceOptions,
      });
      names.set(a.resource, `${a.type.split(":").pop()}/${a.name}`);
      return undefined;
    };
    const root = new TestRoot("root", { transformations: [capture] });
    const target = new KubernetesTarget(args, root);
    for (const w of workloads) deployed[w.name] = target.deploy(w, { parent: root });
  });
  return { deployed, seen, names };
}

describe("Kubernetes target: commands and resource options", () => {
  let run: Awaited<ReturnType<typeof deployAll>>;
  before(async function () {
    this.timeout(60_000);
    run = await deployAll(targetArgs());
  });

  it("addresses kubectl to the stack's cluster: kubeconfig (~ is home), context and namespace, quoted for sh", () => {
    const base = kubectlBase({
      namespace: "apps",
      context: "prod cluster",
      kubeconfig: "~/.kube/my config",
    });
    assert.deepEqual(kubectlArgv(base), [
      "--kubeconfig",
      `${os.homedir()}/.kube/my config`,
      "--context",
      "prod cluster",
      "-n",
      "apps",
    ]);
    // Kubeconfig content (not a path) is the provider's; kubectl then uses its own default.
    assert.deepEqual(
      kubectlArgv(kubectlBase({ namespace: "apps", kubeconfig: "apiVersion: v1\nkind: Config\n" })),
      ["-n", "apps"],
    );
  });

  it("execs into a StatefulSet or Deployment, stdin attached when asked", async () => {
    const dump = (await valueOf(
      run.deployed.db.exec(["sh", "-c", "pg_dump -d 'my db'"], { stdin: true }),
    ))!;
    assert.deepEqual(kubectlArgv(dump), [
      "--context",
      "prod cluster",
      "-n",
      "apps",
      "exec",
      "-i",
      "statefulset/db",
      "--",
      "sh",
      "-c",
      "pg_dump -d 'my db'",
    ]);
    assert.deepEqual(kubectlArgv((await valueOf(run.deployed.app.exec(["true"])))!).slice(4), [
      "exec",
      "deployment/app",
      "--",
      "true",
    ]);
    assert.equal(run.deployed.db.address, "db.apps.svc.cluster.local");
  });

  it("runs a scheduled workload's command in a one-off pod of the job's own spec, which validates as a Pod", async () => {
    const cmd = (await valueOf(
      run.deployed["backup-app"].exec(["/usr/local/bin/psf-restore", "app-2024-05-01T03:00:00"]),
    ))!;
    const argv = kubectlArgv(cmd);
    assert.deepEqual(argv.slice(0, 5), ["--context", "prod cluster", "-n", "apps", "run"]);
    assert.match(argv[5], /^backup-app-run-\d+$/);
    for (const flag of ["--rm", "-i", "--quiet", "--restart=Never", "--image=psf/borg:1"])
      assert.ok(argv.includes(flag), `${flag} in ${argv.join(" ")}`);
    const overrides = JSON.parse(
      argv.find((a) => a.startsWith("--overrides="))!.slice("--overrides=".length),
    );
    const pod = { ...overrides, kind: "Pod", metadata: { ...overrides.metadata, name: argv[5] } };
    assert.doesNotThrow(() => validateObject(pod));
    const c = pod.spec.containers[0];
    assert.deepEqual(c.command, ["/usr/local/bin/psf-restore", "app-2024-05-01T03:00:00"]);
    assert.deepEqual(c.args, []);
    assert.equal(c.stdin, true);
    assert.equal(pod.spec.restartPolicy, "Never");
    assert.deepEqual(
      pod.spec.volumes
        .filter((v: any) => v.persistentVolumeClaim)
        .map((v: any) => v.persistentVolumeClaim.claimName),
      ["app-data", "borg-repository"],
    );
    assert.equal(
      pod.spec.volumes.find((v: any) => v.secret).secret.secretName,
      "backup-app-secret",
    );
    // Beside the service whose claim it writes to; never the secret itself in the command.
    assert.deepEqual(
      pod.spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector
        .matchLabels,
      {
        "app.kubernetes.io/name": "app",
        "app.kubernetes.io/instance": "t-app",
      },
    );
    assert.ok(!cmd.includes("very-secret-passphrase"));
  });

  describe("runs a CronJob now and waits for the outcome (real sh, fake kubectl)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-kubectl-"));
    const log = path.join(dir, "calls");
    fs.writeFileSync(
      path.join(dir, "kubectl"),
      [
        "#!/bin/sh",
        `printf '%s\\n' "$*" >> ${JSON.stringify(log)}`,
        'case "$*" in',
        '  *" get job "*) printf %s "$FAKE_STATE" ;;',
        '  *" logs "*) echo "the job log" ;;',
        // No ready pod: Kubernetes leaves readyReplicas out rather than writing 0.
        '  *" get statefulset/db -o jsonpath=ready {.status.readyReplicas}/{.spec.replicas}") printf "ready /1" ;;',
        '  *" get deployment/app -o jsonpath=ready {.status.readyReplicas}/{.spec.replicas}") printf "ready 2/2" ;;',
        "esac",
      ].join("\n"),
      { mode: 0o755 },
    );
    const runNow = async (state: string) => {
      fs.rmSync(log, { force: true });
      const r = spawnSync("sh", ["-c", (await valueOf(run.deployed["backup-app"].runNow))!], {
        encoding: "utf8",
        env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, FAKE_STATE: state },
        timeout: 20_000,
      });
      return { ...r, calls: fs.readFileSync(log, "utf8").trim().split("\n") };
    };

    it("creates a Job from the CronJob, then exits 0 with its log once it completes", async () => {
      const r = await runNow("SuccessCriteriaMet Complete");
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /the job log/);
      const create = r.calls[0].split(" ");
      assert.deepEqual(create.slice(0, 6), [
        "--context",
        "prod",
        "cluster",
        "-n",
        "apps",
        "create",
      ]);
      assert.ok(create.includes("--from=cronjob/backup-app"));
      const job = create[create.length - 1];
      assert.match(job, /^backup-app-\d+$/);
      assert.ok(r.calls[1].includes(`get job ${job} -o jsonpath=`), r.calls[1]);
    });

    it("and exits 1 with the log on stderr when it fails (not after a two-hour wait)", async () => {
      const r = await runNow("FailureTarget Failed");
      assert.equal(r.status, 1);
      assert.match(r.stderr, /the job log[\s\S]*failed/);
    });

    it("prints a long-running workload's ready pods of those it wants, for psf status", async () => {
      const health = async (name: string) => {
        const r = spawnSync("sh", ["-c", (await valueOf(run.deployed[name].healthCommand))!], {
          encoding: "utf8",
          env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
        });
        assert.equal(r.status, 0, r.stderr);
        return r.stdout;
      };
      assert.equal(await health("db"), "ready 0/1");
      assert.equal(await health("app"), "ready 2/2");
      assert.equal(run.deployed["backup-app"].healthCommand, undefined);
    });
  });

  it("never replaces a claim (that would empty it): its spec is set once, and sized by its owner", () => {
    const claims = run.seen.filter((s) => s.type.endsWith("PersistentVolumeClaim"));
    assert.deepEqual(claims.map((c) => c.name).sort(), ["app-data", "borg-repository", "db-data"]);
    for (const c of claims) assert.deepEqual(c.opts.ignoreChanges, ["spec"], c.name);
    const size = (name: string) =>
      claims.find((c) => c.name === name)!.props.spec.resources.requests.storage;
    assert.equal(size("db-data"), "5Gi");
    assert.equal(size("app-data"), "1Gi");
  });

  it("starts a workload after its namespace, ConfigMap and Secret, which env references only name", () => {
    const deps = (name: string) =>
      (
        (run.seen.find((s) => s.name === name && !s.type.endsWith("Service"))!.opts
          .dependsOn as pulumi.Resource[]) ?? []
      ).map((r) => run.names.get(r));
    assert.deepEqual(deps("db").sort(), ["Namespace/apps", "Secret/db-secret"]);
    assert.deepEqual(deps("backup-app").sort(), [
      "ConfigMap/backup-app-files",
      "Namespace/apps",
      "Secret/backup-app-secret",
    ]);
    assert.deepEqual(deps("app"), ["Namespace/apps"]);
  });

  it("with createNamespace false, declares no Namespace and depends on none", async () => {
    const r = await deployAll(targetArgs({ createNamespace: false }));
    assert.ok(!r.seen.some((s) => s.type.endsWith("Namespace")));
    const app = r.seen.find((s) => s.name === "app" && s.type.endsWith("Deployment"))!;
    assert.deepEqual(app.opts.dependsOn, []);
  });
});

describe("Kubernetes target: which StatefulSet updates take a snapshot first", () => {
  const sts = (...images: string[]) => ({
    metadata: { name: "db", annotations: { "psf/content-digest": images.length.toString() } },
    spec: {
      template: { spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) } },
    },
  });
  it("a new image of any container is risky; a config roll with the same images is not", () => {
    assert.equal(imagesChanged(sts("postgres:15"), sts("postgres:16")), true);
    assert.equal(imagesChanged(sts("postgres:15", "x:1"), sts("postgres:15", "x:2")), true);
    const sameImages = { ...sts("postgres:15"), metadata: { name: "db", annotations: { a: "b" } } };
    assert.equal(imagesChanged(sts("postgres:15"), sameImages), false);
  });
});
