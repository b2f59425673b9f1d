import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ContractResult } from "../../components/contract";
import { Issue, joinPath } from "../../components/errors";
import { ProviderArgs, ProviderDefinition, ProviderInstance } from "../../components/provider";
import { shellQuote } from "../../components/shell";
import { Workload } from "../../components/workload";
import { DatabaseRequest } from "./contract";
import {
  CONTRIB_EXTENSIONS,
  dumpArgs,
  provisioningSql,
  restoreArgs,
  superuserArgs,
  scramVerifiers,
} from "./postgres-sql";

export interface PostgresSettings {
  version: number;
  port: number;
  maxConnections: number;
  sharedBuffers: string;
  /** Extensions the image offers beyond contrib (e.g. `vector` with a pgvector image). */
  extraExtensions: string[];
  /** Drop databases (and roles) PSF created once their request is gone. */
  dropRemoved: boolean;
  /** The data volume's name (Docker: `psf-<stack>-postgres-<name>`). */
  dataVolume: string;
  /** Capacity to ask for where the target provisions storage (Kubernetes). */
  dataSize?: string;
}

/** Paths and port the server's start and reload scripts use (tests point them elsewhere). */
export interface ServerPaths {
  provisionFile: string;
  readyMarker: string;
  port: number;
}

const SERVER = "postgres";
const DATA_DIR = "/var/lib/postgresql/data";
const LOOPBACK = "127.0.0.1";
export const SERVER_PATHS: Omit<ServerPaths, "port"> = {
  provisionFile: "/etc/psf/provision.sql",
  readyMarker: "/tmp/psf-provisioned",
};

/** Bytes in a `size` setting (`512M`, `64k`, a bare number of bytes). */
function sizeBytes(size: string): number {
  const m = /^(\d+)([kKmMgG]?)$/.exec(size);
  if (!m) throw new Error(`bug: ${size} passed the size format`);
  return (
    Number(m[1]) *
    { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as "" | "k" | "m" | "g"]
  );
}

/** `512M` → `512MB`, `64k` → `64kB`, a bare number of bytes → kB: PostgreSQL's memory units. */
export function pgSize(size: string): string {
  const m = /^(\d+)([kKmMgG]?)$/.exec(size);
  if (!m) throw new Error(`bug: ${size} passed the size format`);
  if (!m[2]) return `${Math.ceil(Number(m[1]) / 1024)}kB`;
  return `${m[1]}${{ k: "kB", m: "MB", g: "GB" }[m[2].toLowerCase() as "k" | "m" | "g"]}`;
}

/** The server's arguments (after the image's entrypoint): what a person would pass to `postgres`. */
export function serverArgs(settings: PostgresSettings, requests: DatabaseRequest[]): string[] {
  const args = [
    "postgres",
    "-c",
    `port=${settings.port}`,
    "-c",
    `max_connections=${settings.maxConnections}`,
    "-c",
    `shared_buffers=${pgSize(settings.sharedBuffers)}`,
  ];
  // pg_stat_statements collects nothing (and its view errors) unless preloaded.
  if (requests.some((r) => r.extensions.includes("pg_stat_statements")))
    args.push("-c", "shared_preload_libraries=pg_stat_statements");
  return args;
}

/** psql as the superuser over loopback, applying the provisioning script. */
function provisionCommand(p: ServerPaths): string {
  const psql = [
    "psql",
    "-X",
    "-q",
    "-w",
    "-v",
    "ON_ERROR_STOP=1",
    ...superuserArgs({ host: LOOPBACK, port: p.port }),
    "-d",
    "postgres",
    "-f",
    p.provisionFile,
  ];
  return `PGPASSWORD="\${POSTGRES_PASSWORD:-}" ${psql.map(shellQuote).join(" ")}`;
}

/**
 * The container's command (`bash -c <this> psf-postgres <serverArgs...>`): starts the image's
 * own entrypoint (first-run initdb included), waits until the server answers on loopback,
 * applies the provisioning script, then marks the container ready for the health check. A
 * failing script leaves the server serving the databases it has, unhealthy, with the error in
 * its log. TERM or INT asks postgres for a fast shutdown, as the image's STOPSIGNAL would.
 */
export function startScript(p: ServerPaths): string {
  return [
    "set -eu",
    `rm -f ${shellQuote(p.readyMarker)}`,
    'docker-entrypoint.sh "$@" &',
    "pid=$!",
    `trap 'kill -INT "$pid" 2>/dev/null; wait "$pid"; exit $?' TERM INT`,
    `until pg_isready -q -h ${LOOPBACK} -p ${p.port} -U postgres; do`,
    '  kill -0 "$pid" 2>/dev/null || { wait "$pid"; exit $?; }',
    "  sleep 1",
    "done",
    `if ${provisionCommand(p)}; then touch ${shellQuote(p.readyMarker)}`,
    'else echo "psf: provisioning failed (above); the server runs but stays unhealthy until it succeeds" >&2; fi',
    'wait "$pid"',
  ].join("\n");
}

/** Run in the live container after the script changed: new roles, databases, extensions. */
export function reloadScript(p: ServerPaths): string {
  return `${provisionCommand(p)} && touch ${shellQuote(p.readyMarker)}`;
}

/** Ready means provisioned and answering. */
export function healthScript(p: ServerPaths): string {
  return `test -f ${shellQuote(p.readyMarker)} && pg_isready -q -h ${LOOPBACK} -p ${p.port} -U postgres`;
}

/** The superuser's client inside the container; its password never leaves the container's env. */
const asSuperuser = (argv: string[]) =>
  `PGPASSWORD="\${POSTGRES_PASSWORD:-}" ${argv.map(shellQuote).join(" ")}`;

/** Inside the server: a plain SQL dump of one database to stdout. */
export function dumpScript(database: string, port: number): string {
  return asSuperuser(dumpArgs(database, { host: LOOPBACK, port }));
}

/** Inside the server: loads such a dump from stdin into that database, all or nothing. */
export function restoreScript(database: string, owner: string, port: number): string {
  return `${asSuperuser(restoreArgs(database, owner, { host: LOOPBACK, port }))} >/dev/null`;
}

/** One PostgreSQL server with a role, database and extensions per requesting service. */
export class Postgres extends pulumi.ComponentResource implements ProviderInstance {
  readonly results: Record<string, ContractResult> = {};
  readonly ready: pulumi.Resource[];
  /** Where other workloads reach the server. */
  readonly address: string;

  constructor(
    name: string,
    args: ProviderArgs<DatabaseRequest, PostgresSettings>,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("psf:database:Postgres", name, {}, opts);
    const { settings } = args;
    const paths: ServerPaths = { ...SERVER_PATHS, port: settings.port };
    const requests = Object.values(args.requests);
    const superuser = new random.RandomPassword(
      `${name}-superuser-password`,
      { length: 32, special: false },
      { parent: this },
    );
    // One password per role; two requests naming the same user share it.
    const passwords: Record<string, pulumi.Output<string>> = {};
    for (const r of requests)
      passwords[r.user] ??= pulumi.secret(
        new random.RandomPassword(
          `${name}-password-${r.user}`,
          { length: 32, special: false },
          { parent: this },
        ).result,
      );
    const provision = async (pw: Record<string, string>) => {
      const verifiers = await scramVerifiers(pw);
      return provisioningSql(requests, pw, { dropRemoved: settings.dropRemoved, verifiers });
    };
    const script = pulumi.secret(pulumi.all(passwords).apply(provision));

    const workload: Workload = {
      name: SERVER,
      component: "database",
      partOf: name,
      image: args.image("postgres", `postgres:${settings.version}-bookworm`),
      command: ["bash", "-c", startScript(paths), "psf-postgres"],
      args: serverArgs(settings, requests),
      env: { PGDATA: `${DATA_DIR}/pgdata` },
      secretEnv: { POSTGRES_PASSWORD: pulumi.secret(superuser.result) },
      files: [{ path: paths.provisionFile, content: script, secret: true, mode: 0o600 }],
      volumes: [
        {
          volume: { owner: SERVER, name: settings.dataVolume },
          mountPath: DATA_DIR,
          size: settings.dataSize,
        },
      ],
      ports: [{ name: "postgres", containerPort: settings.port }],
      healthcheck: {
        command: ["sh", "-c", healthScript(paths)],
        intervalSeconds: 5,
        timeoutSeconds: 5,
        retries: 12,
        startPeriodSeconds: 10,
      },
      // A changed script is applied to the running server; no restart.
      reloadCommand: ["sh", "-c", reloadScript(paths)],
      stateful: true,
    };
    const deployed = args.target.deploy(workload, { parent: this });
    this.address = deployed.address;
    this.ready = deployed.resources;

    for (const [requester, r] of Object.entries(args.requests)) {
      const password = passwords[r.user];
      this.results[requester] = {
        host: pulumi.output(deployed.address),
        port: pulumi.output(settings.port),
        database: pulumi.output(r.name),
        user: pulumi.output(r.user),
        password,
        url: pulumi.secret(
          pulumi.interpolate`postgresql://${r.user}:${password.apply(encodeURIComponent)}@${deployed.address}:${settings.port}/${r.name}`,
        ),
        dumpCommand: deployed.exec(["sh", "-c", dumpScript(r.name, settings.port)]),
        restoreCommand: deployed.exec(["sh", "-c", restoreScript(r.name, r.user, settings.port)], {
          stdin: true,
        }),
      };
    }
    this.registerOutputs({ address: this.address });
  }
}

const RESERVED_DATABASES = ["postgres", "template0", "template1"];

export const postgres: ProviderDefinition<DatabaseRequest, PostgresSettings> = {
  contract: "database",
  name: "postgres",
  description: "one PostgreSQL server; a role, database and extensions per service",
  settings: {
    type: "object",
    fields: {
      version: {
        type: "int",
        min: 13,
        max: 17,
        default: 15,
        doc: "major version; picks the default image postgres:<version>-bookworm",
      },
      port: { type: "int", min: 1, max: 65535, default: 5432 },
      maxConnections: { type: "int", min: 10, max: 10000, default: 100 },
      sharedBuffers: { type: "string", format: "size", default: "128M" },
      extraExtensions: {
        type: "list",
        items: { type: "string", minLength: 1, maxLength: 63 },
        unique: true,
        default: [],
        doc: "extensions the image adds to contrib, e.g. [vector] with pgvector/pgvector:pg15",
      },
      dropRemoved: {
        type: "bool",
        default: false,
        doc: "drop a database PSF created once no service requests it",
      },
      dataVolume: { type: "string", format: "label", default: "data" },
      dataSize: {
        type: "string",
        format: "memory",
        doc: "storage to request on Kubernetes, e.g. 10Gi",
      },
    },
  },
  checkRequest: (req, path, settings) => {
    const issues: Issue[] = [];
    const offered = [...CONTRIB_EXTENSIONS, ...(settings.extraExtensions ?? [])];
    if (req.engine !== "postgres")
      issues.push({
        path: joinPath(path, "engine"),
        message: `the postgres provider serves engine postgres, not ${req.engine}`,
        hint: "drop engine, or choose a provider for it",
      });
    if (RESERVED_DATABASES.includes(req.name))
      issues.push({
        path: joinPath(path, "name"),
        message: `"${req.name}" is PostgreSQL's own database`,
        hint: "set name to another database name",
      });
    else if (req.user === "postgres" || req.user.startsWith("pg_"))
      issues.push({
        path: joinPath(path, "user"),
        message: `"${req.user}" is reserved by PostgreSQL`,
        hint: "set user to a name that is not postgres and does not start with pg_",
      });
    req.extensions.forEach((e, i) => {
      if (!offered.includes(e))
        issues.push({
          path: joinPath(joinPath(path, "extensions"), i),
          message: `unknown extension "${e}"`,
          hint: `postgres offers: ${offered.join(", ")}; an image with more (e.g. pgvector/pgvector:pg${settings.version ?? 15} for vector) can list them in providers.database.extraExtensions`,
        });
    });
    return issues;
  },
  checkStack: (settings, stack, requests, path) => {
    const issues: Issue[] = [];
    if (sizeBytes(settings.sharedBuffers) < 128 * 1024)
      issues.push({
        path: joinPath(path, "sharedBuffers"),
        message: `${settings.sharedBuffers} is below PostgreSQL's minimum of 128k`,
        hint: "sharedBuffers: 128M (about a quarter of the server's memory is usual)",
      });
    const owners = new Map<string, string>();
    for (const [requester, r] of Object.entries(requests)) {
      const other = owners.get(r.name);
      if (other === undefined) owners.set(r.name, requester);
      else
        issues.push({
          path: stack.services[requester]
            ? ["needs", "database", "name"].reduce(joinPath, joinPath("services", requester))
            : path,
          message: `database "${r.name}" is already requested by ${other}`,
          hint: "give each service its own database name",
        });
    }
    return issues;
  },
  create: (name, args, opts) => new Postgres(name, args, opts),
};
