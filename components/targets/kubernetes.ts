import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { StackSettings, TargetConfig } from "../config";
import { shellQuote } from "../shell";
import { VolumeRef, Workload, WorkloadFile } from "../workload";
import { contentHash, envVars, fileKey, objectName, probes, resources, securityContext, workloadLabels } from "./kubernetes-objects";
import { Deployed, PublicRoute, Target } from "./target";

export type KubernetesTargetArgs = Extract<TargetConfig, { kind: "kubernetes" }> & {
  labels: Record<string, string>;
  stack: StackSettings;
};

/** Default capacity of a volume whose workload does not say. */
const DEFAULT_VOLUME_SIZE = "1Gi";

/**
 * Realises workloads on a Kubernetes cluster, in one namespace: stateless ones as a Deployment
 * (rolling, a new pod must be ready before an old one goes) and stateful ones as a StatefulSet,
 * each behind a Service; files in a ConfigMap, secret files and env in a Secret; health checks
 * as probes; schedules as CronJobs. Volumes are PersistentVolumeClaims of their own, so a
 * backup job can mount a service's volume (it is scheduled beside the owner: ReadWriteOnce).
 */
export class KubernetesTarget implements Target {
  readonly kind = "kubernetes" as const;
  readonly namespace: k8s.core.v1.Namespace;
  /** Only in ingress mode: otherwise the proxy provider runs its own server. */
  readonly route?: (r: PublicRoute, opts: { parent: pulumi.Resource }) => pulumi.Resource[];
  private readonly provider: k8s.Provider;
  private readonly claims = new Map<string, k8s.core.v1.PersistentVolumeClaim>();
  /** Sizes workloads ask for, by volume, before the claim is created. */
  private readonly sizes = new Map<string, string>();
  private readonly ns: string;
  /** Workloads deployed so far: pods a job can be scheduled beside. */
  private readonly deployed = new Set<string>();

  constructor(
    private readonly args: KubernetesTargetArgs,
    private readonly parent: pulumi.Resource,
  ) {
    this.ns = args.namespace;
    if (args.proxyMode === "ingress") this.route = (r, opts) => this.ingress(r, opts);
    this.provider = new k8s.Provider(
      "kubernetes",
      { namespace: args.namespace, kubeconfig: args.kubeconfig, context: args.context },
      { parent },
    );
    this.namespace = new k8s.core.v1.Namespace(
      args.namespace,
      { metadata: { name: args.namespace, labels: args.labels } },
      { parent, provider: this.provider },
    );
  }

  address(name: string): string {
    return name;
  }

  volume(ref: VolumeRef): k8s.core.v1.PersistentVolumeClaim {
    const name = objectName(ref.owner, ref.name);
    let claim = this.claims.get(name);
    if (!claim) {
      claim = new k8s.core.v1.PersistentVolumeClaim(
        name,
        {
          metadata: { name, namespace: this.ns, labels: { ...this.args.labels, "psf.owner": ref.owner } },
          spec: {
            accessModes: ["ReadWriteOnce"],
            storageClassName: this.args.storageClass,
            resources: { requests: { storage: this.sizes.get(name) ?? DEFAULT_VOLUME_SIZE } },
          },
        },
        // Data outlives a mistaken delete of the stack's config: `pulumi destroy` keeps claims
        // only if the user says so; here we at least refuse to replace them silently.
        { ...this.opts(this.parent), deleteBeforeReplace: true },
      );
      this.claims.set(name, claim);
    }
    return claim;
  }

  deploy(w: Workload, opts: { parent: pulumi.Resource; dependsOn?: pulumi.Input<pulumi.Resource>[] }): Deployed {
    this.deployed.add(w.name);
    for (const m of w.volumes ?? []) if (m.size) this.sizes.set(objectName(m.volume.owner, m.volume.name), m.size);
    const o = { ...this.opts(opts.parent), dependsOn: opts.dependsOn };
    const labels = workloadLabels(w, this.args.labels);
    const meta = (name: string) => ({ name, namespace: this.ns, labels: labels.all });
    const files = w.files ?? [];
    const plainFiles = files.filter((f) => !f.secret);
    const secretFiles = files.filter((f) => f.secret);
    const resourcesOut: pulumi.Resource[] = [];

    const configMap = plainFiles.length
      ? new k8s.core.v1.ConfigMap(`${w.name}-files`, { metadata: meta(objectName(w.name, "files")), data: fileData(files, plainFiles) }, o)
      : undefined;
    // Secret files and secret env never go to a ConfigMap.
    const secret =
      secretFiles.length || Object.keys(w.secretEnv ?? {}).length
        ? new k8s.core.v1.Secret(
            `${w.name}-secret`,
            {
              metadata: meta(objectName(w.name, "secret")),
              type: "Opaque",
              stringData: pulumi.secret(pulumi.output({ ...fileData(files, secretFiles), ...(w.secretEnv ?? {}) }) as pulumi.Output<Record<string, string>>),
            },
            o,
          )
        : undefined;
    if (configMap) resourcesOut.push(configMap);
    if (secret) resourcesOut.push(secret);

    const volumes: k8s.types.input.core.v1.Volume[] = [];
    const mounts: k8s.types.input.core.v1.VolumeMount[] = [];
    if (configMap) volumes.push({ name: "files", configMap: { name: configMap.metadata.name, items: fileItems(files, plainFiles) } });
    if (secretFiles.length && secret) volumes.push({ name: "secret-files", secret: { secretName: secret.metadata.name, items: fileItems(files, secretFiles) } });
    files.forEach((f, i) =>
      mounts.push({ name: f.secret ? "secret-files" : "files", mountPath: f.path, subPath: fileKey(f, i), readOnly: true }),
    );
    for (const m of w.volumes ?? []) {
      const claim = this.volume(m.volume);
      const vname = objectName("vol", m.volume.owner, m.volume.name);
      if (!volumes.some((v) => v.name === vname)) volumes.push({ name: vname, persistentVolumeClaim: { claimName: claim.metadata.name } });
      mounts.push({ name: vname, mountPath: m.mountPath, readOnly: m.readOnly ?? false });
    }

    const container: k8s.types.input.core.v1.Container = {
      name: w.name,
      image: w.image,
      command: w.command,
      args: w.args,
      env: envVars(w, objectName(w.name, "secret")),
      ports: (w.ports ?? []).map((p) => ({ name: p.name.slice(0, 15), containerPort: p.containerPort, protocol: (p.protocol ?? "tcp").toUpperCase() })),
      volumeMounts: mounts,
      resources: resources(w.resources),
      ...(w.schedule ? {} : probes(w.healthcheck)),
    };
    const podSpec: k8s.types.input.core.v1.PodSpec = {
      containers: [container],
      volumes,
      securityContext: securityContext(w.user),
      // Beside the owners of the volumes it mounts: a ReadWriteOnce claim attaches to one node.
      affinity: borrowedVolumeAffinity(w, (owner) => owner in this.args.stack.services || this.deployed.has(owner)),
    };
    const template: k8s.types.input.core.v1.PodTemplateSpec = {
      metadata: { labels: { ...labels.all }, annotations: files.length ? { "psf/files-hash": contentHash(files) } : undefined },
      spec: podSpec,
    };

    let kind: "deployment" | "statefulset" | "cronjob";
    let workload: pulumi.CustomResource;
    if (w.schedule) {
      kind = "cronjob";
      workload = new k8s.batch.v1.CronJob(
        w.name,
        {
          metadata: meta(w.name),
          spec: {
            schedule: w.schedule,
            concurrencyPolicy: "Forbid",
            successfulJobsHistoryLimit: 3,
            failedJobsHistoryLimit: 3,
            jobTemplate: { spec: { backoffLimit: 1, template: { ...template, spec: { ...podSpec, restartPolicy: "Never" } } } },
          },
        },
        o,
      );
    } else if (w.stateful) {
      kind = "statefulset";
      workload = new k8s.apps.v1.StatefulSet(
        w.name,
        {
          metadata: meta(w.name),
          spec: { serviceName: w.name, replicas: 1, selector: { matchLabels: labels.selector }, template },
        },
        o,
      );
    } else {
      kind = "deployment";
      // Pods with volumes cannot run twice on a ReadWriteOnce claim: recreate them instead.
      const recreate = (w.volumes ?? []).some((m) => !m.readOnly);
      workload = new k8s.apps.v1.Deployment(
        w.name,
        {
          metadata: meta(w.name),
          spec: {
            replicas: w.replicas ?? 1,
            selector: { matchLabels: labels.selector },
            strategy: recreate ? { type: "Recreate" } : { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
            template,
          },
        },
        o,
      );
    }
    resourcesOut.push(workload);
    if (!w.schedule && (w.ports ?? []).length) resourcesOut.push(this.service(w, labels, meta, o));

    const exec = (cmd: string[], x?: { stdin?: boolean }) =>
      pulumi.output(`kubectl -n ${this.ns} exec ${x?.stdin ? "-i " : ""}${kind === "statefulset" ? "statefulset" : "deployment"}/${w.name} -- ${cmd.map(shellQuote).join(" ")}`);
    return {
      address: w.name,
      resources: resourcesOut,
      exec,
      runNow: w.schedule
        ? pulumi.output(
            `job=${w.name}-now-$(date +%s) && kubectl -n ${this.ns} create job --from=cronjob/${w.name} "$job" && kubectl -n ${this.ns} wait --for=condition=complete --timeout=2h "job/$job"`,
          )
        : undefined,
    };
  }

  /** Serves a public route with an Ingress (TLS from the ssl contract, forward auth by annotation). */
  private ingress(r: PublicRoute, opts: { parent: pulumi.Resource }): pulumi.Resource[] {
    const name = objectName("route", r.name);
    const o = this.opts(opts.parent);
    const tls = new k8s.core.v1.Secret(
      `${name}-tls`,
      {
        metadata: { name: objectName(name, "tls"), namespace: this.ns, labels: this.args.labels },
        type: "kubernetes.io/tls",
        stringData: { "tls.crt": r.tls.certPem, "tls.key": pulumi.secret(r.tls.keyPem) },
      },
      o,
    );
    // ingress-nginx annotations; other controllers ignore them (docs/kubernetes.md).
    const annotations: Record<string, pulumi.Input<string>> = {
      "nginx.ingress.kubernetes.io/backend-protocol": r.upstream.scheme.toUpperCase(),
      "nginx.ingress.kubernetes.io/force-ssl-redirect": "true",
      ...(r.maxBodySize ? { "nginx.ingress.kubernetes.io/proxy-body-size": r.maxBodySize } : {}),
      ...(r.websockets ? { "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600" } : {}),
      ...(r.auth
        ? { "nginx.ingress.kubernetes.io/auth-url": r.auth.forwardAuthUrl, "nginx.ingress.kubernetes.io/auth-signin": r.auth.signinUrl }
        : {}),
    };
    const ingress = new k8s.networking.v1.Ingress(
      name,
      {
        metadata: { name, namespace: this.ns, labels: this.args.labels, annotations },
        spec: {
          ingressClassName: this.args.ingressClass,
          tls: [{ hosts: [r.host], secretName: tls.metadata.name }],
          rules: [
            {
              host: r.host,
              http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: r.upstream.host, port: { number: r.upstream.port } } } }] },
            },
          ],
        },
      },
      o,
    );
    return [tls, ingress];
  }

  private service(
    w: Workload,
    labels: ReturnType<typeof workloadLabels>,
    meta: (name: string) => k8s.types.input.meta.v1.ObjectMeta,
    o: pulumi.CustomResourceOptions,
  ): k8s.core.v1.Service {
    const published = (w.ports ?? []).some((p) => p.hostPort !== undefined);
    // A port published on the host (nginx's 80/443) becomes a LoadBalancer or NodePort service.
    const type = published ? (this.args.proxyMode === "nodeport" ? "NodePort" : "LoadBalancer") : "ClusterIP";
    return new k8s.core.v1.Service(
      `${w.name}-service`,
      {
        metadata: meta(w.name),
        spec: {
          type,
          selector: labels.selector,
          // Stateful sets get stable per-pod DNS through their (same-named) service.
          ports: (w.ports ?? []).map((p) => ({
            name: p.name.slice(0, 15),
            port: p.hostPort !== undefined && type === "LoadBalancer" ? p.hostPort : p.containerPort,
            targetPort: p.containerPort,
            protocol: (p.protocol ?? "tcp").toUpperCase(),
            ...(type === "NodePort" && p.hostPort !== undefined && p.hostPort >= 30000 && p.hostPort <= 32767 ? { nodePort: p.hostPort } : {}),
          })),
        },
      },
      o,
    );
  }

  private opts(parent: pulumi.Resource): pulumi.CustomResourceOptions {
    return { parent, provider: this.provider, dependsOn: [this.namespace] };
  }
}

/** ConfigMap/Secret data of some of a workload's files, keyed as they are mounted. */
function fileData(all: WorkloadFile[], some: WorkloadFile[]): Record<string, pulumi.Input<string>> {
  return Object.fromEntries(some.map((f) => [fileKey(f, all.indexOf(f)), f.content]));
}

function fileItems(all: WorkloadFile[], some: WorkloadFile[]) {
  return some.map((f) => ({ key: fileKey(f, all.indexOf(f)), path: fileKey(f, all.indexOf(f)), mode: f.mode ?? (f.secret ? 0o600 : 0o644) }));
}

/**
 * Pod affinity to the workloads owning volumes this one mounts but does not own (a backup job
 * beside its service). Volumes a provider owns (a local backup repository) have no pod to
 * follow: on several nodes they need a ReadWriteMany storage class (docs/kubernetes.md).
 */
function borrowedVolumeAffinity(w: Workload, hasPods: (owner: string) => boolean): k8s.types.input.core.v1.Affinity | undefined {
  const owners = [...new Set((w.volumes ?? []).map((m) => m.volume.owner).filter((o) => o !== w.name && hasPods(o)))];
  if (!owners.length) return undefined;
  return {
    podAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: owners.map((owner) => ({
        labelSelector: { matchLabels: { "app.kubernetes.io/name": owner } },
        topologyKey: "kubernetes.io/hostname",
      })),
    },
  };
}
