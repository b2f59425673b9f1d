import * as pulumi from "@pulumi/pulumi";

/** A persistent volume, owned by a workload and addressable by others (backups mount it). */
export interface VolumeRef {
  /** The workload (service or provider) that owns the volume. */
  owner: string;
  name: string;
}

export interface VolumeMount {
  volume: VolumeRef;
  mountPath: string;
  readOnly?: boolean;
  /** Capacity to request where the target provisions storage (a Kubernetes PVC, e.g. `10Gi`); Docker volumes ignore it. */
  size?: string;
}

/** A file placed into the workload's filesystem before it starts. */
export interface WorkloadFile {
  path: string;
  content: pulumi.Input<string>;
  /** Secret files go to a K8s Secret / are wrapped as Pulumi secrets. */
  secret?: boolean;
  /** Octal mode, e.g. 0o600. */
  mode?: number;
}

export interface WorkloadPort {
  name: string;
  containerPort: number;
  /** Publish on the host (Docker) / node (NodePort). */
  hostPort?: number;
  hostAddress?: string;
  protocol?: "tcp" | "udp";
}

export interface Healthcheck {
  http?: { path: string; port: number };
  command?: string[];
  intervalSeconds: number;
  timeoutSeconds: number;
  retries: number;
  startPeriodSeconds: number;
}

/**
 * What runs, with no word on where: providers and apps describe workloads, targets
 * (Docker, Kubernetes) turn them into resources. Adding a field here is the one change
 * both targets read.
 */
export interface Workload {
  /** DNS-safe name, unique in the stack; other workloads reach it by this name. */
  name: string;
  /** `app.kubernetes.io/component`-style role: app, database, proxy, sso, backup, ldap. */
  component: string;
  /** The provider or service that owns it (`app.kubernetes.io/part-of`-style grouping). */
  partOf: string;
  image: pulumi.Input<string>;
  command?: pulumi.Input<string>[];
  args?: pulumi.Input<string>[];
  env?: Record<string, pulumi.Input<string>>;
  /** Env values that are secrets: K8s Secret, Pulumi secret in Docker state. */
  secretEnv?: Record<string, pulumi.Input<string>>;
  files?: WorkloadFile[];
  volumes?: VolumeMount[];
  ports?: WorkloadPort[];
  healthcheck?: Healthcheck;
  /** A 5-field cron schedule: the workload is a job run on schedule, not a server. */
  schedule?: string;
  /** Stateful workloads keep their identity and are replaced delete-before-create. */
  stateful: boolean;
  replicas?: number;
  resources?: { cpu?: string; memory?: string; cpuLimit?: string; memoryLimit?: string };
  user?: string;
  /**
   * When only `files` change, run this inside the running workload instead of replacing
   * it (nginx: `nginx -s reload`).
   */
  reloadCommand?: string[];
  /** Extra labels. */
  labels?: Record<string, string>;
  /**
   * Further names the workload answers to inside the stack: a proxy takes the public hosts
   * it serves, so an app reaches `https://auth.<domain>:<port>` (an OIDC issuer, say) without
   * leaving the stack. Docker adds them as network aliases; on Kubernetes public names resolve
   * through the cluster's DNS as they do outside.
   */
  aliases?: string[];
}
