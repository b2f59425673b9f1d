import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import * as YAML from "yaml";
import { PlannedResource, evaluate, isSecretValue, mask } from "../../cli/mock-engine";
import { RawConfig, readStackFile } from "../../components/config";
import { runProgram } from "../../components/program";
import { registry } from "../../providers";

const root = path.join(__dirname, "..", "..");
/** The dev stack, unchanged but for its target. */
function devOn(target: Record<string, unknown>): RawConfig {
  const raw = structuredClone(readStackFile(path.join(root, "stacks", "Pulumi.dev.yaml")).raw) as any;
  raw.target = { kind: "kubernetes", namespace: "psf", ...target };
  raw.services.whoami.replicas = 2;
  raw.services.whoami.resources = { cpu: "50m", memory: "32Mi", memoryLimit: "64Mi" };
  return raw;
}
const plan = (raw: RawConfig) => evaluate(registry, raw, "dev", (r, s) => runProgram(registry, { raw: r, stackName: s }));
const kindOf = (r: PlannedResource) => r.type.split(":").pop()!;
const objects = (rs: PlannedResource[]) => rs.filter((r) => r.type.startsWith("kubernetes:"));
const find = (rs: PlannedResource[], kind: string, name: string) => {
  const r = rs.find((x) => kindOf(x) === kind && x.name === name);
  assert.ok(r, `no ${kind} ${name} among ${rs.map((x) => `${kindOf(x)}/${x.name}`).join(", ")}`);
  return mask(r!.inputs, true) as any;
};

/** kubernetes-models' class for an object, by apiVersion and kind (its OpenAPI schemas, Kubernetes 1.27). */
function model(apiVersion: string, kind: string): new (o: unknown) => { validate(): void } {
  const group = apiVersion.includes("/") ? apiVersion : `v1`;
  return require(`kubernetes-models/${group}/${kind}`)[kind];
}

/** Validates an object the way kubectl's server-side schema check would; throws on the first error. */
function validateObject(o: any): void {
  new (model(o.apiVersion, o.kind))(o).validate();
}

describe("Kubernetes target", () => {
  let rs: PlannedResource[];
  before(async function () {
    this.timeout(120_000);
    rs = await plan(devOn({ ingressClass: "nginx", storageClass: "fast", proxyMode: "ingress" }));
  });

  it("maps the dev stack to idiomatic objects in its namespace, and nothing to Docker", () => {
    const kinds = objects(rs).map((r) => `${kindOf(r)}/${r.name}`).sort();
    for (const k of [
      "Namespace/psf",
      "StatefulSet/postgres",
      "Service/postgres-service",
      "Deployment/authelia",
      "Deployment/whoami",
      "Service/whoami-service",
      "CronJob/backup-whoami",
      "Ingress/route-whoami",
      "Ingress/route-authelia",
      "PersistentVolumeClaim/postgres-data",
      "PersistentVolumeClaim/whoami-data",
    ])
      assert.ok(kinds.includes(k), `${k} missing from ${kinds.join(", ")}`);
    assert.deepEqual(rs.filter((r) => r.type.startsWith("docker:")), []);
    // Ingress mode: the platform serves routes; no nginx of our own.
    assert.ok(!kinds.some((k) => k.endsWith("/nginx")), kinds.join(", "));
    for (const r of objects(rs).filter((x) => kindOf(x) !== "Namespace")) assert.equal((mask(r.inputs) as any).metadata.namespace, "psf", r.name);
  });

  it("labels workloads app.kubernetes.io/* and selects pods by name and instance", () => {
    const d = find(rs, "Deployment", "whoami");
    assert.deepEqual(d.spec.selector.matchLabels, { "app.kubernetes.io/name": "whoami", "app.kubernetes.io/instance": "dev-whoami" });
    for (const [k, v] of Object.entries({ "app.kubernetes.io/component": "app", "app.kubernetes.io/part-of": "whoami", "app.kubernetes.io/managed-by": "psf" }))
      assert.equal(d.spec.template.metadata.labels[k], v);
  });

  it("turns health checks into readiness and liveness probes, http or exec", () => {
    const c = find(rs, "Deployment", "whoami").spec.template.spec.containers[0];
    assert.deepEqual(c.readinessProbe.httpGet, { path: "/health", port: 80 });
    assert.ok(c.livenessProbe.failureThreshold > c.readinessProbe.failureThreshold);
    const pg = find(rs, "StatefulSet", "postgres").spec.template.spec.containers[0];
    assert.equal(pg.readinessProbe.exec.command[0], "sh");
    assert.ok(pg.startupProbe, "postgres has a start period: a startup probe");
  });

  it("sets replicas and resources per service, and rolls stateless pods only once the new one is ready", () => {
    const d = find(rs, "Deployment", "whoami");
    assert.equal(d.spec.replicas, 2);
    assert.deepEqual(d.spec.template.spec.containers[0].resources, { requests: { cpu: "50m", memory: "32Mi" }, limits: { memory: "64Mi" } });
    assert.deepEqual(find(rs, "Deployment", "authelia").spec.strategy, { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    // whoami writes to a ReadWriteOnce claim: its pods are recreated, not run side by side.
    assert.deepEqual(d.spec.strategy, { type: "Recreate" });
  });

  it("claims volumes on the storage class, mounts them by claim, and schedules a backup job beside its service", () => {
    const claim = find(rs, "PersistentVolumeClaim", "postgres-data");
    assert.equal(claim.spec.storageClassName, "fast");
    assert.deepEqual(claim.spec.accessModes, ["ReadWriteOnce"]);
    assert.equal(claim.spec.resources.requests.storage, "1Gi");
    const sts = find(rs, "StatefulSet", "postgres").spec.template.spec;
    assert.deepEqual(sts.volumes.find((v: any) => v.persistentVolumeClaim).persistentVolumeClaim, { claimName: "postgres-data" });
    const job = find(rs, "CronJob", "backup-whoami").spec;
    assert.equal(job.schedule, "0 3 * * *");
    const pod = job.jobTemplate.spec.template.spec;
    assert.ok(pod.volumes.some((v: any) => v.persistentVolumeClaim?.claimName === "whoami-data"));
    assert.deepEqual(pod.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchLabels, {
      "app.kubernetes.io/name": "whoami",
    });
  });

  it("asks for a volume size where the provider gives one", async () => {
    const raw = devOn({ proxyMode: "ingress" }) as any;
    raw.providers.database.dataSize = "20Gi";
    assert.equal(find(await plan(raw), "PersistentVolumeClaim", "postgres-data").spec.resources.requests.storage, "20Gi");
  });

  it("keeps every secret value in a Secret: never in a ConfigMap, a pod spec or an Ingress", () => {
    const secretValues = new Set<string>();
    const collect = (v: unknown): void => {
      // Secret strings in their own right (a list wrapped whole also hides plain neighbours).
      if (isSecretValue(v)) {
        const plain = mask(v, true);
        if (typeof plain === "string" && plain.length >= 12) secretValues.add(plain);
        else collect(v.value);
      } else if (v && typeof v === "object") Object.values(v).forEach(collect);
    };
    for (const r of rs) collect(r.inputs);
    // Everything a Secret holds is secret content (files and env alike).
    for (const r of objects(rs).filter((x) => kindOf(x) === "Secret"))
      for (const v of Object.values((mask(r.inputs, true) as any).stringData ?? {})) if (typeof v === "string" && v.length >= 12) secretValues.add(v);
    assert.ok(secretValues.size > 5, `generated secrets found: ${secretValues.size}`);
    const holders = objects(rs).filter((r) => JSON.stringify(mask(r.inputs)).includes("[secret]")).map((r) => `${kindOf(r)}/${r.name}`);
    for (const h of holders) assert.ok(h.startsWith("Secret/") || h.startsWith("Deployment/") || h.startsWith("StatefulSet/") || h.startsWith("CronJob/"), h);
    for (const r of objects(rs).filter((x) => kindOf(x) !== "Secret")) {
      const text = JSON.stringify(mask(r.inputs, true));
      // Pod templates carry only a (secret) hash of secret files, never their content.
      for (const s of secretValues) if (!/^[0-9a-f]{16}$/.test(s)) assert.ok(!text.includes(s), `${kindOf(r)}/${r.name} holds a secret value: ${s.slice(0, 40)}`);
    }
    const env = find(rs, "Deployment", "whoami").spec.template.spec.containers[0].env;
    assert.deepEqual(env.find((e: any) => e.name === "OIDC_CLIENT_SECRET").valueFrom, { secretKeyRef: { name: "whoami-secret", key: "OIDC_CLIENT_SECRET" } });
    assert.equal(find(rs, "Secret", "route-whoami-tls").type, "kubernetes.io/tls");
  });

  it("routes with an Ingress on the ingress class, TLS from the ssl contract and forward auth through the SSO", () => {
    const ing = find(rs, "Ingress", "route-whoami");
    assert.equal(ing.spec.ingressClassName, "nginx");
    assert.deepEqual(ing.spec.tls, [{ hosts: ["whoami.psf.localhost"], secretName: "route-whoami-tls" }]);
    assert.deepEqual(ing.spec.rules[0].http.paths[0].backend, { service: { name: "whoami", port: { number: 80 } } });
    assert.equal(ing.metadata.annotations["nginx.ingress.kubernetes.io/auth-url"], "http://authelia:9091/api/authz/auth-request");
    assert.equal(find(rs, "Ingress", "route-authelia").metadata.annotations["nginx.ingress.kubernetes.io/auth-url"], undefined);
  });

  it("runs nginx itself behind a LoadBalancer service when asked to", async () => {
    const lb = await plan(devOn({ proxyMode: "loadbalancer" }));
    const svc = find(lb, "Service", "nginx-service");
    assert.equal(svc.spec.type, "LoadBalancer");
    assert.deepEqual(svc.spec.ports.map((p: any) => p.port).sort(), [8080, 8443]);
    assert.ok(!objects(lb).some((r) => kindOf(r) === "Ingress"));
    assert.ok(find(lb, "ConfigMap", "nginx-files").data, "nginx.conf in a ConfigMap");
  });

  it("renders manifests (one YAML stream) whose every object validates against the Kubernetes OpenAPI schema (kubernetes-models)", () => {
    const all = objects(rs).filter((r) => !r.type.startsWith("kubernetes:index"));
    assert.ok(all.length >= 15);
    const manifests = all.map((r) => YAML.stringify(mask(r.inputs, true))).join("---\n");
    const docs = YAML.parseAllDocuments(manifests).map((d) => d.toJS());
    assert.equal(docs.length, all.length);
    for (const o of docs) {
      assert.ok(o.apiVersion && o.kind, `${o.metadata?.name}: apiVersion and kind`);
      assert.doesNotThrow(() => validateObject(o), `${o.kind}/${o.metadata?.name}`);
    }
  });

  it("and a malformed object fails that validation", () => {
    const d = structuredClone(find(rs, "Deployment", "whoami"));
    d.spec.replicas = "two";
    assert.throws(() => validateObject(d), /replicas/);
    const noContainers = structuredClone(find(rs, "Deployment", "whoami"));
    delete noContainers.spec.template.spec.containers;
    assert.throws(() => validateObject(noContainers), /containers/);
  });

  it("is listed by psf plan --json --stack k8s", () => {
    const r = spawnSync(process.execPath, [path.join(root, "bin", "psf.js"), "plan", "--json", "--stack", "k8s"], { encoding: "utf8", cwd: root });
    assert.equal(r.status, 0, r.stderr);
    const types = new Set(JSON.parse(r.stdout).resources.map((x: { type: string }) => x.type));
    for (const t of ["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:batch/v1:CronJob", "kubernetes:networking.k8s.io/v1:Ingress", "kubernetes:core/v1:Secret"])
      assert.ok(types.has(t), t);
  });
});
