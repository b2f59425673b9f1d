import * as fs from "fs";
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
  unknownKeyIssue,
} from "./validate/schema";
import { Segment, readYaml } from "./validate/yaml";
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
  const kind =
    (raw && typeof raw === "object" && hasKey(raw, "kind")
      ? (raw as { kind?: unknown }).kind
      : undefined) ?? "docker";
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
  };
  return { settings, issues };
}

function truncate(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/**
 * Whether an env value's `{{ contract.field }}` references are well formed: the same answer as
 * `parseTemplate` (components/interpolate.ts) gives, found in linear time whatever the text.
 * Its regular expression backtracks on `{{` followed by long runs of spaces; a value that
 * passes here holds only short, closed references, which it reads in linear time.
 */
export function templateError(value: string): string | undefined {
  let stripped = "";
  let from = 0;
  let i = 0;
  for (;;) {
    const open = value.indexOf("{{", i);
    if (open < 0) break;
    // The reference runs to the first brace after `{{`; it is one when that brace starts `}}`.
    let close = open + 2;
    while (close < value.length && value[close] !== "{" && value[close] !== "}") close++;
    if (value.startsWith("}}", close)) {
      const inner = value.slice(open + 2, close);
      const text = inner.trim();
      if (inner.length > MAX_REFERENCE)
        return `"{{ ${truncate(text)} }}" is longer than ${MAX_REFERENCE} characters`;
      const parts = text.split(".");
      if (parts.length !== 2 || !parts[0] || !parts[1])
        return `"{{ ${truncate(text)} }}" is not of the form {{ contract.field }}`;
      stripped += value.slice(from, open);
      from = i = close + 2;
    } else i = open + 1;
  }
  stripped += value.slice(from);
  if (stripped.includes("{{") || stripped.includes("}}")) return "has an unbalanced {{ or }}";
  return undefined;
}

/** The longest text between `{{` and `}}` (names are short; this bounds the work per reference). */
const MAX_REFERENCE = 128;

/** Where a stack file's problem is, as a config path: `psf:` keys without the prefix. */
export function configPath(at: Segment[]): string {
  const [first, second, ...rest] = at;
  let path: string;
  let tail: Segment[];
  if (first === "config" && typeof second === "string" && second.startsWith("psf:")) {
    path = joinPath("", second.slice(4));
    tail = rest;
  } else {
    path = first === undefined ? "" : joinPath("", first);
    tail = second === undefined ? [] : [second, ...rest];
  }
  for (const s of tail) path = joinPath(path, s);
  return path;
}

/**
 * Reads a `Pulumi.<stack>.yaml` file: `config:` at the top, `secure:` values kept opaque.
 * `fatal` when nothing could be read (no file, not YAML, over a limit of ./validate/limits.ts);
 * otherwise `issues` are problems of single keys (duplicates, unknown tags) and `raw` holds the rest.
 */
export function readStackFile(file: string): { raw: RawConfig; issues: Issue[]; fatal: boolean } {
  const refuse = (message: string, hint: string) => ({
    raw: newMap(),
    issues: [{ path: file, message, hint }],
    fatal: true,
  });
  let text: string;
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) return refuse("is not a file", "pass a Pulumi.<stack>.yaml file");
    if (stat.size > LIMITS.fileBytes) return refuse(tooLarge(stat.size), TOO_LARGE_HINT);
    // Read at most one byte past the limit: the file may grow between stat and read.
    const fd = fs.openSync(file, "r");
    try {
      const buf = Buffer.alloc(LIMITS.fileBytes + 1);
      let n = 0;
      for (let r = 1; r > 0 && n < buf.length; n += r)
        r = fs.readSync(fd, buf, n, buf.length - n, null);
      if (n > LIMITS.fileBytes) return refuse(tooLarge(n), TOO_LARGE_HINT);
      text = buf.subarray(0, n).toString("utf8");
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return refuse(
      err.code === "ENOENT" ? "file not found" : `cannot be read: ${err.code ?? err.message}`,
      "pass a Pulumi.<stack>.yaml file with a config: map",
    );
  }
  return readStackText(text, file);
}

const TOO_LARGE_HINT = `PSF reads stack files of at most ${bytesText(LIMITS.fileBytes)}; move large values (certificates, scripts) into images or secrets, or split the stack (docs/validation.md)`;

function tooLarge(bytes: number): string {
  return `is ${bytes.toLocaleString("en")} bytes (${bytesText(bytes)}); the largest stack file PSF reads is ${bytesText(LIMITS.fileBytes)} (${LIMITS.fileBytes.toLocaleString("en")} bytes)`;
}

/** {@link readStackFile} on text; a problem of the file as a whole has the path `file`. */
export function readStackText(
  text: string,
  file = "stack file",
): { raw: RawConfig; issues: Issue[]; fatal: boolean } {
  const FILE = file;
  if (Buffer.byteLength(text, "utf8") > LIMITS.fileBytes)
    return {
      raw: newMap(),
      issues: [
        { path: FILE, message: tooLarge(Buffer.byteLength(text, "utf8")), hint: TOO_LARGE_HINT },
      ],
      fatal: true,
    };
  const read = readYaml(text);
  if (read.fatal) {
    const where = read.fatal.line ? ` (line ${read.fatal.line})` : "";
    return {
      raw: newMap(),
      issues: [
        {
          path: read.fatal.at && read.fatal.at.length > 0 ? configPath(read.fatal.at) : FILE,
          message: `${read.fatal.message}${where}`,
          hint: read.fatal.hint,
        },
      ],
      fatal: true,
    };
  }
  const issues: Issue[] = read.issues.map((i) => ({
    path: i.at.length > 0 ? configPath(i.at) : FILE,
    message: i.message,
    hint: i.hint,
  }));
  const doc = read.value;
  const isMap = (x: unknown): x is Record<string, unknown> =>
    !!x && typeof x === "object" && !Array.isArray(x);
  if (!isMap(doc) || !hasKey(doc, "config") || doc.config === null || doc.config === undefined)
    return {
      raw: newMap(),
      issues: [
        ...issues,
        {
          path: FILE,
          message: "has no config: map",
          hint: "a stack file starts with config: and psf: keys under it",
        },
      ],
      fatal: true,
    };
  if (!isMap(doc.config))
    return {
      raw: newMap(),
      issues: [
        ...issues,
        {
          path: "config",
          message: `expected a map of config keys, got ${Array.isArray(doc.config) ? "a list" : describe(doc.config)}`,
          hint: "write config: with psf: keys under it, one per line (psf:domain: example.org), not - items",
        },
      ],
      fatal: true,
    };
  const raw = rawFromConfigMap(doc.config);
  // Read from YAML within the limits, as plain data already: validateConfig need not copy it.
  READ_PLAIN.add(raw);
  return { raw, issues, fatal: false };
}

/** Configs read by readStackText: maps without prototype, within the limits. */
const READ_PLAIN = new WeakSet<object>();

/** `{"psf:domain": ...}` → `{domain: ...}`, with `{secure: x}` leaves as `SecureValue`. */
export function rawFromConfigMap(config: Record<string, unknown>): RawConfig {
  const raw: RawConfig = newMap();
  for (const [key, value] of Object.entries(config)) {
    if (key.startsWith("psf:")) raw[key.slice(4)] = toSecure(value, 0);
  }
  return raw;
}

/**
 * Config as plain data PSF can read safely: maps without a prototype (a `__proto__` key is a
 * key), lists, scalars and secrets; or why not (nested or numerous beyond ./validate/limits.ts).
 * The engine hands the program config as JSON, with neither limit applied.
 */
export function plainConfig(raw: RawConfig): { raw: RawConfig; issue?: Issue } {
  if (READ_PLAIN.has(raw)) return { raw };
  // `raw.__proto__ = value` on a plain object replaces its prototype instead of adding a key.
  const proto = Object.getPrototypeOf(raw);
  if (proto !== null && proto !== Object.prototype)
    return {
      raw: newMap(),
      issue: unknownKeyIssue("", "__proto__", TOP_LEVEL_KEYS, "config key psf:"),
    };
  let count = 0;
  let problem: Issue | undefined;
  const copy = (v: unknown, path: string, depth: number): unknown => {
    if (problem) return undefined;
    if (++count > LIMITS.values) {
      problem = {
        path: path || "config",
        message: `is one value too many: PSF reads at most ${LIMITS.values.toLocaleString("en")} keys and values`,
        hint: "split the stack (docs/validation.md)",
      };
      return undefined;
    }
    if (v === null || typeof v !== "object" || v instanceof SecureValue) return v;
    if (depth > LIMITS.depth) {
      problem = {
        path,
        message: `is nested deeper than ${LIMITS.depth} levels of maps and lists`,
        hint: `a stack config needs 7; PSF reads at most ${LIMITS.depth} (docs/validation.md)`,
      };
      return undefined;
    }
    if (Array.isArray(v)) return v.map((x, i) => copy(x, joinPath(path, i), depth + 1));
    const out = newMap();
    for (const [k, x] of Object.entries(v)) out[k] = copy(x, joinPath(path, k), depth + 1);
    return out;
  };
  const out = newMap();
  // The file's top level is level 1, `config:` level 2, a psf: key's value level 3.
  for (const [k, x] of Object.entries(raw)) out[k] = copy(x, joinPath("", k), 3);
  return problem ? { raw: newMap(), issue: problem } : { raw: out };
}

function toSecure(value: unknown, depth: number): unknown {
  if (depth > LIMITS.depth) return value;
  if (Array.isArray(value)) return value.map((x) => toSecure(x, depth + 1));
  if (value && typeof value === "object" && !(value instanceof SecureValue)) {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === "secure" && typeof o.secure === "string")
      return new SecureValue(o.secure);
    const out = newMap();
    for (const k of keys) out[k] = toSecure(o[k], depth + 1);
    return out;
  }
  return value;
}
