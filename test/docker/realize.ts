import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PlannedResource, mask } from "../../cli/mock-engine";
import { shellQuote } from "../../components/shell";

/**
 * Creates the Docker objects a plan declares with the docker CLI, input for input, in the
 * order the program declared them (dependencies first): networks, volumes, containers (files
 * copied in before start, health awaited like the provider's `wait`), then local commands.
 * It plays the part of the docker and command plugins the module proxy refuses here.
 */
export class DockerRealizer {
  readonly containers: string[] = [];
  readonly networks: string[] = [];
  readonly volumes: string[] = [];
  private readonly byName = new Map<string, string>();

  up(plan: PlannedResource[]): void {
    for (const r of plan) {
      const i = mask(r.inputs, true) as Record<string, any>;
      if (r.type === "docker:index/network:Network") this.network(i);
      else if (r.type === "docker:index/volume:Volume") this.volume(i);
    }
    // The engine orders by dependencies; the mocked plan lists resources as their inputs resolved.
    // The same order from the workloads' roles: what others reach first.
    const rank = (r: PlannedResource) => {
      const component = ((mask(r.inputs, true) as any).labels ?? []).find(
        (l: any) => l.label === "psf.component",
      )?.value;
      return ["database", "ldap", "sso", "app", "proxy", "backup"].indexOf(component);
    };
    const containers = plan
      .filter((r) => r.type === "docker:index/container:Container")
      .sort((a, b) => rank(a) - rank(b));
    for (const r of containers) this.container(r.name, mask(r.inputs, true) as Record<string, any>);
    for (const r of plan) if (r.type === "command:local:Command") this.run(r);
  }

  /** The Docker name of a container resource (auto-named ones get a suffix, as the provider does). */
  nameOf(resource: string): string {
    return this.byName.get(resource) ?? resource;
  }

  down(): void {
    for (const c of this.containers)
      spawnSync("docker", ["rm", "-f", "-v", c], { stdio: "ignore" });
    for (const v of this.volumes)
      spawnSync("docker", ["volume", "rm", "-f", v], { stdio: "ignore" });
    for (const n of this.networks) spawnSync("docker", ["network", "rm", n], { stdio: "ignore" });
  }

  private network(i: Record<string, any>): void {
    docker("network", "create", "--driver", i.driver ?? "bridge", ...labels(i.labels), i.name);
    this.networks.push(i.name);
  }

  private volume(i: Record<string, any>): void {
    docker("volume", "create", ...labels(i.labels), i.name);
    this.volumes.push(i.name);
  }

  private container(resource: string, i: Record<string, any>): void {
    const name = i.name ?? `${resource}-${Math.random().toString(16).slice(2, 9)}`;
    this.byName.set(resource, name);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-ctr-"));
    const envFile = path.join(dir, "env");
    fs.writeFileSync(
      envFile,
      (i.envs ?? []).map((e: string) => `${e.replace(/\n/g, "\\n")}\n`).join(""),
      { mode: 0o600 },
    );
    const [entry, ...entryArgs] = i.entrypoints ?? [];
    const net = i.networksAdvanced?.[0];
    const h = i.healthcheck;
    const args = [
      "create",
      "--name",
      name,
      "--env-file",
      envFile,
      ...labels(i.labels),
      ...(net
        ? [
            "--network",
            net.name,
            ...(net.aliases ?? []).flatMap((a: string) => ["--network-alias", a]),
          ]
        : []),
      ...(i.mounts ?? []).flatMap((m: any) => [
        "--mount",
        `type=volume,source=${m.source},target=${m.target}${m.readOnly ? ",readonly" : ""}`,
      ]),
      ...(i.ports ?? []).flatMap((p: any) => [
        "-p",
        `${p.ip}:${p.external}:${p.internal}/${p.protocol ?? "tcp"}`,
      ]),
      ...(h
        ? [
            "--health-cmd",
            h.tests[0] === "CMD-SHELL" ? h.tests[1] : h.tests.slice(1).map(shellQuote).join(" "),
            "--health-interval",
            h.interval,
            "--health-timeout",
            h.timeout,
            "--health-retries",
            String(h.retries),
            "--health-start-period",
            h.startPeriod,
          ]
        : []),
      ...(i.restart ? ["--restart", i.restart] : []),
      ...(i.user ? ["--user", i.user] : []),
      ...(i.memory ? ["--memory", `${i.memory}m`] : []),
      ...(entry ? ["--entrypoint", entry] : []),
      i.image,
      ...entryArgs,
      ...(i.command ?? []),
    ];
    docker(...args);
    this.containers.push(name);
    // Files go in before start, with their modes, as the provider's uploads do.
    if ((i.uploads ?? []).length) {
      const root = path.join(dir, "root");
      for (const u of i.uploads) {
        const file = path.join(root, u.file);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        // A `source` upload (the health probe) is a file on this machine, copied by path.
        if (u.source) fs.copyFileSync(u.source, file);
        else fs.writeFileSync(file, u.content);
        fs.chmodSync(file, parseInt(u.permissions ?? "0644", 8));
      }
      docker("cp", `${root}/.`, `${name}:/`);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    docker("start", name);
    if (i.wait) waitHealthy(name, (i.waitTimeout ?? 120) * 1000);
  }

  /** Runs a `command.local.Command`'s create step, as the command plugin would. */
  run(command: PlannedResource): void {
    const i = mask(command.inputs, true) as Record<string, any>;
    const env = { ...process.env, ...(i.environment ?? {}) } as NodeJS.ProcessEnv;
    const [interp, ...interpArgs] = i.interpreter ?? ["/bin/sh", "-c"];
    const r = spawnSync(interp, [...interpArgs, i.create], { env, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`local command failed (${r.status}): ${r.stderr}`);
  }
}

function labels(list: Array<{ label: string; value: string }> = []): string[] {
  return list.flatMap((l) => ["--label", `${l.label}=${l.value}`]);
}

function docker(...args: string[]): string {
  return execFileSync("docker", args, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  }).trim();
}

/** Waits for a container's health check to pass, as the provider's `wait` does. */
function waitHealthy(name: string, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = docker("inspect", "--format", "{{.State.Health.Status}}", name);
    if (status === "healthy") return;
    if (status === "unhealthy" || Date.now() > deadline)
      throw new Error(
        `${name} is ${status}:\n${spawnSync("docker", ["logs", "--tail", "30", name], { encoding: "utf8" }).stderr}`,
      );
    execFileSync("sleep", ["1"]);
  }
}
