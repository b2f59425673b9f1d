import { shellQuote } from "../../components/shell";
import {
  ServerLifecycle,
  lifecycleHealthScript,
  lifecycleReloadScript,
  lifecycleStartScript,
} from "./server-lifecycle";
import { DatabaseRequest } from "./contract";
import { dumpArgs, restoreArgs, superuserArgs } from "./postgres-sql";
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

/** The shared start, reload and health steps (server-lifecycle.ts), as PostgreSQL answers them. */
const lifecycle = (p: ServerPaths): ServerLifecycle => ({
  readyMarker: p.readyMarker,
  ping: `pg_isready -q -h ${LOOPBACK} -p ${p.port} -U postgres`,
  provision: provisionCommand(p),
  stopSignal: "INT",
});

/**
 * The container's command (`bash -c <this> psf-postgres <serverArgs...>`): starts the image's
 * own entrypoint (first-run initdb included), waits until the server answers on loopback,
 * applies the provisioning script, then marks the container ready for the health check. A
 * failing script leaves the server serving the databases it has, unhealthy, with the error in
 * its log. TERM or INT asks postgres for a fast shutdown, as the image's STOPSIGNAL would.
 */
export function startScript(p: ServerPaths): string {
  return lifecycleStartScript(lifecycle(p));
}

/** Run in the live container after the script changed: new roles, databases, extensions. */
export function reloadScript(p: ServerPaths): string {
  return lifecycleReloadScript(lifecycle(p));
}

/** Ready means provisioned and answering. */
export function healthScript(p: ServerPaths): string {
  return lifecycleHealthScript(lifecycle(p));
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
