import { shellQuote } from "../../components/shell";
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
