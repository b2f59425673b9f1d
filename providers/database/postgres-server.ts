import { shellQuote } from "../../components/shell";
import { ServerScripts, serverScripts } from "../../components/server-lifecycle";
import { DatabaseRequest } from "./contract";
import { PSQL, dumpArgs, restoreArgs, superuserArgs } from "./postgres-sql";
import type { PostgresSettings } from "./postgres";

/** Paths and port the server's start and reload scripts use (tests point them elsewhere). */
export interface ServerPaths {
  provisionFile: string;
  readyMarker: string;
  port: number;
}

const LOOPBACK = "127.0.0.1";
export const SERVER_PATHS: Omit<ServerPaths, "port"> = {
  provisionFile: "/etc/psf/provision.sql",
  readyMarker: "/tmp/psf-provisioned",
};

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
    ...PSQL,
    ...superuserArgs({ host: LOOPBACK, port: p.port }),
    "-d",
    "postgres",
    "-f",
    p.provisionFile,
  ];
  return `PGPASSWORD="\${POSTGRES_PASSWORD:-}" ${psql.map(shellQuote).join(" ")}`;
}

/**
 * The container's start, reload and health scripts (components/server-lifecycle.ts), as
 * PostgreSQL answers them: the image's own entrypoint (first-run initdb included) starts the
 * server; TERM or INT asks postgres for a fast shutdown, as the image's STOPSIGNAL would. A
 * reload applies new roles, databases and extensions.
 */
export function postgresScripts(p: ServerPaths): ServerScripts {
  return serverScripts({
    readyMarker: p.readyMarker,
    ping: `pg_isready -q -h ${LOOPBACK} -p ${p.port} -U postgres`,
    provision: provisionCommand(p),
    stopSignal: "INT",
  });
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
