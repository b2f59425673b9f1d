import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import type * as http from "http";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import type * as automation from "@pulumi/pulumi/automation";
import { toolchainEnv } from "../../cli/toolchain";
import { OPERATION_ENV } from "../../components/pre-change-snapshot";

export const ROOT = path.join(__dirname, "..", "..");
export const STACK = "ci";
export const HTTPS_PORT = 18443;
export const HOST = "demo.psf-ci.localhost";

/**
 * A throwaway copy of the project, so the engine's edits (encryption salt, config) stay out of
 * the checkout. `withCli` adds what `psf` itself runs from (cli/, bin/, scripts/, images/).
 * `configFile`: the stack's config from this file instead of stacks/Pulumi.<stack>.yaml.
 */
export function projectCopy(stack = STACK, withCli = false, configFile?: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-e2e-"));
  // Timestamps kept: bin/program.js runs the compiled bin-build/ only while it is newer than
  // the sources, as in the checkout.
  const copy = (p: string) =>
    fs.cpSync(path.join(ROOT, p), path.join(dir, p), { recursive: true, preserveTimestamps: true });
  for (const f of ["Pulumi.yaml", "package.json", "tsconfig.json", "index.ts"]) copy(f);
  for (const d of [
    "components",
    "providers",
    "bin",
    ...(withCli ? ["cli", "scripts", "images"] : []),
  ])
    copy(d);
  if (fs.existsSync(path.join(ROOT, "bin-build"))) copy("bin-build");
  fs.mkdirSync(path.join(dir, "stacks"));
  // Without a checked-in encryption salt: the stack is new, under this run's passphrase.
  const stackFile = fs
    .readFileSync(configFile ?? path.join(ROOT, "stacks", `Pulumi.${stack}.yaml`), "utf8")
    .replace(/^encryptionsalt:.*\n?/m, "");
  fs.writeFileSync(path.join(dir, "stacks", `Pulumi.${stack}.yaml`), stackFile);
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
  return dir;
}

/**
 * The engine's environment for a project copy: a file backend in its `state/` and a passphrase
 * of the suites' own (nothing it protects is a secret of a real stack).
 */
export function engineEnv(dir: string): Record<string, string> {
  return {
    PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
    PULUMI_CONFIG_PASSPHRASE: "e2e-passphrase-not-a-secret-of-the-stack",
    PULUMI_SKIP_UPDATE_CHECK: "true",
  };
}

/** The toolchain's pulumi CLI in the copy on `stack` (env wins over the toolchain's); its stdout. */
export function pulumiIn(
  dir: string,
  stack: string,
  env: NodeJS.ProcessEnv,
  ...args: string[]
): string {
  const r = spawnSync("pulumi", [...args, "--stack", stack, "--non-interactive"], {
    cwd: dir,
    env: { ...process.env, ...toolchainEnv(), ...env },
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  assert.equal(r.status, 0, `pulumi ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/**
 * Destroys through the Automation API as `psf destroy` does: with the program, for the delete
 * hooks of stateful workloads, which take no snapshot of a stack being destroyed.
 */
export async function destroyAsPsf(stack: automation.Stack): Promise<automation.DestroyResult> {
  process.env[OPERATION_ENV] = "destroy";
  try {
    return await stack.destroy({ color: "never", runProgram: true });
  } finally {
    delete process.env[OPERATION_ENV];
  }
}

/** Runs the copy's psf CLI on `stack` with the engine environment `env` (backend, passphrase). */
export function psfIn(dir: string, stack: string, env: NodeJS.ProcessEnv, ...args: string[]) {
  return spawnSync(process.execPath, [path.join(dir, "bin", "psf.js"), ...args, "--stack", stack], {
    cwd: dir,
    env: { ...process.env, ...env },
    encoding: "utf8",
  });
}

/** Edits the copy's stack file (the engine reads it on every operation). */
export function editStack(
  dir: string,
  edit: (config: Record<string, any>) => void,
  stack = STACK,
): void {
  const file = path.join(dir, "stacks", `Pulumi.${stack}.yaml`);
  const doc = YAML.parse(fs.readFileSync(file, "utf8"));
  edit(doc.config);
  fs.writeFileSync(file, YAML.stringify(doc));
}

export function docker(...args: string[]): string {
  return execFileSync("docker", args, { encoding: "utf8" }).trim();
}

/** The running containers of one workload of a stack (a replacement runs beside its old copy). */
export function workloadContainers(stack: string, workload: string): string[] {
  return docker(
    "ps",
    "-q",
    "--filter",
    `label=psf.stack=${stack}`,
    "--filter",
    `label=psf.workload=${workload}`,
  )
    .split("\n")
    .filter(Boolean);
}

/** Containers, networks or volumes the stack labelled. */
export function stackObjects(kind: "ps -a" | "network ls" | "volume ls", stack = STACK): string[] {
  const out = spawnSync(
    "docker",
    [...kind.split(" "), "-q", "--filter", `label=psf.stack=${stack}`],
    { encoding: "utf8" },
  ).stdout.trim();
  return out ? out.split("\n") : [];
}

export function sh(command: string, input?: string): string {
  return execFileSync("sh", ["-c", command], {
    encoding: "utf8",
    input,
    stdio: ["pipe", "pipe", "pipe"],
  }).trim();
}

/** An HTTPS request to nginx on loopback (or `address`) for a host, its certificate checked against the stack's CA. */
export function httpsRequest(o: {
  ca: string;
  host: string;
  port: number;
  /** Where to connect: 127.0.0.1 unless given (a cluster node's NodePort, its ingress controller). */
  address?: string;
  method?: "GET" | "POST";
  path?: string;
  body?: string;
}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: o.address ?? "127.0.0.1",
        port: o.port,
        servername: o.host,
        path: o.path ?? "/",
        method: o.method ?? "GET",
        ca: o.ca,
        // As a browser sends it: with the port unless it is 443.
        headers: { Host: o.port === 443 ? o.host : `${o.host}:${o.port}` },
      },
      (res) => {
        let data = "";
        res.on("data", (c) => (data += c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: data, headers: res.headers }),
        );
      },
    );
    req.on("error", reject);
    req.setTimeout(15_000, () => req.destroy(new Error("timeout")));
    req.end(o.body);
  });
}

/** The ci stack's demo app through nginx. */
export function request(
  ca: string,
  method: "GET" | "POST",
  body?: string,
): Promise<{ status: number; body: string }> {
  return httpsRequest({ ca, host: HOST, port: HTTPS_PORT, method, body });
}

/** Every generated password in a `stack export --show-secrets` document. */
export function generatedSecrets(revealedExport: string): string[] {
  return JSON.parse(revealedExport)
    .deployment.resources.filter(
      (r: any) => r.type === "random:index/randomPassword:RandomPassword",
    )
    .map((r: any) => {
      // `--show-secrets` keeps the secret's wrapper, with the value as JSON in `plaintext`.
      const v = r.outputs.result;
      const value = typeof v === "object" && v && "plaintext" in v ? JSON.parse(v.plaintext) : v;
      if (typeof value !== "string" || value.length < 8)
        throw new Error(`not a generated password: ${JSON.stringify(v)}`);
      return value;
    });
}

/** Fails when any secret appears in any of the named texts. */
export function assertNoSecretIn(secrets: string[], texts: Record<string, string>): void {
  for (const s of secrets)
    for (const [where, text] of Object.entries(texts))
      if (text.includes(s)) throw new Error(`a generated secret in ${where}`);
}
