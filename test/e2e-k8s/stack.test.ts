import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import * as automation from "@pulumi/pulumi/automation";
import { toolchainEnv } from "../../cli/engine";
import {
  HOST,
  ROOT,
  assertNoSecretIn,
  destroyAsPsf,
  editStack,
  engineEnv,
  generatedSecrets,
  httpsRequest,
  projectCopy,
  psfIn,
  pulumiIn,
} from "../e2e/support";
import {
  KUBECONFIG,
  KUBECTL_DIR,
  ingressController,
  kubectl,
  kubectlJson,
  kubectlPath,
  nodeAddress,
  shell,
} from "./cluster";

/** The ci stack's services with only `psf:target` changed: this cluster, a namespace of its own. */
const STACK = "ci-k8s";
const NAMESPACE = "psf-e2e-k8s";

/** stacks/Pulumi.ci.yaml with psf:target on the cluster, written as the copy's ci-k8s stack. */
function writeStackFile(dir: string): void {
  const doc = YAML.parse(fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.ci.yaml"), "utf8"));
  delete doc.encryptionsalt;
  doc.config["psf:target"] = {
    kind: "kubernetes",
    namespace: NAMESPACE,
    kubeconfig: KUBECONFIG,
    // A bare cluster has no load balancer: nginx's ports are NodePorts on the node.
    proxyMode: "nodeport",
  };
  fs.writeFileSync(path.join(dir, "stacks", `Pulumi.${STACK}.yaml`), YAML.stringify(doc));
  fs.rmSync(path.join(dir, "stacks", "Pulumi.ci.yaml"));
}

/** Pods of the namespace that serve (not a Job's), each with whether it is Ready. */
function servingPods(): Array<{ name: string; app: string; ready: boolean; phase: string }> {
  return (kubectlJson(["get", "pods"], NAMESPACE).items as any[])
    .filter((p) => !(p.metadata.ownerReferences ?? []).some((o: any) => o.kind === "Job"))
    .filter((p) => !p.metadata.deletionTimestamp)
    .map((p) => ({
      name: p.metadata.name,
      app: p.metadata.labels?.["app.kubernetes.io/name"],
      phase: p.status.phase,
      ready: (p.status.conditions ?? []).some(
        (c: any) => c.type === "Ready" && c.status === "True",
      ),
    }));
}

async function until<T>(what: string, seconds: number, f: () => T | undefined): Promise<T> {
  const end = Date.now() + seconds * 1000;
  let last: unknown;
  for (;;) {
    try {
      const v = f();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end)
      throw new Error(`${what}: not within ${seconds} s${last ? ` (${String(last)})` : ""}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

const psql = (sql: string) =>
  kubectl(
    ["exec", "statefulset/postgres", "--", "psql", "-U", "postgres", "-d", "demo", "-Atc", sql],
    {
      namespace: NAMESPACE,
    },
  );

/**
 * The ci stack on a real Kubernetes cluster (npm run cluster) under the real Pulumi engine
 * (Automation API, local file:// backend, passphrase secrets). Steps build on each other, in order.
 */
describe("the ci stack on Kubernetes, end to end", function () {
  this.timeout(900_000);
  let dir: string;
  let stack: automation.Stack;
  let ca: string;
  let upOutput = "";
  let node: string;
  const env = () => ({
    ...toolchainEnv(),
    // The toolchain's pulumi, and the cluster's kubectl for the commands the stack prints.
    PATH: `${KUBECTL_DIR}:${toolchainEnv().PATH ?? process.env.PATH}`,
    ...engineEnv(dir),
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
  });
  // The StatefulSet carries snapshot hooks.
  const destroy = () => destroyAsPsf(stack);
  /** The psf CLI of the copy, on this stack, with the suite's backend, passphrase and kubectl. */
  const psf = (...args: string[]) => psfIn(dir, STACK, env(), ...args);
  const cli = (...args: string[]) => pulumiIn(dir, STACK, env(), ...args);
  /** The proxy's HTTPS NodePort (nginx's unless another proxy serves). */
  const proxyPort = (proxy = "nginx") =>
    Number(
      kubectl(
        ["get", "service", proxy, "-o", 'jsonpath={.spec.ports[?(@.name=="https")].nodePort}'],
        {
          namespace: NAMESPACE,
        },
      ),
    );
  const viaNginx = (method: "GET" | "POST", body?: string) =>
    httpsRequest({ ca, host: HOST, address: node, port: proxyPort(), method, body });
  const noChanges = async () => {
    const res = await stack.preview({ color: "never", diff: true });
    const changes = Object.entries(res.changeSummary).filter(
      ([op, n]) => op !== "same" && (n ?? 0) > 0,
    );
    assert.deepEqual(changes, [], res.stdout.slice(-4000));
  };
  const allReady = () =>
    until("every pod Ready", 300, () => {
      const pods = servingPods();
      return pods.length > 0 && pods.every((p) => p.ready) ? pods : undefined;
    });
  const namespaceGone = () =>
    spawnSync("kubectl", ["--kubeconfig", KUBECONFIG, "get", "namespace", NAMESPACE], {
      env: { ...process.env, PATH: kubectlPath() },
    }).status !== 0;

  before(async () => {
    node = nodeAddress();
    // A namespace left by an interrupted run would make the stack's Namespace fail to create.
    kubectl([
      "delete",
      "namespace",
      NAMESPACE,
      "--ignore-not-found",
      "--wait=true",
      "--timeout=180s",
    ]);
    dir = projectCopy("ci", true);
    writeStackFile(dir);
    fs.mkdirSync(path.join(dir, "state"));
    stack = await automation.LocalWorkspace.createOrSelectStack(
      { stackName: STACK, workDir: dir },
      { envVars: env() },
    );
  });

  after(async () => {
    if (!namespaceGone()) await destroy().catch(() => undefined);
    if (!namespaceGone())
      spawnSync(
        "kubectl",
        ["--kubeconfig", KUBECONFIG, "delete", "namespace", NAMESPACE, "--wait=false"],
        {
          env: { ...process.env, PATH: kubectlPath() },
        },
      );
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("comes up from nothing: pods Ready, nginx's NodePort serves HTTPS to the app, whose rows land in postgres on a PersistentVolume", async () => {
    const res = await stack.up({ color: "never", onOutput: (o) => (upOutput += o) });
    assert.equal(res.summary.result, "succeeded");
    const pods = await allReady();
    assert.deepEqual([...new Set(pods.map((p) => p.app))].sort(), ["demo", "nginx", "postgres"]);
    const exported = JSON.parse(cli("stack", "export"));
    ca = exported.deployment.resources.find(
      (r: any) => r.type === "tls:index/selfSignedCert:SelfSignedCert",
    ).outputs.certPem;
    assert.match(ca, /BEGIN CERTIFICATE/);
    assert.equal(
      kubectl(["get", "service", "nginx", "-o", "jsonpath={.spec.type}"], { namespace: NAMESPACE }),
      "NodePort",
    );
    assert.equal((await viaNginx("POST", "hello from e2e-k8s")).status, 201);
    assert.match((await viaNginx("GET")).body, /hello from e2e-k8s/);
    assert.equal(psql("select body from notes"), "hello from e2e-k8s");
    // The database's files are on a claim bound to a volume, mounted by postgres's pod.
    const claim = kubectlJson(["get", "pvc", "postgres-data"], NAMESPACE);
    assert.equal(claim.status.phase, "Bound");
    assert.ok(kubectlJson(["get", "pv", claim.spec.volumeName]).spec, "the bound volume");
    const pod = kubectlJson(["get", "pod", "postgres-0"], NAMESPACE);
    assert.ok(
      pod.spec.volumes.some((v: any) => v.persistentVolumeClaim?.claimName === "postgres-data"),
      "postgres-0 mounts postgres-data",
    );
  });

  it("previews no changes right after", async () => {
    await noChanges();
  });

  it("keeps secret values out of every ConfigMap, the up output, the stack outputs and the plain state", () => {
    const revealed = cli("stack", "export", "--show-secrets");
    const secrets = generatedSecrets(revealed);
    assert.ok(secrets.length >= 3, `generated secrets: ${secrets.length}`);
    // The TLS keys too: nginx's reaches it through a Secret.
    const keys = JSON.parse(revealed)
      .deployment.resources.filter((r: any) => r.type === "tls:index/privateKey:PrivateKey")
      .map((r: any) => {
        const v = r.outputs.privateKeyPem;
        return typeof v === "object" && v && "plaintext" in v ? JSON.parse(v.plaintext) : v;
      })
      .map((pem: string) => pem.split("\n")[1]);
    assert.ok(keys.length >= 1 && keys.every((k: string) => k.length > 20));
    assertNoSecretIn([...secrets, ...keys], {
      "a ConfigMap": kubectl(["get", "configmaps", "-o", "yaml"], { namespace: NAMESPACE }),
      "the up output": upOutput,
      "stack output": cli("stack", "output", "--json"),
      "the plain state": cli("stack", "export"),
    });
    // They did reach the cluster, in Secrets: the app's database URL holds its password.
    const demoSecret = kubectlJson(["get", "secret", "demo-secret"], NAMESPACE);
    const decoded = Object.values(demoSecret.data as Record<string, string>)
      .map((v) => Buffer.from(v, "base64").toString())
      .join("\n");
    assert.ok(
      secrets.some((s) => decoded.includes(s)),
      "the demo's Secret holds its database password",
    );
  });

  it("brings back pods deleted behind its back, the rows still on the volume", async () => {
    const before = servingPods().map((p) => p.name);
    kubectl(["delete", "pod", "-l", "app.kubernetes.io/name in (demo,postgres)", "--wait=true"], {
      namespace: NAMESPACE,
    });
    await until("the deleted pods replaced and Ready", 300, () => {
      const pods = servingPods();
      const apps = pods.filter((p) => p.ready).map((p) => p.app);
      return apps.includes("demo") && apps.includes("postgres") && pods.every((p) => p.ready)
        ? pods
        : undefined;
    });
    const after = servingPods().map((p) => p.name);
    assert.ok(
      after.some((n) => n.startsWith("demo-") && !before.includes(n)),
      `a new demo pod: ${after}`,
    );
    const body = await untilAsync("the app serves again", 120, async () => {
      const r = await viaNginx("GET");
      return r.status === 200 ? r.body : undefined;
    });
    assert.match(body, /hello from e2e-k8s/);
  });

  it("finds a Deployment edited behind its back with refresh, and up puts it back", async () => {
    kubectl(["scale", "deployment/demo", "--replicas=3"], { namespace: NAMESPACE });
    const refresh = await stack.refresh({ color: "never" });
    assert.ok(
      (refresh.summary.resourceChanges?.update ?? 0) >= 1,
      JSON.stringify(refresh.summary.resourceChanges),
    );
    const up = await stack.up({ color: "never" });
    assert.ok(
      (up.summary.resourceChanges?.update ?? 0) >= 1,
      JSON.stringify(up.summary.resourceChanges),
    );
    assert.equal(
      kubectl(["get", "deployment", "demo", "-o", "jsonpath={.spec.replicas}"], {
        namespace: NAMESPACE,
      }),
      "1",
    );
    await noChanges();
  });

  it("keeps the old pods serving when a release fails its readiness probe, and heals on revert", async () => {
    const before = servingPods()
      .filter((p) => p.app === "demo" && p.ready)
      .map((p) => p.name);
    assert.equal(before.length, 1);
    editStack(dir, (c) => (c["psf:services"].demo.env.DEMO_BROKEN = "1"), STACK);
    await assert.rejects(stack.up({ color: "never" }));
    const demo = servingPods().filter((p) => p.app === "demo");
    assert.ok(
      demo.some((p) => p.name === before[0] && p.ready),
      `the old pod still serves: ${JSON.stringify(demo)}`,
    );
    assert.ok(
      demo.some((p) => p.name !== before[0] && !p.ready),
      "the new pod never got Ready",
    );
    assert.match((await viaNginx("GET")).body, /hello from e2e-k8s/);
    editStack(dir, (c) => delete c["psf:services"].demo.env.DEMO_BROKEN, STACK);
    assert.equal((await stack.up({ color: "never" })).summary.result, "succeeded");
    await allReady();
    assert.equal((await viaNginx("GET")).status, 200);
  });

  it("runs the backup CronJob as a Job, and the printed restore command brings deleted rows back", async () => {
    const services = (await stack.outputs()).services.value as Record<
      string,
      Record<string, string>
    >;
    assert.match(services.demo.backupCommand, /create job --from=cronjob\/backup-demo/);
    shell(services.demo.backupCommand);
    psql("delete from notes");
    assert.equal((await viaNginx("GET")).body, "");
    shell(services.demo.restoreCommand);
    assert.match((await viaNginx("GET")).body, /hello from e2e-k8s/);
  });

  it("runs psf backup and a restore drill on the cluster, and psf status shows ready pods and both results", () => {
    const run = psf("backup", "run", "demo");
    assert.equal(run.status, 0, run.stdout + run.stderr);
    const verify = psf("backup", "verify", "demo");
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    // The dump loaded into a throwaway PostgreSQL in a one-off pod of the drill's own spec.
    assert.match(verify.stdout + verify.stderr, /DRILL PASSED: demo-\S+/);
    const status = psf("status", "--json");
    assert.equal(status.status, 0, status.stderr);
    const demo = JSON.parse(status.stdout).services.find((s: any) => s.name === "demo");
    assert.match(demo.health, /^ready (\d+)\/\1$/);
    assert.equal(demo.backup.backup.result, "ok");
    assert.equal(demo.backup.drill.result, "ok");
    assert.deepEqual(demo.backup.alerts, []);
  });

  it("takes a snapshot before a new postgres image rolls the StatefulSet, and restoring it rolls back later rows", async () => {
    // Another reference to the same image: for the StatefulSet, and for PSF, a new image.
    editStack(
      dir,
      (c) => (c["psf:images"].postgres = `docker.io/${c["psf:images"].postgres}`),
      STACK,
    );
    let out = "";
    const res = await stack.up({ color: "never", onOutput: (o) => (out += o) });
    assert.equal(res.summary.result, "succeeded");
    const taken = /psf: snapshot (\S+) of demo taken before postgres changes/.exec(out);
    assert.ok(taken, `no snapshot before the image change:\n${out.slice(-3000)}`);
    await allReady();
    // The app's pooled connections died with the old database pod: it answers again on reconnect.
    await untilAsync("the app writes to the new database pod", 120, async () => {
      const r = await viaNginx("POST", "written after the snapshot");
      return r.status === 201 ? r : undefined;
    });
    const restore = psf("backup", "restore", "demo", "--snapshot", taken[1], "--yes");
    assert.equal(restore.status, 0, restore.stdout + restore.stderr);
    const body = (await viaNginx("GET")).body;
    assert.match(body, /hello from e2e-k8s/);
    assert.doesNotMatch(body, /written after the snapshot/);
  });

  for (const proxy of ["caddy", "traefik"])
    it(`serves HTTPS with ${proxy} in nginx's place: its pod passes the readiness probe at its IP`, async () => {
      editStack(
        dir,
        (c) => {
          const { httpPort, httpsPort, listenAddress } = c["psf:providers"].proxy;
          c["psf:providers"].proxy = { use: proxy, httpPort, httpsPort, listenAddress };
          delete c["psf:images"].nginx;
        },
        STACK,
      );
      assert.equal((await stack.up({ color: "never" })).summary.result, "succeeded");
      // Ready means the kubelet's HTTP probe reached the health port at the pod's address.
      const pods = await allReady();
      assert.deepEqual(
        pods.filter((p) => ["nginx", "caddy", "traefik"].includes(p.app)).map((p) => p.app),
        [proxy],
      );
      const res = await untilAsync(`${proxy} serves the route`, 120, async () => {
        const r = await httpsRequest({ ca, host: HOST, address: node, port: proxyPort(proxy) });
        return r.status === 200 ? r : undefined;
      });
      assert.match(res.body, /hello from e2e-k8s/);
      await noChanges();
    });

  it("serves HTTPS through the cluster's ingress controller with the ingress proxy provider", async () => {
    const ingress = ingressController();
    editStack(
      dir,
      (c) => {
        c["psf:providers"].proxy = { use: "ingress", ingressClass: ingress.ingressClass };
        // No nginx of PSF's own runs, so its image is no longer a known key.
        delete c["psf:images"].nginx;
      },
      STACK,
    );
    assert.equal((await stack.up({ color: "never" })).summary.result, "succeeded");
    const route = kubectlJson(["get", "ingress", "route-demo"], NAMESPACE);
    assert.equal(route.spec.ingressClassName, ingress.ingressClass);
    const res = await untilAsync("the controller serves the route", 120, async () => {
      const r = await httpsRequest({ ca, host: HOST, address: ingress.host, port: ingress.port });
      return r.status === 200 ? r : undefined;
    });
    assert.match(res.body, /hello from e2e-k8s/);
    assert.deepEqual(
      servingPods()
        .map((p) => p.app)
        .filter((a) => a === "nginx"),
      [],
      "no nginx of PSF's own runs",
    );
    await noChanges();
  });

  it("destroy leaves nothing in the namespace, which goes with it", async () => {
    assert.equal((await destroy()).summary.result, "succeeded");
    await until("the namespace gone", 180, () => namespaceGone());
    const volumes = (kubectlJson(["get", "pv"]).items as any[]).filter(
      (v) => v.spec.claimRef?.namespace === NAMESPACE && v.status.phase !== "Released",
    );
    assert.deepEqual(
      volumes.map((v) => v.metadata.name),
      [],
      "no volume still bound to a claim of the namespace",
    );
  });
});

/** `until` for an async check. */
async function untilAsync<T>(
  what: string,
  seconds: number,
  f: () => Promise<T | undefined>,
): Promise<T> {
  const end = Date.now() + seconds * 1000;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end)
      throw new Error(`${what}: not within ${seconds} s${last ? ` (${String(last)})` : ""}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}
