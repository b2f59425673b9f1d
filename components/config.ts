import * as fs from "fs";
import { AgentSettings, checkAgent } from "./agent-config";
import type { ContractName } from "./contract";
import { Issue, joinPath } from "./errors";
import { LIMITS, bytesText } from "./validate/limits";
import {
  ObjectSpec,
  SecureValue,
  Spec,
  check,
  describe,
  hasKey,
  newMap,
  truncate,
  unknownKeyIssue,
} from "./validate/schema";
import { templateError } from "./validate/template-refs";
import { Registry, contractNames, exampleRefs, isContract } from "./registry";

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
      /**
       * How a published port (a proxy's 80/443) is exposed: a LoadBalancer or a NodePort Service.
       * `ingress` is the former way to route through an Ingress, reported with a hint to the
       * provider that does it now.
       */
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
  /** `psf:agent`: read by `psf agent` only (cli/agent-command.ts). */
  agent?: AgentSettings;
  /** A preview stack's origin (`psf preview-env up` writes `psf:preview`); absent otherwise. */
  preview?: PreviewOrigin;
  /**
   * Appended to every subdomain: `-pr-14` in the stack of pull request 14, so its hosts are
   * `<service>-pr-14.<domain>` under the same wildcard DNS name and certificate. "" otherwise.
   */
  hostSuffix?: string;
}

/** Where a preview stack came from, as `psf preview-env up` records it in `psf:preview`. */
export interface PreviewOrigin {
  pr: number;
  from: string;
  /** ISO 8601 time of the first `up`: what `psf preview-env prune --older-than` reads. */
  createdAt: string;
}

/** The subdomain suffix of pull request `pr`'s preview stack. */
export function previewHostSuffix(pr: number): string {
  return `-pr-${pr}`;
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

/** The most a process receives in one argument or `NAME=value` (Linux MAX_ARG_STRLEN, with its NUL). */
const MAX_ARG = 131072;

export const serviceSpec: ObjectSpec = {
  type: "object",
  required: ["image"],
  fields: {
    image: { type: "string", format: "image" },
    port: portSpec,
    subdomain: { type: "string", format: "label" },
    command: {
      type: "list",
      items: { type: "string", minLength: 0, maxLength: MAX_ARG - 1 },
      minItems: 1,
    },
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
  domain: { type: "string", format: "domain" },
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
  preview: {
    type: "object",
    required: ["pr", "from", "createdAt"],
    fields: {
      pr: { type: "int", min: 1, max: 99_999_999 },
      from: { type: "string", format: "name" },
      createdAt: { type: "string", minLength: 1, maxLength: 64 },
    },
  },
  // Checked by checkAgent (components/agent-config.ts).
  agent: { type: "any" },
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
      default: "loadbalancer",
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
  const kind =
    (raw && typeof raw === "object" && hasKey(raw, "kind")
      ? (raw as { kind?: unknown }).kind
      : undefined) ?? "docker";
  if (kind === "kubernetes")
    return (
      check(raw, kubernetesTargetSpec, "target", issues) ?? {
        kind,
        namespace: "psf",
        proxyMode: "loadbalancer",
        createNamespace: true,
        clusterDomain: "cluster.local",
        volumeAccessMode: "ReadWriteOnce",
      }
    );
  if (kind !== "docker") {
    issues.push({
      path: "target.kind",
      message: `${describe(kind)} is not a target`,
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

/** A service name: a DNS label that also works as a Docker and Kubernetes name. */
const SERVICE_NAME = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;

/** Placeholder domain while psf:domain is missing or invalid: what reads it downstream stays quiet. */
const UNSET_DOMAIN = "example.invalid";

/**
 * Validates the top level and every service's own fields (not their contract requests:
 * the resolver checks those against the chosen providers). Reports every problem.
 *
 * A value that fails its own check is reported here once and is not passed on: a service
 * with an invalid name is left out of `services`, an env value with a malformed template is
 * left out of its `env`, and a missing or invalid domain is replaced by a placeholder.
 */
export function parseStack(
  raw: RawConfig,
  stackName: string,
  registry: Pick<Registry, "contracts">,
  project = "psf",
): { settings: StackSettings; issues: Issue[] } {
  const issues: Issue[] = [];
  const contracts = contractNames(registry);
  for (const key of Object.keys(raw)) {
    if (!hasKey(topSpec, key))
      issues.push(unknownKeyIssue("", key, TOP_LEVEL_KEYS, "config key psf:"));
  }
  const at = (key: string) => (hasKey(raw, key) ? raw[key] : undefined);
  const v: Record<string, any> = newMap();
  for (const [key, spec] of Object.entries(topSpec)) v[key] = check(at(key), spec, key, issues);
  if (at("domain") === undefined || at("domain") === null)
    issues.push({
      path: "domain",
      message: "is required",
      hint: "pulumi config set psf:domain example.org",
    });
  const services = newMap<ServiceConfig>();
  for (const [name, svc] of Object.entries((v.services ?? {}) as Record<string, unknown>)) {
    const path = joinPath("services", name);
    const validName = SERVICE_NAME.test(name) && name.length <= 40;
    if (!validName)
      issues.push({
        path,
        message: `service name "${truncate(name)}" must start with a-z, use a-z, 0-9 and inner hyphens, at most 40 characters`,
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
    const field = (key: string) => (hasKey(rawSvc, key) ? rawSvc[key] : undefined);
    const rawNeeds = field("needs");
    if (rawNeeds !== undefined) {
      if (
        rawNeeds !== null &&
        (typeof rawNeeds !== "object" || Array.isArray(rawNeeds) || rawNeeds instanceof SecureValue)
      )
        issues.push({
          path: joinPath(path, "needs"),
          message: "expected a map of contract → request",
          hint: `contracts: ${contracts.join(", ")}`,
        });
      else
        for (const c of Object.keys(rawNeeds ?? {}))
          if (!isContract(registry, c))
            issues.push(unknownKeyIssue(joinPath(path, "needs"), c, contracts, "contract"));
    }
    const rawHc = field("healthcheck");
    const hcField = (key: string) =>
      rawHc && typeof rawHc === "object" && hasKey(rawHc, key)
        ? (rawHc as Record<string, unknown>)[key]
        : undefined;
    if (s.healthcheck && (hcField("http") == null) === (hcField("command") == null))
      issues.push({
        path: joinPath(path, "healthcheck"),
        message: "needs exactly one of http or command",
        hint: "e.g. healthcheck: {http: /health}",
      });
    if (hcField("http") != null && field("port") == null)
      issues.push({
        path: joinPath(joinPath(path, "healthcheck"), "http"),
        message: "an http health check needs the service's port",
        hint: "add port: 8080",
      });
    const needsMap =
      rawNeeds &&
      typeof rawNeeds === "object" &&
      !Array.isArray(rawNeeds) &&
      !(rawNeeds instanceof SecureValue)
        ? (rawNeeds as Record<string, unknown>)
        : undefined;
    for (const c of Object.keys(needsMap ?? {}))
      if (isContract(registry, c))
        issues.push(...(registry.contracts[c].checkService?.(field, path) ?? []));
    // Templates are checked for their shape here, in linear time; the resolver checks what they name.
    const env = newMap<ServiceConfig["env"][string]>();
    for (const [key, value] of Object.entries((s.env ?? {}) as ServiceConfig["env"])) {
      if (value === undefined) continue; // reported by its own check
      const bytes = typeof value === "string" ? Buffer.byteLength(`${key}=${value}`) : 0;
      const bad =
        bytes >= MAX_ARG
          ? `is ${bytes.toLocaleString("en")} bytes as ${key}=...; a process receives at most ${(MAX_ARG - 1).toLocaleString("en")} per variable`
          : typeof value === "string"
            ? templateError(value)
            : undefined;
      if (bad) {
        issues.push({
          path: joinPath(joinPath(path, "env"), key),
          message: bad,
          hint:
            bytes >= MAX_ARG
              ? "put it in a file on a volume and pass its path"
              : exampleRefs(registry),
        });
        continue;
      }
      env[key] = value;
    }
    // A service whose name is invalid is reported; nothing downstream reads it again.
    if (!validName) continue;
    services[name] = {
      ...s,
      // Fields that failed their check are reported; keep the shape the resolver walks.
      env,
      volumes: s.volumes ?? {},
      publish: ((s.publish ?? []) as Array<PublishedPort | undefined>).filter(
        (p): p is PublishedPort => typeof p?.host === "number" && typeof p?.container === "number",
      ),
      needs: needsMap ?? newMap(),
    } as ServiceConfig;
  }
  // Entries that failed their check are reported already; keep the valid rest.
  const people = newMap<UserConfig>();
  for (const [person, u] of Object.entries(
    (v.users?.people ?? {}) as Record<string, UserConfig | undefined>,
  ))
    if (u) people[person] = u;
  const users: StackSettings["users"] = {
    groups: (v.users?.groups ?? []).filter((g: unknown) => typeof g === "string"),
    people,
  };
  const groups = new Set(users.groups);
  for (const [person, u] of Object.entries(users.people))
    (u.groups ?? []).forEach((g, i) => {
      if (typeof g === "string" && !groups.has(g))
        issues.push({
          path: joinPath(joinPath(joinPath(joinPath("users", "people"), person), "groups"), i),
          message: `unknown group "${g}"`,
          hint: `declare it in users.groups (known: ${users.groups.slice(0, 20).join(", ") || "none"})`,
        });
    });
  const domainOk = typeof v.domain === "string";
  const preview = checkPreview(v.preview, services, issues);
  const settings: StackSettings = {
    stackName,
    project,
    environment: v.environment ?? "development",
    domain: domainOk ? v.domain : UNSET_DOMAIN,
    target: checkTarget(at("target"), issues),
    images: v.images ?? newMap(),
    providers: (at("providers") ?? newMap()) as StackSettings["providers"],
    users,
    services,
    secretNames: Object.keys(v.secrets ?? {}),
    ...(preview ? { preview, hostSuffix: previewHostSuffix(preview.pr) } : {}),
    agent: checkAgent(at("agent"), issues),
  };
  return { settings, issues };
}

/** `psf:preview`: a readable creation time, and every suffixed host label within 63 characters. */
function checkPreview(
  value: PreviewOrigin | undefined,
  services: Record<string, ServiceConfig>,
  issues: Issue[],
): PreviewOrigin | undefined {
  if (!value || typeof value.pr !== "number") return undefined;
  if (typeof value.createdAt === "string" && Number.isNaN(Date.parse(value.createdAt)))
    issues.push({
      path: "preview.createdAt",
      message: `"${truncate(value.createdAt)}" is not a date and time`,
      hint: "ISO 8601, e.g. 2026-11-28T23:30:00Z (psf preview-env up writes it)",
    });
  const suffix = previewHostSuffix(value.pr);
  for (const [name, svc] of Object.entries(services)) {
    const label = `${svc.subdomain ?? name}${suffix}`;
    if (label.length > 63)
      issues.push({
        path: joinPath(joinPath("services", name), "subdomain"),
        message: `the preview host label "${label}" is ${label.length} characters; at most 63`,
        hint: `a subdomain of at most ${63 - suffix.length} characters`,
      });
  }
  return value;
}
