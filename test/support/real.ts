import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/**
 * Real programs for tests. CI (PSF_REQUIRE_REAL=1) installs them and a missing one fails
 * the run; on a developer machine without them the suite is skipped with a reason.
 */
export function requireProgram(ctx: Mocha.Context, program: string): void {
  const found = spawnSync("sh", ["-c", `command -v ${program}`]).status === 0;
  if (found) return;
  // A program CI chose not to build (.ci/run: too little time left) skips with its reason,
  // even under PSF_REQUIRE_REAL.
  const unbuilt = process.env[`PSF_UNBUILT_${program.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`];
  if (unbuilt) {
    console.log(`  ${program} SKIPPED: ${unbuilt}`);
    ctx.skip();
  }
  if (process.env.PSF_REQUIRE_REAL === "1")
    throw new Error(`${program} is not installed (CI installs it in .ci/run)`);
  console.warn(`  skipped: ${program} is not installed`);
  ctx.skip();
}

export const PG_BIN = "/usr/lib/postgresql/15/bin";

/** A throwaway PostgreSQL server on a free port, owned by the `postgres` OS user. */
export interface TestPostgres {
  host: string;
  port: number;
  /** Superuser `postgres`, password auth over TCP. */
  password: string;
  /** `postgresql://postgres:...@127.0.0.1:port/postgres` */
  url: string;
  /** Runs `psql -Atc sql` against a database and returns trimmed stdout. */
  query(sql: string, database?: string): string;
  stop(): void;
}

/** Runs a PostgreSQL program as the `postgres` OS user (through runuser when root). */
function asPostgres(cmd: string[]): void {
  const asRoot = process.getuid?.() === 0;
  execFileSync(
    asRoot ? "runuser" : cmd[0],
    asRoot ? ["-u", "postgres", "--", ...cmd] : cmd.slice(1),
    {
      stdio: "pipe",
    },
  );
}

/** A new cluster in `data`: superuser `postgres`, password auth, its password read from `pwfile`. */
export function initdb(data: string, pwfile: string, ...options: string[]): void {
  asPostgres([
    `${PG_BIN}/initdb`,
    "-D",
    data,
    "-U",
    "postgres",
    "--auth=scram-sha-256",
    `--pwfile=${pwfile}`,
    ...options,
  ]);
}

export function startPostgres(): TestPostgres {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-pg-"));
  fs.chmodSync(dir, 0o777);
  const data = path.join(dir, "data");
  const port = 20000 + Math.floor(Math.random() * 20000);
  const password = "test-superuser-password";
  const pwfile = path.join(dir, "pw");
  fs.writeFileSync(pwfile, password, { mode: 0o644 });
  initdb(data, pwfile, "-E", "UTF8");
  asPostgres([
    `${PG_BIN}/pg_ctl`,
    "-D",
    data,
    "-w",
    "-l",
    path.join(dir, "log"),
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`,
    "start",
  ]);
  const url = `postgresql://postgres:${password}@127.0.0.1:${port}/postgres`;
  return {
    host: "127.0.0.1",
    port,
    password,
    url,
    query: (sql, database = "postgres") =>
      execFileSync(
        "psql",
        ["-X", "-v", "ON_ERROR_STOP=1", "-Atc", sql, url.replace(/\/postgres$/, `/${database}`)],
        {
          encoding: "utf8",
        },
      ).trim(),
    stop: () => {
      try {
        asPostgres([`${PG_BIN}/pg_ctl`, "-D", data, "-m", "immediate", "stop"]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
