import { execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** A throwaway MariaDB server (Debian's mariadbd) on a free loopback port and its own socket. */
export interface TestMariadb {
  port: number;
  /** `root`'s password over TCP, as the image's MARIADB_ROOT_PASSWORD sets it. */
  password: string;
  /** Runs SQL as root (batch mode, no column names); trimmed stdout. */
  query(sql: string, database?: string): string;
  stop(): void;
}

const sleep = (seconds: number) => spawnSync("sleep", [String(seconds)]);

export function startMariadb(): TestMariadb {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-mariadb-"));
  const data = path.join(dir, "data");
  const socket = path.join(dir, "mysqld.sock");
  const pidFile = path.join(dir, "mariadbd.pid");
  const port = 20000 + Math.floor(Math.random() * 20000);
  const password = "test-root-password";
  // mariadbd refuses to run as root; the package's `mysql` user owns the files.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) execFileSync("chown", ["mysql:mysql", dir]);
  const as = (cmd: string[]): [string, string[]] =>
    asRoot ? ["runuser", ["-u", "mysql", "--", ...cmd]] : [cmd[0], cmd.slice(1)];
  execFileSync(
    ...as([
      "mariadb-install-db",
      "--no-defaults",
      `--datadir=${data}`,
      "--auth-root-authentication-method=normal",
      "--skip-test-db",
    ]),
    { stdio: "pipe" },
  );
  const log = fs.openSync(path.join(dir, "log"), "a");
  const server = spawn(
    ...as([
      "mariadbd",
      "--no-defaults",
      `--datadir=${data}`,
      `--socket=${socket}`,
      `--port=${port}`,
      "--bind-address=127.0.0.1",
      "--skip-name-resolve",
      `--pid-file=${pidFile}`,
      "--innodb-buffer-pool-size=16M",
    ]),
    { stdio: ["ignore", log, log], detached: true },
  );
  server.unref();
  const viaSocket = ["mariadb", "--no-defaults", "-S", socket, "-u", "root"];
  for (let i = 0; ; i++) {
    if (
      spawnSync("mariadb-admin", ["--no-defaults", "-S", socket, "-u", "root", "ping"]).status === 0
    )
      break;
    if (i > 150 || server.exitCode !== null)
      throw new Error(`mariadbd did not start:\n${fs.readFileSync(path.join(dir, "log"), "utf8")}`);
    sleep(0.2);
  }
  // As the image's first start leaves it: root with a password, on loopback and the socket only.
  execFileSync(viaSocket[0], viaSocket.slice(1), {
    input: [
      "DELETE FROM mysql.global_priv WHERE User = 'root' AND Host NOT IN ('localhost', '127.0.0.1');",
      "FLUSH PRIVILEGES;",
      `ALTER USER root@localhost IDENTIFIED BY '${password}';`,
      `ALTER USER root@'127.0.0.1' IDENTIFIED BY '${password}';`,
    ].join("\n"),
    stdio: ["pipe", "pipe", "pipe"],
  });
  const rootTcp = [
    "--no-defaults",
    "--protocol=tcp",
    "-h",
    "127.0.0.1",
    "-P",
    String(port),
    "-u",
    "root",
  ];
  return {
    port,
    password,
    query: (sql, database) =>
      execFileSync(
        "mariadb",
        [...rootTcp, "-N", "-B", "-e", sql, ...(database ? [database] : [])],
        {
          encoding: "utf8",
          env: { ...process.env, MYSQL_PWD: password },
          stdio: ["pipe", "pipe", "pipe"],
        },
      ).trim(),
    stop: () => {
      try {
        spawnSync("mariadb-admin", [...rootTcp, "shutdown"], {
          env: { ...process.env, MYSQL_PWD: password },
          timeout: 30000,
        });
        // mariadbd removes its pid file last; then the data directory can go.
        for (let i = 0; i < 150 && fs.existsSync(pidFile); i++) sleep(0.2);
        if (fs.existsSync(pidFile) && server.pid) process.kill(server.pid, "SIGKILL");
      } finally {
        fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
      }
    },
  };
}
