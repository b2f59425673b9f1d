import * as crypto from "crypto";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export type Container = k8s.types.input.core.v1.Container;
import { Healthcheck, Workload, WorkloadFile } from "../workload";

/** `app.kubernetes.io/*` labels of a workload; `name` + `instance` select its pods. */
export function workloadLabels(w: Workload, stackLabels: Record<string, string>): { all: Record<string, string>; selector: Record<string, string> } {
  const selector = { "app.kubernetes.io/name": w.name, "app.kubernetes.io/instance": `${stackLabels["psf.stack"] ?? "psf"}-${w.name}` };
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

/** A Kubernetes object name: DNS-1123, at most 63 characters. */
export function objectName(...parts: string[]): string {
  return parts.join("-").toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63).replace(/-+$/, "");
}

/** Readiness, liveness and (with a start period) startup probes from a health check. */
export function probes(h: Healthcheck | undefined): Pick<Container, "readinessProbe" | "livenessProbe" | "startupProbe"> {
  if (!h) return {};
  const action = h.http ? { httpGet: { path: h.http.path, port: h.http.port } } : { exec: { command: h.command } };
  const base = { ...action, periodSeconds: h.intervalSeconds, timeoutSeconds: h.timeoutSeconds };
  return {
    readinessProbe: { ...base, failureThreshold: h.retries },
    // Liveness is more patient than readiness: a slow moment takes a pod out of rotation, not down.
    livenessProbe: { ...base, failureThreshold: h.retries * 2 },
    ...(h.startPeriodSeconds > 0
      ? { startupProbe: { ...base, failureThreshold: Math.ceil(h.startPeriodSeconds / h.intervalSeconds) + h.retries } }
      : {}),
  };
}

/** Requests and limits; Docker-style sizes (`512M`) are valid Kubernetes quantities as they are. */
export function resources(r: Workload["resources"]): k8s.types.input.core.v1.ResourceRequirements | undefined {
  if (!r) return undefined;
  const requests = { ...(r.cpu ? { cpu: r.cpu } : {}), ...(r.memory ? { memory: r.memory } : {}) };
  const limits = { ...(r.cpuLimit ? { cpu: r.cpuLimit } : {}), ...(r.memoryLimit ? { memory: r.memoryLimit } : {}) };
  if (!Object.keys(requests).length && !Object.keys(limits).length) return undefined;
  return { ...(Object.keys(requests).length ? { requests } : {}), ...(Object.keys(limits).length ? { limits } : {}) };
}

/**
 * A hash of the files' content for a pod-template annotation: files are mounted with subPath,
 * which never updates in place, so a change must roll the pods. Secret when any file is.
 */
export function contentHash(files: WorkloadFile[]): pulumi.Output<string> {
  const hash = pulumi
    .all(files.map((f) => pulumi.all([f.path, f.content, f.mode ?? 0])))
    .apply((fs) => crypto.createHash("sha256").update(JSON.stringify(fs)).digest("hex").slice(0, 16));
  return files.some((f) => f.secret) ? pulumi.secret(hash) : hash;
}

/** Env entries: plain values inline, secret values by reference to the workload's Secret. */
export function envVars(w: Workload, secretName: string): k8s.types.input.core.v1.EnvVar[] {
  return [
    ...Object.entries(w.env ?? {}).map(([name, value]) => ({ name, value })),
    ...Object.keys(w.secretEnv ?? {}).map((name) => ({ name, valueFrom: { secretKeyRef: { name: secretName, key: name } } })),
  ];
}

/** `uid[:gid]` as a pod security context (names cannot be resolved outside the image). */
export function securityContext(user: string | undefined): k8s.types.input.core.v1.PodSecurityContext | undefined {
  const m = user ? /^(\d+)(?::(\d+))?$/.exec(user) : null;
  if (!m) return undefined;
  return { runAsUser: Number(m[1]), ...(m[2] ? { runAsGroup: Number(m[2]) } : {}) };
}
