import * as crypto from "crypto";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Healthcheck, Workload, WorkloadFile } from "../workload";

/** Pure builders of Kubernetes object parts from a workload: no resources, no cluster. */

export type Container = k8s.types.input.core.v1.Container;

/** The labels that select the pods of workload `name` in this stack. */
export function podSelector(
  name: string,
  stackLabels: Record<string, string>,
): Record<string, string> {
  return {
    "app.kubernetes.io/name": name,
    "app.kubernetes.io/instance": `${stackLabels["psf.stack"] ?? "psf"}-${name}`,
  };
}

/** `app.kubernetes.io/*` labels of a workload; `name` + `instance` select its pods. */
export function workloadLabels(
  w: Workload,
  stackLabels: Record<string, string>,
): { all: Record<string, string>; selector: Record<string, string> } {
  const selector = podSelector(w.name, stackLabels);
  return {
    selector,
    all: {
      ...stackLabels,
      ...selector,
      "app.kubernetes.io/component": w.component,
      "app.kubernetes.io/part-of": w.partOf,
      "app.kubernetes.io/managed-by": "psf",
      ...(w.labels ?? {}),
    },
  };
}

/** A ConfigMap/Secret key for a file: its path made key-safe, prefixed by position (paths may collide once flattened). */
export function fileKey(f: WorkloadFile, i: number): string {
  return `f${i}-${f.path.replace(/^\/+/, "").replace(/[^-._a-zA-Z0-9]+/g, "_")}`.slice(0, 253);
}

/** ConfigMap/Secret data of some of a workload's files, keyed as they are mounted. */
export function fileData(
  all: WorkloadFile[],
  some: WorkloadFile[],
): Record<string, pulumi.Input<string>> {
  return Object.fromEntries(some.map((f) => [fileKey(f, all.indexOf(f)), f.content]));
}

/** Volume items of some files: each key under its own name, with the file's mode. */
export function fileItems(
  all: WorkloadFile[],
  some: WorkloadFile[],
): k8s.types.input.core.v1.KeyToPath[] {
  return some.map((f) => ({
    key: fileKey(f, all.indexOf(f)),
    path: fileKey(f, all.indexOf(f)),
    mode: f.mode ?? (f.secret ? 0o600 : 0o644),
  }));
}

/** A Kubernetes object name: DNS-1123, at most 63 characters. */
export function objectName(...parts: string[]): string {
  return parts
    .join("-")
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63)
    .replace(/-+$/, "");
}

/** A port name: IANA service name rules (a-z0-9 and inner single hyphens, at most 15, a letter in it). */
export function portName(name: string): string {
  const n = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .slice(0, 15)
    .replace(/^-+|-+$/g, "");
  return /[a-z]/.test(n) ? n : `p${n}`.slice(0, 15);
}

/** Readiness, liveness and (with a start period) startup probes from a health check. */
export function probes(
  h: Healthcheck | undefined,
): Pick<Container, "readinessProbe" | "livenessProbe" | "startupProbe"> {
  if (!h) return {};
  const action = h.http
    ? { httpGet: { path: h.http.path, port: h.http.port } }
    : { exec: { command: h.command } };
  const base = { ...action, periodSeconds: h.intervalSeconds, timeoutSeconds: h.timeoutSeconds };
  return {
    readinessProbe: { ...base, failureThreshold: h.retries },
    // Liveness is more patient than readiness: a slow moment takes a pod out of rotation, not down.
    livenessProbe: { ...base, failureThreshold: h.retries * 2 },
    // Until the startup probe passes the others wait: Docker's start period.
    ...(h.startPeriodSeconds > 0
      ? {
          startupProbe: {
            ...base,
            failureThreshold: Math.ceil(h.startPeriodSeconds / h.intervalSeconds) + h.retries,
          },
        }
      : {}),
  };
}

/** Time to schedule a pod, pull its image and start it, beyond its health-check budget. */
const POD_START_SECONDS = 120;

/**
 * How long a rollout may take before `up` fails: each new pod's health-check budget (the
 * Docker target's wait: start period, then every retry) and time to start it, one pod after
 * another (`maxSurge: 1`). pulumi-kubernetes would otherwise wait 10 minutes for a release
 * that never gets ready. Undefined without a health check: nothing to bound.
 */
export function rolloutSeconds(h: Healthcheck | undefined, replicas: number): number | undefined {
  if (!h) return undefined;
  const perPod =
    h.startPeriodSeconds + h.retries * (h.intervalSeconds + h.timeoutSeconds) + POD_START_SECONDS;
  return perPod * Math.max(1, replicas);
}

/** Requests and limits; Docker-style sizes (`512M`) are valid Kubernetes quantities as they are. */
export function resources(
  r: Workload["resources"],
): k8s.types.input.core.v1.ResourceRequirements | undefined {
  if (!r) return undefined;
  const requests = { ...(r.cpu ? { cpu: r.cpu } : {}), ...(r.memory ? { memory: r.memory } : {}) };
  const limits = {
    ...(r.cpuLimit ? { cpu: r.cpuLimit } : {}),
    ...(r.memoryLimit ? { memory: r.memoryLimit } : {}),
  };
  if (!Object.keys(requests).length && !Object.keys(limits).length) return undefined;
  return {
    ...(Object.keys(requests).length ? { requests } : {}),
    ...(Object.keys(limits).length ? { limits } : {}),
  };
}

/**
 * A digest of what a pod reads at start but its template does not show: file content (mounted
 * with subPath, which never updates in place) and secret env (a Secret changes, the template
 * does not). As a pod-template annotation, a change rolls the pods. Secret parts are keyed
 * with `key` (a random secret of the stack), so the digest is no guessing aid and stays plain.
 */
export function contentDigest(
  w: Workload,
  key: pulumi.Input<string> | undefined,
): pulumi.Output<string> | undefined {
  const files = w.files ?? [];
  const secretEnv = Object.entries(w.secretEnv ?? {});
  if (!files.length && !secretEnv.length) return undefined;
  const content = pulumi.all({
    files: files.map((f) => pulumi.all([f.path, f.content, f.mode ?? 0])),
    secretEnv: secretEnv.map(([k, v]) => pulumi.all([k, v])),
  });
  const digest = pulumi.all([content, key]).apply(([c, k]) => {
    const h = k ? crypto.createHmac("sha256", k) : crypto.createHash("sha256");
    return h.update(JSON.stringify(c)).digest("hex").slice(0, 16);
  });
  // With a key the digest reveals nothing of the content; without one there is no secret part.
  return pulumi.unsecret(digest);
}

/** Env entries: plain values inline, secret values by reference to the workload's Secret. */
export function envVars(
  w: Workload,
  secretName: pulumi.Input<string>,
): k8s.types.input.core.v1.EnvVar[] {
  return [
    ...Object.entries(w.env ?? {}).map(([name, value]) => ({ name, value })),
    ...Object.keys(w.secretEnv ?? {}).map((name) => ({
      name,
      valueFrom: { secretKeyRef: { name: secretName, key: name } },
    })),
  ];
}

/**
 * `uid[:gid]` as a pod security context (names cannot be resolved outside the image). The
 * group also owns mounted volumes, so a non-root workload can write to a fresh claim.
 */
export function securityContext(
  user: string | undefined,
): k8s.types.input.core.v1.PodSecurityContext | undefined {
  const m = user ? /^(\d+)(?::(\d+))?$/.exec(user) : null;
  if (!m) return undefined;
  const gid = Number(m[2] ?? m[1]);
  return {
    runAsUser: Number(m[1]),
    runAsGroup: gid,
    fsGroup: gid,
    fsGroupChangePolicy: "OnRootMismatch",
  };
}

/**
 * Required pod affinity to the pods of the workloads owning ReadWriteOnce claims this pod
 * mounts (a backup job beside its service; a Deployment's replicas and its rollout surge beside
 * each other): such a claim attaches to one node. A pod matching its own term may start
 * anywhere when none runs yet, so a workload's first pod is free to go where it fits.
 */
export function claimAffinity(
  owners: Array<Record<string, string>>,
): k8s.types.input.core.v1.Affinity | undefined {
  if (!owners.length) return undefined;
  return {
    podAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: owners.map((selector) => ({
        labelSelector: { matchLabels: selector },
        topologyKey: "kubernetes.io/hostname",
      })),
    },
  };
}
