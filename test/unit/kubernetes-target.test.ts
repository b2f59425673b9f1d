import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import * as YAML from "yaml";
import { PlannedResource, evaluate, isSecretValue, mask } from "../../cli/mock-engine";
import { RawConfig } from "../../components/config";
import { readStackFile } from "../../components/stack-file";
import { runProgram } from "../../components/program";
import { SecureValue } from "../../components/validate/schema";
import { registry } from "../../providers";
import { rolloutSeconds } from "../../components/targets/kubernetes-objects";
import { MODELS_VERSION, validateObject } from "../support/kubernetes-schema";

const root = path.join(__dirname, "..", "..");
/** The dev stack, unchanged but for its target and proxy (and whoami's replicas and resources). */
function devOn(target: Record<string, unknown>, proxy?: Record<string, unknown>): RawConfig {
  const raw = structuredClone(
    readStackFile(path.join(root, "stacks", "Pulumi.dev.yaml")).raw,
  ) as any;
  raw.target = { kind: "kubernetes", namespace: "psf", ...target };
  if (proxy) raw.providers.proxy = proxy;
  raw.services.whoami.replicas = 2;
  raw.services.whoami.resources = { cpu: "50m", memory: "32Mi", memoryLimit: "64Mi" };
  return raw;
}
/** Routes as Ingress objects on the cluster's controller (the ingress proxy provider). */
const INGRESS = { use: "ingress" };
const plan = (raw: RawConfig) =>
  evaluate(registry, raw, "dev", (r, s) => runProgram(registry, { raw: r, stackName: s }));
const kindOf = (r: PlannedResource) => r.type.split(":").pop()!;
const objects = (rs: PlannedResource[]) =>
  rs.filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:index"));
const find = (rs: PlannedResource[], kind: string, name: string) => {
  const r = rs.find((x) => kindOf(x) === kind && x.name === name);
  assert.ok(r, `no ${kind} ${name} among ${rs.map((x) => `${kindOf(x)}/${x.name}`).join(", ")}`);
  return mask(r!.inputs, true) as any;
};
/** Every pod spec: Deployments', StatefulSets' and CronJobs' templates. */
const podSpecs = (rs: PlannedResource[]) =>
  objects(rs)
    .map((r) => [`${kindOf(r)}/${r.name}`, mask(r.inputs, true) as any] as const)
    .filter(([, o]) => ["Deployment", "StatefulSet", "CronJob"].includes(o.kind))
    .map(
      ([id, o]) =>
        [id, o.kind === "CronJob" ? o.spec.jobTemplate.spec.template : o.spec.template] as const,
    );

describe("Kubernetes target", () => {
  let rs: PlannedResource[];
  before(async function () {
    this.timeout(120_000);
    rs = await plan(devOn({ ingressClass: "nginx", storageClass: "fast" }, INGRESS));
  });

  it("maps the dev stack to idiomatic objects in its namespace, and nothing to Docker", () => {
    const kinds = objects(rs)
      .map((r) => `${kindOf(r)}/${r.name}`)
      .sort();
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
    assert.deepEqual(
      rs.filter((r) => r.type.startsWith("docker:")),
      [],
    );
    // The ingress proxy: the platform serves routes; no nginx of our own.
    assert.ok(!kinds.some((k) => k.endsWith("/nginx")), kinds.join(", "));
    for (const r of objects(rs).filter((x) => kindOf(x) !== "Namespace"))
      assert.equal((mask(r.inputs) as any).metadata.namespace, "psf", r.name);
  });

  it("labels workloads app.kubernetes.io/* and selects pods by name and instance", () => {
    const d = find(rs, "Deployment", "whoami");
    assert.deepEqual(d.spec.selector.matchLabels, {
      "app.kubernetes.io/name": "whoami",
      "app.kubernetes.io/instance": "dev-whoami",
    });
    for (const [k, v] of Object.entries({
      "app.kubernetes.io/component": "app",
      "app.kubernetes.io/part-of": "whoami",
      "app.kubernetes.io/managed-by": "psf",
    }))
      assert.equal(d.spec.template.metadata.labels[k], v);
  });

  it("gives pods no service env links and no API token (Docker injects neither; Authelia refuses AUTHELIA_* env it does not know)", () => {
    const specs = podSpecs(rs);
    assert.ok(specs.length >= 4, specs.map(([id]) => id).join(", "));
    for (const [id, t] of specs) {
      assert.equal(t.spec.enableServiceLinks, false, id);
      assert.equal(t.spec.automountServiceAccountToken, false, id);
    }
  });

  it("turns health checks into readiness and liveness probes, http or exec", () => {
    const c = find(rs, "Deployment", "whoami").spec.template.spec.containers[0];
    assert.deepEqual(c.readinessProbe.httpGet, { path: "/health", port: 80 });
    assert.ok(c.livenessProbe.failureThreshold > c.readinessProbe.failureThreshold);
    const pg = find(rs, "StatefulSet", "postgres").spec.template.spec.containers[0];
    assert.equal(pg.readinessProbe.exec.command[0], "sh");
    assert.ok(pg.startupProbe, "postgres has a start period: a startup probe");
    // A job is not a server: no probes.
    assert.equal(
      find(rs, "CronJob", "backup-whoami").spec.jobTemplate.spec.template.spec.containers[0]
        .readinessProbe,
      undefined,
    );
  });

  it("sets replicas and resources per service, rolling a new pod in before an old one goes, beside it on its ReadWriteOnce claim", () => {
    const d = find(rs, "Deployment", "whoami");
    assert.equal(d.spec.replicas, 2);
    assert.deepEqual(d.spec.template.spec.containers[0].resources, {
      requests: { cpu: "50m", memory: "32Mi" },
      limits: { memory: "64Mi" },
    });
    for (const name of ["whoami", "authelia"])
      assert.deepEqual(find(rs, "Deployment", name).spec.strategy, {
        type: "RollingUpdate",
        rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
      });
    const terms =
      d.spec.template.spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution;
    assert.deepEqual(terms, [
      {
        labelSelector: {
          matchLabels: {
            "app.kubernetes.io/name": "whoami",
            "app.kubernetes.io/instance": "dev-whoami",
          },
        },
        topologyKey: "kubernetes.io/hostname",
      },
    ]);
    // authelia mounts no claim: free to go anywhere.
    assert.equal(find(rs, "Deployment", "authelia").spec.template.spec.affinity, undefined);
  });

  it("puts back what is changed behind its back: server-side apply forces PSF's fields (pulumi.com/patchForce)", () => {
    for (const [kind, name] of [
      ["Deployment", "whoami"],
      ["StatefulSet", "postgres"],
      ["Service", "whoami-service"],
      ["CronJob", "backup-whoami"],
    ])
      assert.equal(find(rs, kind, name).metadata.annotations["pulumi.com/patchForce"], "true");
  });

  it("gives up on a rollout after its pods' health-check budget, not pulumi-kubernetes' 10 minutes", () => {
    const h = { startPeriodSeconds: 0, retries: 3, intervalSeconds: 10, timeoutSeconds: 5 };
    assert.equal(rolloutSeconds(h, 1), 45 + 120);
    assert.equal(rolloutSeconds(h, 2), 2 * (45 + 120), "one new pod after another");
    assert.equal(rolloutSeconds(undefined, 1), undefined);
    // The cluster marks the rollout stalled at the same moment (whoami: 2 replicas).
    const d = find(rs, "Deployment", "whoami");
    const probe = d.spec.template.spec.containers[0].readinessProbe;
    assert.ok(probe);
    assert.ok(d.spec.progressDeadlineSeconds >= 2 * 120, `${d.spec.progressDeadlineSeconds}`);
    assert.ok(d.spec.progressDeadlineSeconds < 600, "sooner than the default");
  });

  it("claims volumes on the storage class, mounts them by claim, and schedules a backup job beside its service", () => {
    const claim = find(rs, "PersistentVolumeClaim", "postgres-data");
    assert.equal(claim.spec.storageClassName, "fast");
    assert.deepEqual(claim.spec.accessModes, ["ReadWriteOnce"]);
    assert.equal(claim.spec.resources.requests.storage, "1Gi");
    const sts = find(rs, "StatefulSet", "postgres").spec;
    assert.deepEqual(
      sts.template.spec.volumes.find((v: any) => v.persistentVolumeClaim).persistentVolumeClaim,
      { claimName: "postgres-data" },
    );
    // Its governing Service is headless: the pod's own address in DNS.
    assert.equal(sts.serviceName, "postgres");
    assert.equal(find(rs, "Service", "postgres-service").spec.clusterIP, "None");
    assert.equal(find(rs, "Service", "whoami-service").spec.clusterIP, undefined);
    const job = find(rs, "CronJob", "backup-whoami").spec;
    assert.equal(job.schedule, "0 3 * * *");
    assert.equal(job.concurrencyPolicy, "Forbid");
    const pod = job.jobTemplate.spec.template.spec;
    assert.ok(pod.volumes.some((v: any) => v.persistentVolumeClaim?.claimName === "whoami-data"));
    assert.deepEqual(
      pod.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution.map(
        (t: any) => t.labelSelector.matchLabels,
      ),
      [{ "app.kubernetes.io/name": "whoami", "app.kubernetes.io/instance": "dev-whoami" }],
    );
  });

  it("asks for a volume size where the provider gives one", async () => {
    const raw = devOn({}, INGRESS) as any;
    raw.providers.database.dataSize = "20Gi";
    assert.equal(
      find(await plan(raw), "PersistentVolumeClaim", "postgres-data").spec.resources.requests
        .storage,
      "20Gi",
    );
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
      for (const v of Object.values((mask(r.inputs, true) as any).stringData ?? {}))
        if (typeof v === "string" && v.length >= 12) secretValues.add(v);
    assert.ok(secretValues.size > 5, `generated secrets found: ${secretValues.size}`);
    // Only Secrets hold anything secret: pod specs (their content digest too) stay readable in a diff.
    const holders = objects(rs)
      .filter((r) => JSON.stringify(mask(r.inputs)).includes("[secret]"))
      .map((r) => `${kindOf(r)}/${r.name}`);
    for (const h of holders) assert.ok(h.startsWith("Secret/"), h);
    for (const r of objects(rs).filter((x) => kindOf(x) !== "Secret")) {
      const text = JSON.stringify(mask(r.inputs, true));
      for (const s of secretValues)
        assert.ok(
          !text.includes(s),
          `${kindOf(r)}/${r.name} holds a secret value: ${s.slice(0, 40)}`,
        );
    }
    const env = find(rs, "Deployment", "whoami").spec.template.spec.containers[0].env;
    assert.deepEqual(env.find((e: any) => e.name === "OIDC_CLIENT_SECRET").valueFrom, {
      secretKeyRef: { name: "whoami-secret", key: "OIDC_CLIENT_SECRET" },
    });
    assert.equal(find(rs, "Secret", "route-whoami-tls").type, "kubernetes.io/tls");
    // Secret files are mounted from the Secret, plain ones from the ConfigMap.
    const vols = find(rs, "StatefulSet", "postgres").spec.template.spec.volumes;
    assert.equal(
      vols.find((v: any) => v.name === "secret-files").secret.secretName,
      "postgres-secret",
    );
  });

  it("rolls the pods when only a secret env value changes (a keyed digest in the pod template)", async () => {
    const withToken = (token: string) => {
      const raw = devOn({}, INGRESS) as any;
      raw.services.whoami.env.API_TOKEN = new SecureValue(token);
      return plan(raw);
    };
    // One at a time: the mocks are global.
    const a = await withToken("token-one-aaaaaaaa");
    const a2 = await withToken("token-one-aaaaaaaa");
    const b = await withToken("token-two-bbbbbbbb");
    const template = (x: PlannedResource[]) => find(x, "Deployment", "whoami").spec.template;
    // The env list is the same (a reference to the Secret); only the digest tells the change.
    assert.deepEqual(template(a).spec, template(b).spec);
    const digest = (x: PlannedResource[]) => template(x).metadata.annotations["psf/content-digest"];
    assert.match(digest(a), /^[0-9a-f]{16}$/);
    assert.equal(digest(a), digest(a2));
    assert.notEqual(digest(a), digest(b));
  });

  it("routes with an Ingress on the ingress class, TLS from the ssl contract and forward auth through the SSO by its cluster name", () => {
    const ing = find(rs, "Ingress", "route-whoami");
    assert.equal(ing.spec.ingressClassName, "nginx");
    assert.deepEqual(ing.spec.tls, [
      { hosts: ["whoami.psf.localhost"], secretName: "route-whoami-tls" },
    ]);
    assert.deepEqual(ing.spec.rules[0].http.paths[0].backend, {
      service: { name: "whoami", port: { number: 80 } },
    });
    const a = ing.metadata.annotations;
    // The controller lives in another namespace: a short name would not resolve there.
    assert.equal(
      a["nginx.ingress.kubernetes.io/auth-url"],
      "http://authelia.psf.svc.cluster.local:9091/api/authz/auth-request",
    );
    assert.equal(a["nginx.ingress.kubernetes.io/auth-method"], "GET");
    assert.equal(
      a["nginx.ingress.kubernetes.io/auth-response-headers"],
      "Remote-User,Remote-Groups,Remote-Email,Remote-Name",
    );
    assert.equal(
      find(rs, "Ingress", "route-authelia").metadata.annotations[
        "nginx.ingress.kubernetes.io/auth-url"
      ],
      undefined,
    );
    // Workloads reach each other by the same cluster names.
    const db = find(rs, "Secret", "whoami-secret").stringData.DATABASE_URL;
    assert.match(db, /@postgres\.psf\.svc\.cluster\.local:5432\/whoami$/);
  });

  it("runs nginx itself behind a LoadBalancer service when asked to, resolving upstreams without Docker's DNS", async () => {
    const lb = await plan(devOn({ proxyMode: "loadbalancer" }));
    const svc = find(lb, "Service", "nginx-service");
    assert.equal(svc.spec.type, "LoadBalancer");
    assert.equal(svc.spec.externalTrafficPolicy, "Local");
    assert.deepEqual(svc.spec.ports.map((p: any) => p.port).sort(), [8080, 8443]);
    assert.ok(!objects(lb).some((r) => kindOf(r) === "Ingress"));
    const conf = Object.values(find(lb, "ConfigMap", "nginx-files").data).find((v) =>
      String(v).includes("http {"),
    ) as string;
    assert.ok(conf, "nginx.conf in a ConfigMap");
    assert.ok(!/resolver 127\.0\.0\.11/.test(conf), "Docker's DNS does not exist in a pod");
    assert.ok(conf.includes("authelia.psf.svc.cluster.local:9091"), "forward auth by cluster name");
  });

  it("or behind a NodePort service", async () => {
    const np = await plan(devOn({ proxyMode: "nodeport" }));
    const svc = find(np, "Service", "nginx-service");
    assert.equal(svc.spec.type, "NodePort");
    assert.equal(svc.spec.externalTrafficPolicy, undefined);
    // Ports outside 30000-32767 are the cluster's to choose.
    assert.ok(
      svc.spec.ports.every((p: any) => p.nodePort === undefined && p.port === p.targetPort),
      JSON.stringify(svc.spec.ports),
    );
  });

  it("uses an existing namespace and ReadWriteMany claims when told to, with no affinity then", async () => {
    const rwx = await plan(
      devOn(
        { namespace: "apps", createNamespace: false, volumeAccessMode: "ReadWriteMany" },
        INGRESS,
      ),
    );
    assert.ok(!objects(rwx).some((r) => kindOf(r) === "Namespace"));
    for (const r of objects(rwx))
      assert.equal((mask(r.inputs) as any).metadata.namespace, "apps", r.name);
    for (const r of objects(rwx).filter((x) => kindOf(x) === "PersistentVolumeClaim"))
      assert.deepEqual((mask(r.inputs) as any).spec.accessModes, ["ReadWriteMany"]);
    for (const [id, t] of podSpecs(rwx)) assert.equal(t.spec.affinity, undefined, id);
    assert.equal(
      find(rwx, "Ingress", "route-whoami").metadata.annotations[
        "nginx.ingress.kubernetes.io/auth-url"
      ],
      "http://authelia.apps.svc.cluster.local:9091/api/authz/auth-request",
    );
  });

  it(`renders manifests (one YAML stream) whose every object validates against the Kubernetes OpenAPI schema (kubernetes-models ${MODELS_VERSION})`, () => {
    const all = objects(rs);
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
    const badProbe = structuredClone(find(rs, "StatefulSet", "postgres"));
    badProbe.spec.template.spec.containers[0].readinessProbe.periodSeconds = "5s";
    assert.throws(() => validateObject(badProbe), /periodSeconds/);
  });

  it("is listed by psf plan --json --stack k8s", () => {
    const r = spawnSync(
      process.execPath,
      [path.join(root, "bin", "psf.js"), "plan", "--json", "--stack", "k8s"],
      { encoding: "utf8", cwd: root },
    );
    assert.equal(r.status, 0, r.stderr);
    const types = new Set(JSON.parse(r.stdout).resources.map((x: { type: string }) => x.type));
    for (const t of [
      "kubernetes:core/v1:Namespace",
      "kubernetes:apps/v1:Deployment",
      "kubernetes:apps/v1:StatefulSet",
      "kubernetes:batch/v1:CronJob",
      "kubernetes:networking.k8s.io/v1:Ingress",
      "kubernetes:core/v1:Secret",
      "kubernetes:core/v1:PersistentVolumeClaim",
    ])
      assert.ok(types.has(t), t);
    assert.ok(![...types].some((t) => String(t).startsWith("docker:")));
  });
});
