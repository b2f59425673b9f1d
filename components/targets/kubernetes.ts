import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { StackSettings, TargetConfig } from "../config";
import { snapshotHooks } from "../pre-change-snapshot";
import { VolumeRef, Workload } from "../workload";
import {
  execCommand,
  kubectlBase,
  readinessCommand,
  runJobCommand,
  runPodCommand,
} from "./kubernetes-commands";
import { kubernetesIngress } from "./kubernetes-ingress";
import {
  claimAffinity,
  contentDigest,
  envVars,
  fileData,
  fileItems,
  fileKey,
  objectName,
  podSelector,
  portName,
  probes,
  resources,
  rolloutSeconds,
  securityContext,
  workloadLabels,
} from "./kubernetes-objects";
import { Deployed, IngressRoute, Target } from "./target";

export type KubernetesTargetArgs = Extract<TargetConfig, { kind: "kubernetes" }> & {
  labels: Record<string, string>;
  stack: StackSettings;
};

type Meta = (name: string) => k8s.types.input.meta.v1.ObjectMeta;

/**
 * PSF owns the objects it declares: a field someone changed behind its back (`kubectl scale`,
 * `kubectl edit`) is put back by the next `up`. Without it server-side apply refuses the change
 * as a conflict with the other field manager, and the drift that `refresh` found stays.
 */
const OWNED = { "pulumi.com/patchForce": "true" };

/** Capacity of a volume whose owner does not say. */
const DEFAULT_VOLUME_SIZE = "1Gi";

/**
 * Realises workloads on a Kubernetes cluster, in one namespace: stateless ones as a Deployment
 * (rolling: a new pod must be ready before an old one goes), stateful ones as a StatefulSet
 * behind a headless Service, schedules as CronJobs; files in a ConfigMap, secret files and env
 * in a Secret; health checks as probes. Volumes are PersistentVolumeClaims of their own, mounted
 * by claim name, so a backup job mounts its service's volume (docs/kubernetes.md).
 */
export class KubernetesTarget implements Target {
  readonly kind = "kubernetes" as const;
  private readonly provider: k8s.Provider;
  /** Absent when the stack uses a namespace that exists (`createNamespace: false`). */
  private readonly namespace?: k8s.core.v1.Namespace;
  /** The namespace name as objects reference it: through the Namespace, so they wait for it. */
  private readonly ns: pulumi.Input<string>;
  private readonly kubectl: string;
  private readonly claims = new Map<string, k8s.core.v1.PersistentVolumeClaim>();
  /** Sizes workloads ask for, by claim name, before the claim is created. */
  private readonly sizes = new Map<string, string>();
  /** Workloads deployed so far: pods a job can be scheduled beside. */
  private readonly deployed = new Set<string>();
  private hashKey?: random.RandomBytes;

  constructor(
    private readonly args: KubernetesTargetArgs,
    private readonly parent: pulumi.Resource,
  ) {
    this.provider = new k8s.Provider(
      "kubernetes",
      { namespace: args.namespace, kubeconfig: args.kubeconfig, context: args.context },
      { parent },
    );
    if (args.createNamespace !== false)
      this.namespace = new k8s.core.v1.Namespace(
        args.namespace,
        { metadata: { name: args.namespace, labels: args.labels } },
        { parent, provider: this.provider },
      );
    this.ns = this.namespace ? this.namespace.metadata.name : args.namespace;
    this.kubectl = kubectlBase(args);
  }

  /** An Ingress and its TLS Secret: the cluster's ingress controller serves the route. */
  ingress(r: IngressRoute, opts: pulumi.CustomResourceOptions): pulumi.Resource[] {
    const base = this.opts(opts.parent!);
    return kubernetesIngress(r, {
      namespace: this.ns,
      labels: this.args.labels,
      opts: { ...opts, ...base },
    });
  }

  /** The Service's cluster DNS name: it resolves in every namespace (the ingress controller's too). */
  address(name: string): string {
    return `${name}.${this.args.namespace}.svc.${this.args.clusterDomain ?? "cluster.local"}`;
  }

  /**
   * A claim of its own per volume, so any workload can mount it by name. Its spec is fixed at
   * creation: Kubernetes forbids most changes and Pulumi would replace (empty) the claim for
   * any, so later changes are ignored (grow a claim with `kubectl patch`, docs/kubernetes.md).
   */
  volume(ref: VolumeRef): k8s.core.v1.PersistentVolumeClaim {
    const name = objectName(ref.owner, ref.name);
    let claim = this.claims.get(name);
    if (!claim) {
      claim = new k8s.core.v1.PersistentVolumeClaim(
        name,
        {
          metadata: {
            name,
            namespace: this.ns,
            labels: { ...this.args.labels, "psf.owner": ref.owner },
          },
          spec: {
            accessModes: [this.args.volumeAccessMode ?? "ReadWriteOnce"],
            storageClassName: this.args.storageClass,
            resources: { requests: { storage: this.sizes.get(name) ?? DEFAULT_VOLUME_SIZE } },
          },
        },
        { ...this.opts(this.parent), ignoreChanges: ["spec"] },
      );
      this.claims.set(name, claim);
    }
    return claim;
  }

  deploy(
    w: Workload,
    opts: { parent: pulumi.Resource; dependsOn?: pulumi.Input<pulumi.Resource>[] },
  ): Deployed {
    this.deployed.add(w.name);
    for (const m of w.volumes ?? []) {
      const name = objectName(m.volume.owner, m.volume.name);
      if (!m.size) continue;
      if (this.claims.has(name) && this.sizes.get(name) !== m.size)
        pulumi.log.warn(
          `kubernetes: the claim ${name} was created before ${w.name} asked for ${m.size}; it keeps its size`,
        );
      this.sizes.set(name, m.size);
    }
    const base = this.opts(opts.parent);
    const o: pulumi.CustomResourceOptions = {
      ...base,
      dependsOn: [...(base.dependsOn as pulumi.Resource[]), ...(opts.dependsOn ?? [])],
    };
    const labels = workloadLabels(w, this.args.labels);
    const meta: Meta = (name) => ({
      name,
      namespace: this.ns,
      labels: labels.all,
      annotations: OWNED,
    });
    const { configMap, secret, volumes, mounts } = this.filesAndVolumes(w, meta, o);
    const config = [configMap, secret].filter(
      (r): r is k8s.core.v1.ConfigMap | k8s.core.v1.Secret => !!r,
    );

    const container: k8s.types.input.core.v1.Container = {
      name: w.name,
      image: w.image,
      command: w.command,
      args: w.args,
      env: envVars(w, secret ? secret.metadata.name : objectName(w.name, "secret")),
      ports: (w.ports ?? []).map((p) => ({
        name: portName(p.name),
        containerPort: p.containerPort,
        protocol: (p.protocol ?? "tcp").toUpperCase(),
      })),
      volumeMounts: mounts,
      resources: resources(w.resources),
      ...(w.schedule ? {} : probes(w.healthcheck)),
    };
    const podSpec: k8s.types.input.core.v1.PodSpec = {
      containers: [container],
      volumes,
      securityContext: securityContext(w.user),
      affinity: this.affinity(w),
      // Docker injects no env of other services; Kubernetes would (AUTHELIA_PORT=tcp://..., which
      // Authelia reads as configuration and refuses).
      enableServiceLinks: false,
      automountServiceAccountToken: false,
    };
    const digest = contentDigest(w, this.secretContent(w) ? this.key().base64 : undefined);
    const template: k8s.types.input.core.v1.PodTemplateSpec = {
      metadata: {
        labels: { ...labels.all },
        annotations: digest ? { "psf/content-digest": digest } : undefined,
      },
      spec: podSpec,
    };
    // The workload starts once its files and Secret exist (env references name them only).
    // A rollout that is not ready in its health check's time fails `up` (the old pods serve on).
    const deadline = w.schedule ? undefined : rolloutSeconds(w.healthcheck, w.replicas ?? 1);
    const wo: pulumi.CustomResourceOptions = {
      ...o,
      dependsOn: [...(o.dependsOn as pulumi.Resource[]), ...config],
      ...(deadline ? { customTimeouts: { create: `${deadline}s`, update: `${deadline}s` } } : {}),
    };

    const resourcesOut: pulumi.Resource[] = [...config];
    let ref: string;
    if (w.schedule) {
      resourcesOut.push(
        new k8s.batch.v1.CronJob(
          w.name,
          {
            metadata: meta(w.name),
            spec: {
              schedule: w.schedule,
              concurrencyPolicy: "Forbid",
              successfulJobsHistoryLimit: 3,
              failedJobsHistoryLimit: 3,
              jobTemplate: {
                spec: {
                  backoffLimit: 1,
                  template: { ...template, spec: { ...podSpec, restartPolicy: "Never" } },
                },
              },
            },
          },
          wo,
        ),
      );
      ref = `cronjob/${w.name}`;
    } else if (w.stateful) {
      resourcesOut.push(
        new k8s.apps.v1.StatefulSet(
          w.name,
          {
            metadata: meta(w.name),
            spec: {
              serviceName: w.name,
              replicas: 1,
              selector: { matchLabels: labels.selector },
              template,
            },
          },
          // Its data is backed up before it goes, and before a new image rolls it.
          {
            ...wo,
            hooks: snapshotHooks(w.name, {
              address: this.address(w.name),
              risky: imagesChanged,
            }),
          },
        ),
      );
      ref = `statefulset/${w.name}`;
    } else {
      resourcesOut.push(
        new k8s.apps.v1.Deployment(
          w.name,
          {
            metadata: meta(w.name),
            spec: {
              replicas: w.replicas ?? 1,
              selector: { matchLabels: labels.selector },
              // The cluster marks the rollout stalled when PSF gives up on it.
              ...(deadline ? { progressDeadlineSeconds: deadline } : {}),
              strategy: {
                type: "RollingUpdate",
                rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
              },
              template,
            },
          },
          wo,
        ),
      );
      ref = `deployment/${w.name}`;
    }
    // A StatefulSet's governing Service exists even without ports: it names the pods in DNS.
    if (!w.schedule && ((w.ports ?? []).length || w.stateful))
      resourcesOut.push(this.service(w, labels.selector, meta, o));

    const exec = (argv: string[], x?: { stdin?: boolean }) =>
      w.schedule
        ? pulumi
            .output({
              image: w.image,
              spec: { ...podSpec, restartPolicy: "Never" },
              labels: labels.all,
            })
            .apply((p) =>
              runPodCommand(
                this.kubectl,
                w.name,
                p.image,
                { metadata: { labels: p.labels }, spec: p.spec },
                argv,
              ),
            )
        : pulumi.output(execCommand(this.kubectl, ref, argv, x?.stdin));
    return {
      address: this.address(w.name),
      resources: resourcesOut,
      exec,
      runNow: w.schedule ? pulumi.output(runJobCommand(this.kubectl, w.name)) : undefined,
      healthCommand: w.schedule ? undefined : pulumi.output(readinessCommand(this.kubectl, ref)),
    };
  }

  /** A ConfigMap for plain files, a Secret for secret files and env (never a ConfigMap), and the pod's volumes. */
  private filesAndVolumes(w: Workload, meta: Meta, o: pulumi.CustomResourceOptions) {
    const files = w.files ?? [];
    const plainFiles = files.filter((f) => !f.secret);
    const secretFiles = files.filter((f) => f.secret);
    const configMap = plainFiles.length
      ? new k8s.core.v1.ConfigMap(
          `${w.name}-files`,
          { metadata: meta(objectName(w.name, "files")), data: fileData(files, plainFiles) },
          o,
        )
      : undefined;
    const secret =
      secretFiles.length || Object.keys(w.secretEnv ?? {}).length
        ? new k8s.core.v1.Secret(
            `${w.name}-secret`,
            {
              metadata: meta(objectName(w.name, "secret")),
              type: "Opaque",
              stringData: pulumi.secret(
                pulumi.output({
                  ...fileData(files, secretFiles),
                  ...(w.secretEnv ?? {}),
                }) as pulumi.Output<Record<string, string>>,
              ),
            },
            o,
          )
        : undefined;

    const volumes: k8s.types.input.core.v1.Volume[] = [];
    const mounts: k8s.types.input.core.v1.VolumeMount[] = [];
    if (configMap)
      volumes.push({
        name: "files",
        configMap: { name: configMap.metadata.name, items: fileItems(files, plainFiles) },
      });
    if (secret && secretFiles.length)
      volumes.push({
        name: "secret-files",
        secret: { secretName: secret.metadata.name, items: fileItems(files, secretFiles) },
      });
    // subPath: one file at its path, beside what the image has in that directory.
    files.forEach((f, i) =>
      mounts.push({
        name: f.secret ? "secret-files" : "files",
        mountPath: f.path,
        subPath: fileKey(f, i),
        readOnly: true,
      }),
    );
    for (const m of w.volumes ?? []) {
      const claim = this.volume(m.volume);
      const vname = objectName("vol", m.volume.owner, m.volume.name);
      if (!volumes.some((v) => v.name === vname))
        volumes.push({ name: vname, persistentVolumeClaim: { claimName: claim.metadata.name } });
      mounts.push({ name: vname, mountPath: m.mountPath, readOnly: m.readOnly ?? false });
    }
    return { configMap, secret, volumes, mounts };
  }

  /** Whether the workload's digest covers secret content (then it is keyed). */
  private secretContent(w: Workload): boolean {
    return (w.files ?? []).some((f) => f.secret) || Object.keys(w.secretEnv ?? {}).length > 0;
  }

  /** The stack's key for content digests: random, kept secret in the state, created once. */
  private key(): random.RandomBytes {
    this.hashKey ??= new random.RandomBytes(
      "kubernetes-digest-key",
      { length: 32 },
      { parent: this.parent },
    );
    return this.hashKey;
  }

  /** On ReadWriteOnce claims: beside the pods of every owner of a claim it mounts (itself included). */
  private affinity(w: Workload): k8s.types.input.core.v1.Affinity | undefined {
    if ((this.args.volumeAccessMode ?? "ReadWriteOnce") !== "ReadWriteOnce" || w.stateful)
      return undefined;
    // Owners with pods: services and deployed workloads; a provider's own volume (a local backup
    // repository) has none to follow (docs/kubernetes.md: ReadWriteMany on several nodes).
    const hasPods = (owner: string) =>
      owner in this.args.stack.services || this.deployed.has(owner);
    const owners = [...new Set((w.volumes ?? []).map((m) => m.volume.owner))].filter(
      (owner) => (owner !== w.name || !w.schedule) && hasPods(owner),
    );
    return claimAffinity(owners.map((owner) => podSelector(owner, this.args.labels)));
  }

  private service(
    w: Workload,
    selector: Record<string, string>,
    meta: Meta,
    o: pulumi.CustomResourceOptions,
  ): k8s.core.v1.Service {
    const published = (w.ports ?? []).some((p) => p.hostPort !== undefined);
    // A port published on the host (nginx's 80/443) becomes a LoadBalancer or NodePort service.
    const type = published
      ? this.args.proxyMode === "nodeport"
        ? "NodePort"
        : "LoadBalancer"
      : "ClusterIP";
    const headless = w.stateful && !published;
    return new k8s.core.v1.Service(
      `${w.name}-service`,
      {
        metadata: {
          ...meta(w.name),
          // Nothing to wait for when no pod is asked for.
          annotations: {
            ...OWNED,
            ...(w.replicas === 0 ? { "pulumi.com/skipAwait": "true" } : {}),
          },
        },
        spec: {
          type,
          ...(headless ? { clusterIP: "None" } : {}),
          // Client addresses reach nginx unchanged (its rate limits and logs key on them).
          ...(type === "LoadBalancer" ? { externalTrafficPolicy: "Local" } : {}),
          selector,
          ports: (w.ports ?? []).map((p) => ({
            name: portName(p.name),
            port:
              p.hostPort !== undefined && type === "LoadBalancer" ? p.hostPort : p.containerPort,
            targetPort: p.containerPort,
            protocol: (p.protocol ?? "tcp").toUpperCase(),
            ...(type === "NodePort" &&
            p.hostPort !== undefined &&
            p.hostPort >= 30000 &&
            p.hostPort <= 32767
              ? { nodePort: p.hostPort }
              : {}),
          })),
        },
      },
      o,
    );
  }

  private opts(parent: pulumi.Resource): pulumi.CustomResourceOptions {
    return { parent, provider: this.provider, dependsOn: this.namespace ? [this.namespace] : [] };
  }
}

/** Whether a pod-owning object's new inputs run other images than its old ones. */
export function imagesChanged(
  oldInputs: Record<string, unknown>,
  newInputs: Record<string, unknown>,
): boolean {
  const images = (inputs: Record<string, unknown>) => {
    const pod = (inputs as { spec?: { template?: { spec?: Record<string, unknown> } } }).spec
      ?.template?.spec;
    return ["initContainers", "containers"]
      .flatMap((k) => ((pod?.[k] as { image?: string }[] | undefined) ?? []).map((c) => c.image))
      .join("\n");
  };
  return images(oldInputs) !== images(newInputs);
}
