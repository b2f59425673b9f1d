import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import {
  assertNoSecretIn,
  docker,
  engineEnv,
  generatedSecrets,
  projectCopy,
  psfIn,
  pulumiIn,
  stackObjects,
  workloadContainers,
} from "./support";

/**
 * A stack on MariaDB under the real engine and the real Docker engine (test/e2e/mariadb-stack.yaml):
 * the demo app's rows land in MariaDB, `psf backup run` dumps them with borg, `psf backup verify`
 * loads the dump into a scratch MariaDB in the backup container and compares row counts, and
 * `psf backup restore` brings deleted rows back. Steps build on each other, in order.
 */
describe("a stack on MariaDB, backed up and restored, end to end", function () {
  this.timeout(900_000);
  // Docker objects are named psf-<stack>: psf-mariadb-<unique>.
  const STACK = `mariadb-${Date.now().toString(36)}`;
  let dir: string;
  const env = () => ({ ...engineEnv(dir), PSF_FROM_SOURCE: "1" });
  const psf = (...args: string[]) => psfIn(dir, STACK, env(), ...args);
  const outputs: string[] = [];
  const ok = (...args: string[]) => {
    const r = psf(...args);
    outputs.push(r.stdout, r.stderr);
    assert.equal(r.status, 0, `psf ${args.join(" ")}:\n${(r.stdout + r.stderr).slice(-4000)}`);
    return r.stdout + r.stderr;
  };
  const only = (workload: string) => {
    const ids = workloadContainers(STACK, workload);
    assert.equal(ids.length, 1, `running ${workload} containers: ${ids.join(" ")}`);
    return ids[0];
  };
  /** The demo app over HTTP from inside its container (the stack has no proxy). */
  const demo = (...curl: string[]) =>
    docker("exec", only("demo"), "curl", "-sS", "--fail", ...curl, "http://127.0.0.1:8080/");
  /** SQL as MariaDB's superuser in its container, the password from the container's env. */
  const sql = (statement: string) =>
    docker(
      "exec",
      only("mariadb"),
      "sh",
      "-c",
      'MYSQL_PWD="$MARIADB_ROOT_PASSWORD" exec mariadb --protocol=tcp -h 127.0.0.1 -u root -N -B -D demo -e "$0"',
      statement,
    );

  before(function () {
    dir = projectCopy(STACK, true, path.join(__dirname, "mariadb-stack.yaml"));
    fs.mkdirSync(path.join(dir, "state"));
  });

  after(function () {
    if (!dir) return;
    if (stackObjects("ps -a", STACK).length) psf("destroy");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("comes up from nothing, and the app's rows land in MariaDB", () => {
    ok("up");
    demo("-X", "POST", "--data", "first note");
    demo("-X", "POST", "--data", "second note");
    assert.equal(demo(), "first note\nsecond note");
    assert.equal(sql("select body from notes order by id"), "first note\nsecond note");
  });

  it("previews no changes right after", () => {
    assert.match(ok("preview"), /no changes/);
  });

  it("backs up with psf backup run, and a drill loads the dump into a scratch MariaDB with every row", () => {
    assert.match(ok("backup", "run", "demo"), /psf: backup of demo done in [\d.]+ s/);
    // The dump loaded into a throwaway mariadbd in the backup container, row counts compared.
    assert.match(ok("backup", "verify", "demo"), /DRILL PASSED: demo-\S+/);
    const status = JSON.parse(ok("status", "--json").replace(/^[^{]*/, ""));
    const service = status.services.find((s: any) => s.name === "demo");
    assert.equal(service.backup.backup.result, "ok");
    assert.equal(service.backup.drill.result, "ok");
    assert.equal(service.health, "healthy");
  });

  it("brings deleted rows back with psf backup restore", () => {
    sql("delete from notes");
    assert.equal(demo(), "");
    ok("backup", "restore", "demo", "--yes");
    assert.equal(demo(), "first note\nsecond note");
  });

  it("prints no generated secret in any output", () => {
    const revealed = pulumiIn(dir, STACK, env(), "stack", "export", "--show-secrets");
    const secrets = generatedSecrets(revealed);
    assert.ok(secrets.length > 0, "the stack has generated secrets");
    assertNoSecretIn(secrets, { "psf's output": outputs.join("\n") });
  });

  it("destroy leaves no container, network or volume of the stack; a second destroy has nothing to do", () => {
    // The first runs the program: MariaDB's container carries the pre-change snapshot hook.
    ok("destroy");
    assert.deepEqual(stackObjects("ps -a", STACK), []);
    assert.deepEqual(stackObjects("network ls", STACK), []);
    assert.deepEqual(stackObjects("volume ls", STACK), []);
    // With nothing in the state, the program is not run (it would find no outputs and fail).
    assert.doesNotMatch(ok("destroy"), /error|failed/i);
  });
});
