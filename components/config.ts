import * as fs from "fs";
import * as YAML from "yaml";
import { CONTRACT_NAMES, ContractName } from "./contract";
import { Issue, joinPath } from "./errors";
import { ObjectSpec, SecureValue, Spec, check, unknownKeyIssue } from "./validate/schema";

export const ENVIRONMENTS = ["development", "staging", "production"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export interface HealthcheckConfig {
  http?: string;
  command?: string[];
  /** Seconds between probes. */
  interval: number;
  timeout: number;
  retries: number;
  startPeriod: number;
}

export interface PublishedPort {
  host: number;
  container: number;
  address: string;
}

export interface ServiceConfig {
  image: string;
  port?: number;
  subdomain?: string;
  command?: string[];
  env: Record<string, string | number | boolean | SecureValue>;
  volumes: Record<string, string>;
  healthcheck?: HealthcheckConfig;
  needs: Partial<Record<ContractName, any>>;
  publish: PublishedPort[];
  replicas: number;
  resources?: { cpu?: string; memory?: string; cpuLimit?: string; memoryLimit?: string };
}

export type TargetConfig =
  | { kind: "docker"; host?: string; network?: string }
  | {
      kind: "kubernetes";
      namespace: string;
      context?: string;
      kubeconfig?: string;
      storageClass?: string;
      ingressClass?: string;
      /** How the proxy contract is exposed: an Ingress, or the proxy provider behind a Service. */
      proxyMode: "ingress" | "loadbalancer" | "nodeport";
      /** Create the namespace (and delete it on destroy), or use one that exists. */
      createNamespace: boolean;
      /** The cluster's DNS domain: workloads are reached as `<name>.<namespace>.svc.<clusterDomain>`. */
      clusterDomain: string;
      /** Access mode of every PersistentVolumeClaim; ReadWriteMany lets pods on any node share a volume. */
      volumeAccessMode: "ReadWriteOnce" | "ReadWriteMany";
    };

export interface UserConfig {
  email: string;
  displayName?: string;
  groups: string[];
}

/** The validated `psf:` config of one stack. */
export interface StackSettings {
  stackName: string;
  project: string;
  environment: Environment;
  domain: string;
  target: TargetConfig;
  images: Record<string, string>;
  providers: Partial<Record<ContractName, { use: string } & Record<string, unknown>>>;
  users: { groups: string[]; people: Record<string, UserConfig> };
  services: Record<string, ServiceConfig>;
  /** Names of `psf:secrets.<name>` values (their content stays in Pulumi). */
  secretNames: string[];
}

/** The raw `psf:` keys (without the prefix), with `secure:` values as `SecureValue`. */
export type RawConfig = Record<string, unknown>;

const healthcheckSpec: ObjectSpec = {
  type: "object",
  fields: {
    http: { type: "string", format: "url-path" },
    command: { type: "list", items: { type: "string", minLength: 1 }, minItems: 1 },
    interval: { type: "int", min: 1, max: 3600, default: 10 },
    timeout: { type: "int", min: 1, max: 600, default: 5 },
    retries: { type: "int", min: 1, max: 100, default: 5 },
    startPeriod: { type: "int", min: 0, max: 3600, default: 10 },
  },
};

const portSpec: Spec = { type: "int", min: 1, max: 65535 };

export const serviceSpec: ObjectSpec = {
  type: "object",
  required: ["image"],
  fields: {
    image: { type: "string", format: "image" },
    port: portSpec,
    subdomain: { type: "string", format: "label" },
    command: { type: "list", items: { type: "string", minLength: 0 }, minItems: 1 },
    env: { type: "map", keyFormat: "env", values: { type: "scalar" }, default: {} },
    volumes: {
      type: "map",
      keyFormat: "name",
      values: { type: "string", format: "path" },
      default: {},
    },
    healthcheck: healthcheckSpec,
    needs: { type: "any" },
    publish: {
      type: "list",
      default: [],
      items: {
        type: "object",
        required: ["host", "container"],
        fields: {
          host: portSpec,
          container: portSpec,
          address: { type: "string", minLength: 1, default: "127.0.0.1" },
        },
      },
    },
    replicas: { type: "int", min: 0, max: 100, default: 1 },
    resources: {
      type: "object",
      fields: {
        cpu: { type: "string", format: "cpu" },
        memory: { type: "string", format: "memory" },
        cpuLimit: { type: "string", format: "cpu" },
        memoryLimit: { type: "string", format: "memory" },
      },
    },
  },
};

const userSpec: ObjectSpec = {
  type: "object",
  required: ["email"],
  fields: {
    email: { type: "string", format: "email" },
    displayName: { type: "string", maxLength: 128 },
    groups: { type: "list", items: { type: "string", format: "name" }, unique: true, default: [] },
  },
};

const topSpec: Record<string, Spec> = {
  environment: {
    type: "string",
    enum: ["development", "staging", "production"],
    default: "development",
  },
  domain: { type: "string", format: "dns" },
  target: { type: "any" },
  images: { type: "map", values: { type: "string", format: "image" }, default: {} },
  providers: { type: "any" },
  users: {
    type: "object",
    fields: {
      groups: {
        type: "list",
        items: { type: "string", format: "name" },
        unique: true,
        default: [],
      },
      people: { type: "map", keyFormat: "name", values: userSpec, default: {} },
    },
  },
  services: { type: "map", values: { type: "any" }, default: {} },
  secrets: {
    type: "map",
    keyFormat: "name",
    values: { type: "string", secret: true, minLength: 0 },
    default: {},
  },
};
export const TOP_LEVEL_KEYS = Object.keys(topSpec);

const dockerTargetSpec: ObjectSpec = {
  type: "object",
  fields: {
    kind: { type: "string", enum: ["docker", "kubernetes"] },
    host: { type: "string", minLength: 1 },
    network: { type: "string", format: "name" },
  },
};
const kubernetesTargetSpec: ObjectSpec = {
  type: "object",
  fields: {
    kind: { type: "string", enum: ["docker", "kubernetes"] },
    namespace: { type: "string", format: "label", default: "psf" },
    context: { type: "string", minLength: 1 },
    kubeconfig: { type: "string", minLength: 1 },
    storageClass: { type: "string", format: "name" },
    ingressClass: { type: "string", format: "name" },
    proxyMode: {
      type: "string",
      enum: ["ingress", "loadbalancer", "nodeport"],
      default: "ingress",
    },
    createNamespace: { type: "bool", default: true },
    clusterDomain: { type: "string", format: "dns", default: "cluster.local" },
    volumeAccessMode: {
      type: "string",
      enum: ["ReadWriteOnce", "ReadWriteMany"],
      default: "ReadWriteOnce",
    },
  },
};

function checkTarget(raw: unknown, issues: Issue[]): TargetConfig {
  if (raw === undefined || raw === null) return { kind: "docker" };
  const kind = (raw as { kind?: unknown }).kind ?? "docker";
  if (kind === "kubernetes")
    return (
      check(raw, kubernetesTargetSpec, "target", issues) ?? {
        kind,
        namespace: "psf",
        proxyMode: "ingress",
        createNamespace: true,
        clusterDomain: "cluster.local",
        volumeAccessMode: "ReadWriteOnce",
      }
    );
  if (kind !== "docker") {
    issues.push({
      path: "target.kind",
      message: `"${String(kind)}" is not a target`,
      hint: "use docker or kubernetes",
    });
    return { kind: "docker" };
  }
  const out = check(raw, dockerTargetSpec, "target", issues) ?? {};
  const host = out.host as string | undefined;
  if (host && !/^(unix|tcp|ssh):\/\/.+/.test(host))
    issues.push({
      path: "target.host",
      message: `"${host}" is not a Docker host`,
      hint: "e.g. unix:///var/run/docker.sock or ssh://user@host",
    });
  return { ...out, kind: "docker" };
}

/**
 * Validates the top level and every service's own fields (not their contract requests:
 * the resolver checks those against the chosen providers). Reports every problem.
 */
export function parseStack(
  raw: RawConfig,
  stackName: string,
  project = "psf",
): { settings: StackSettings; issues: Issue[] } {
  const issues: Issue[] = [];
  for (const key of Object.keys(raw)) {
    if (!(key in topSpec)) issues.push(unknownKeyIssue("", key, TOP_LEVEL_KEYS, "config key psf:"));
  }
  const v: Record<string, any> = {};
  for (const [key, spec] of Object.entries(topSpec)) v[key] = check(raw[key], spec, key, issues);
  if (raw.domain === undefined || raw.domain === null)
    issues.push({
      path: "domain",
      message: "is required",
      hint: "pulumi config set psf:domain example.org",
    });
  const services: Record<string, ServiceConfig> = {};
  for (const [name, svc] of Object.entries((v.services ?? {}) as Record<string, unknown>)) {
    const path = joinPath("services", name);
    const bad =
      /^[a-z]([a-z0-9-]*[a-z0-9])?$/.test(name) && name.length <= 40
        ? undefined
        : "must start with a-z, use a-z, 0-9 and inner hyphens, at most 40 characters";
    if (bad)
      issues.push({
        path,
        message: `service name "${name}" ${bad}`,
        hint: "rename it, e.g. my-app",
      });
    if (svc === undefined || svc === null) {
      // `whoami:` with nothing under it: report it rather than silently drop the service.
      issues.push({
        path,
        message: "expected a map of the service's fields, got nothing",
        hint: "e.g. whoami: {image: traefik/whoami:v1.10, port: 80}",
      });
      continue;
    }
    const s = check(svc, serviceSpec, path, issues);
    if (!s) continue;
    // Cross-field checks read the raw value: a field already reported as invalid is not also "missing".
    const rawSvc = svc as Record<string, unknown>;
    if (svc && typeof svc === "object" && "needs" in svc) {
      const needs = (svc as { needs: unknown }).needs;
      if (needs !== null && (typeof needs !== "object" || Array.isArray(needs)))
        issues.push({
          path: joinPath(path, "needs"),
          message: "expected a map of contract → request",
          hint: `contracts: ${CONTRACT_NAMES.join(", ")}`,
        });
      else
        for (const c of Object.keys(needs ?? {}))
          if (!(CONTRACT_NAMES as readonly string[]).includes(c))
            issues.push(unknownKeyIssue(joinPath(path, "needs"), c, CONTRACT_NAMES, "contract"));
    }
    const rawHc = rawSvc.healthcheck as Record<string, unknown> | undefined;
    if (s.healthcheck && (rawHc?.http == null) === (rawHc?.command == null))
      issues.push({
        path: joinPath(path, "healthcheck"),
        message: "needs exactly one of http or command",
        hint: "e.g. healthcheck: {http: /health}",
      });
    if (rawHc?.http != null && rawSvc.port == null)
      issues.push({
        path: joinPath(joinPath(path, "healthcheck"), "http"),
        message: "an http health check needs the service's port",
        hint: "add port: 8080",
      });
    const rawNeeds = rawSvc.needs as Record<string, unknown> | undefined;
    if (rawNeeds && typeof rawNeeds === "object" && "proxy" in rawNeeds && rawSvc.port == null)
      issues.push({
        path: joinPath(path, "port"),
        message: "a proxied service needs the container port to forward to",
        hint: "add port: 8080 (the port the app listens on inside its container)",
      });
    services[name] = {
      ...s,
      // Fields that failed their check are reported; keep the shape the resolver walks.
      env: s.env ?? {},
      volumes: s.volumes ?? {},
      publish: ((s.publish ?? []) as Array<PublishedPort | undefined>).filter(
        (p): p is PublishedPort => typeof p?.host === "number",
      ),
      needs: s.needs && typeof s.needs === "object" ? s.needs : {},
    } as ServiceConfig;
  }
  // Entries that failed their check are reported already; keep the valid rest.
  const people = Object.fromEntries(
    Object.entries((v.users?.people ?? {}) as Record<string, UserConfig | undefined>).filter(
      ([, u]) => u,
    ),
  ) as Record<string, UserConfig>;
  const users: StackSettings["users"] = {
    groups: (v.users?.groups ?? []).filter((g: unknown) => typeof g === "string"),
    people,
  };
  for (const [person, u] of Object.entries(users.people))
    (u.groups ?? []).forEach((g, i) => {
      if (typeof g === "string" && !users.groups.includes(g))
        issues.push({
          path: `users.people.${person}.groups[${i}]`,
          message: `unknown group "${g}"`,
          hint: `declare it in users.groups (known: ${users.groups.join(", ") || "none"})`,
        });
    });
  const settings: StackSettings = {
    stackName,
    project,
    environment: v.environment ?? "development",
    domain: v.domain ?? "localhost",
    target: checkTarget(raw.target, issues),
    images: v.images ?? {},
    providers: (raw.providers ?? {}) as StackSettings["providers"],
    users,
    services,
    secretNames: Object.keys(v.secrets ?? {}),
  };
  return { settings, issues };
}

/** Reads a `Pulumi.<stack>.yaml` file: `config:` at the top, `secure:` values kept opaque. */
export function readStackFile(file: string): { raw: RawConfig; issues: Issue[] } {
  let doc: unknown;
  try {
    doc = YAML.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const message =
      err.code === "ENOENT" ? "file not found" : `is not valid YAML: ${err.message.split("\n")[0]}`;
    return {
      raw: {},
      issues: [{ path: file, message, hint: "pass a Pulumi.<stack>.yaml file with a config: map" }],
    };
  }
  const config = (doc as { config?: unknown } | null)?.config;
  if (!config || typeof config !== "object")
    return {
      raw: {},
      issues: [
        {
          path: file,
          message: "has no config: map",
          hint: "a stack file starts with config: and psf: keys under it",
        },
      ],
    };
  return { raw: rawFromConfigMap(config as Record<string, unknown>), issues: [] };
}

/** `{"psf:domain": ...}` → `{domain: ...}`, with `{secure: x}` leaves as `SecureValue`. */
export function rawFromConfigMap(config: Record<string, unknown>): RawConfig {
  const raw: RawConfig = {};
  for (const [key, value] of Object.entries(config)) {
    if (key.startsWith("psf:")) raw[key.slice(4)] = toSecure(value);
  }
  return raw;
}

function toSecure(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toSecure);
  if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (Object.keys(o).length === 1 && typeof o.secure === "string")
      return new SecureValue(o.secure);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, toSecure(v)]));
  }
  return value;
}
