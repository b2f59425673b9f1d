import { shellQuote } from "../../components/shell";
import { ServerScripts, serverScripts } from "../../components/server-lifecycle";
import { DatabaseRequest } from "./contract";
import { dumpEnvOf } from "./login-env";
import type { MariadbSettings } from "./mariadb";
import { INIT_PENDING, MANAGED, ident, literal } from "./mariadb-sql";

/** Paths and port the server's scripts use (tests point them elsewhere). */
export interface ServerPaths {
  /** The provision script (shell; the superuser's SQL and each initSql inside). */
  provisionFile: string;
  /** Per database, `<name>.env`: the connection env the dump and restore commands read. */
  clientDir: string;
  readyMarker: string;
  port: number;
}

const LOOPBACK = "127.0.0.1";
export const SERVER_PATHS: Omit<ServerPaths, "port"> = {
  provisionFile: "/etc/psf/provision.sh",
  clientDir: "/etc/psf/db",
  readyMarker: "/tmp/psf-provisioned",
};

/** The server's arguments (after the image's entrypoint): what a person would pass to `mariadbd`. */
export function serverArgs(settings: MariadbSettings): string[] {
  return [
    "mariadbd",
    `--port=${settings.port}`,
    `--max-connections=${settings.maxConnections}`,
    `--innodb-buffer-pool-size=${settings.innodbBufferPoolSize}`,
  ];
}

/** `mariadb` or another client as the superuser over loopback; its password stays in the env. */
const asRoot = (program: string, port: number, args: string[] = []) =>
  `MYSQL_PWD="\${MARIADB_ROOT_PASSWORD:-}" ${[program, "--no-defaults", "--protocol=tcp", "-h", LOOPBACK, "-P", String(port), "-u", "root", ...args].map(shellQuote).join(" ")}`;

/** A client as the database's user in its database, connection from the PSF_DB_* env. */
export const asUser = (program: string, args: string[]) =>
  `MYSQL_PWD="$PSF_DB_PASSWORD" ${program} --no-defaults --protocol=tcp -h "$PSF_DB_HOST" -P "$PSF_DB_PORT" -u "$PSF_DB_USER" ${args.map((a) => `${shellQuote(a)} `).join("")}"$PSF_DB_NAME"`;

/** Text piped into a client without quoting worries: as base64, decoded in the container. */
const feed = (text: string) => `printf %s ${Buffer.from(text).toString("base64")} | base64 -d`;

/**
 * A database's connection env file, as the server's commands read it: the same login a backup
 * job's env carries (login-env.ts), over loopback.
 */
export function clientEnvFile(r: DatabaseRequest, password: string, port: number): string {
  const env = dumpEnvOf({ host: LOOPBACK, port, database: r.name, user: r.user, password });
  return Object.entries(env)
    .map(([k, v]) => `${k}=${shellQuote(v)}\n`)
    .join("");
}

/** Runs `script` with a database's env file loaded (inside the server). */
export function withClientEnv(p: Pick<ServerPaths, "clientDir">, database: string, script: string) {
  return `set -a; . ${shellQuote(`${p.clientDir}/${database}.env`)}; set +a; ${script}`;
}

/**
 * The provision script: the superuser's SQL, then each pending `initSql` run as the database's
 * own user (so it can touch nothing else), its mark cleared once it succeeded. MariaDB commits
 * each DDL statement, so a failing initSql may leave part of its work; it stays pending and runs
 * again on the next apply. One failure does not keep the other databases' initSql from running;
 * the script then exits 1.
 */
export function provisionScript(p: ServerPaths, sql: string, requests: DatabaseRequest[]): string {
  // In `mysql`: dropRemoved keeps its lists in temporary tables, which need a database.
  const root = (args: string[] = []) => asRoot("mariadb", p.port, ["-D", "mysql", ...args]);
  const out = ["set -u", "failed=0", `${feed(sql)} | ${root()} || exit 1`];
  for (const r of requests.filter((r) => r.initSql)) {
    const due = `SELECT SCHEMA_COMMENT = ${literal(INIT_PENDING)} FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ${literal(r.name)}`;
    const done = `ALTER DATABASE ${ident(r.name)} COMMENT ${literal(MANAGED)}`;
    out.push(
      `if [ "$(${root(["-N", "-B", "-e", due])})" = 1 ]; then`,
      `  if (${withClientEnv(p, r.name, `${feed(r.initSql!)} | ${asUser("mariadb", [])}`)}) && ${root(["-e", done])}; then :`,
      `  else echo ${shellQuote(`psf: initSql of ${r.name} failed (above); it runs again on the next apply`)} >&2; failed=1; fi`,
      "fi",
    );
  }
  out.push('exit "$failed"');
  return out.join("\n") + "\n";
}

/** The superuser's client runs the provision script over loopback. */
function provisionCommand(p: ServerPaths): string {
  return `sh ${shellQuote(p.provisionFile)}`;
}

/** Answers on loopback TCP (the entrypoint's first-run server listens on no port). */
function pingCommand(port: number): string {
  return `${asRoot("mariadb-admin", port, ["--connect-timeout=2", "ping"])} >/dev/null 2>&1`;
}

/**
 * The container's start, reload and health scripts (components/server-lifecycle.ts), as MariaDB
 * answers them: the image's own entrypoint (first-run initialisation included) starts the
 * server; TERM or INT asks mariadbd for a clean shutdown, as the image's would. A reload applies
 * new users, databases and initSql.
 */
export function mariadbScripts(p: ServerPaths): ServerScripts {
  return serverScripts({
    readyMarker: p.readyMarker,
    ping: pingCommand(p.port),
    provision: provisionCommand(p),
    stopSignal: "TERM",
  });
}
