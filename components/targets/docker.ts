import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Healthcheck, VolumeRef, Workload, WorkloadFile } from "../workload";
import { Deployed, Target } from "./target";
import { cronContainer } from "./cron";
import { shellQuote } from "../shell";
import { snapshotHooks } from "../pre-change-snapshot";
import { DOCKER_TIMEOUTS, containerTimeouts } from "./timeouts";

export interface DockerTargetArgs {
  /** Prefix of every Docker object's name: `psf-<stack>`. */
  prefix: string;
  /** `unix:///var/run/docker.sock`, `ssh://user@host`; default: the local engine. */
  host?: string;
  /** Name of the user network; default: the prefix. */
  network?: string;
  /** Labels on every object, to find (and clean up) a stack's containers. */
  labels: Record<string, string>;
  /**
   * The static HTTP probe (scripts/probe, built by `psf up`) copied into every container with
   * an HTTP health check, so the check runs in images without a shell, curl or wget. Without
   * it, the check falls back to a shell probe (curl, wget or bash).
   */
  probe?: { path: string; sha256: string };
  /** The engine's image id per reference (components/targets/image-ids.ts): a new id rolls its containers. */
  imageIds?: Record<string, string>;
}

/** Where the probe lands inside a container. */
export const PROBE_PATH = "/.psf/probe";

/**
 * Realises workloads as Docker containers on one user network, each reachable by its
 * workload name (a network alias). Stateless containers are replaced create-before-delete
 * and wait for their health check, so a broken release never takes down a working one;
 * stateful ones keep a fixed name and are replaced delete-before-create.
 */
export class DockerTarget implements Target {
  readonly kind = "docker" as const;
  /** Docker's embedded DNS: it answers only inside Docker networks. */
  readonly nameserver = "127.0.0.11";
  readonly network: docker.Network;
  private readonly provider?: docker.Provider;
  private readonly volumes = new Map<string, docker.Volume>();
  private readonly images = new Map<string, docker.RemoteImage>();

  constructor(
    private readonly args: DockerTargetArgs,
    private readonly parent: pulumi.Resource,
  ) {
    if (args.host)
      this.provider = new docker.Provider(`${args.prefix}-docker`, { host: args.host }, { parent });
    this.network = new docker.Network(
      `${args.prefix}-network`,
      { name: args.network ?? args.prefix, driver: "bridge", labels: this.labelList({}) },
      this.opts(parent),
    );
  }

  address(name: string): string {
    return name;
  }

  volume(ref: VolumeRef): docker.Volume {
    const name = `${this.args.prefix}-${ref.owner}-${ref.name}`;
    let vol = this.volumes.get(name);
    if (!vol) {
      vol = new docker.Volume(
        name,
        { name, labels: this.labelList({ "psf.owner": ref.owner }) },
        this.opts(this.parent),
      );
      this.volumes.set(name, vol);
    }
    return vol;
  }

  deploy(
    w: Workload,
    opts: { parent: pulumi.Resource; dependsOn?: pulumi.Input<pulumi.Resource>[] },
  ): Deployed {
    const image = this.image(w.name, w.image, opts.parent);
    const mounts = (w.volumes ?? []).map((m) => ({
      type: "volume",
      source: this.volume(m.volume).name,
      target: m.mountPath,
      readOnly: m.readOnly ?? false,
    }));
    const scheduled = w.schedule ? cronContainer(w) : undefined;
    const files = [...(w.files ?? []), ...(scheduled?.files ?? [])];
    // A host port can be bound by one container only, so such workloads cannot start beside
    // their old copy: they are replaced delete-before-create like stateful ones.
    const stable =
      w.stateful || !!w.schedule || (w.ports ?? []).some((p) => p.hostPort !== undefined);
    const labels = this.labelList({
      "psf.workload": w.name,
      "psf.component": w.component,
      "psf.part-of": w.partOf,
      ...(w.labels ?? {}),
    });
    const healthWait = w.healthcheck && !w.schedule ? waitSeconds(w.healthcheck) : undefined;
    const container = new docker.Container(
      w.name,
      {
        // Stateless containers are auto-named so a new one can start beside the old.
        name: stable ? `${this.args.prefix}-${w.name}` : undefined,
        image: image.imageId,
        command: scheduled ? scheduled.command : w.args,
        entrypoints: scheduled ? scheduled.entrypoint : w.command,
        // A scheduled job reads its env from a file (cronContainer).
        envs: scheduled ? [] : envList(w),
        uploads: [...files.map(upload), ...this.probeUpload(w)],
        mounts,
        networksAdvanced: [{ name: this.network.name, aliases: [w.name, ...(w.aliases ?? [])] }],
        ports: (w.ports ?? [])
          .filter((p) => p.hostPort !== undefined)
          .map((p) => ({
            internal: p.containerPort,
            external: p.hostPort,
            ip: p.hostAddress ?? "127.0.0.1",
            protocol: p.protocol ?? "tcp",
          })),
        healthcheck:
          w.healthcheck && !w.schedule ? healthcheck(w.healthcheck, !!this.args.probe) : undefined,
        wait: !!w.healthcheck && !w.schedule,
        waitTimeout: w.healthcheck ? waitSeconds(w.healthcheck) : undefined,
        restart: "unless-stopped",
        user: w.user,
        memory: w.resources?.memoryLimit ? megabytes(w.resources.memoryLimit) : undefined,
        labels,
        logDriver: "json-file",
        logOpts: { "max-size": "10m", "max-file": "3" },
      },
      {
        ...this.opts(opts.parent),
        dependsOn: opts.dependsOn,
        customTimeouts: containerTimeouts(healthWait),
        deleteBeforeReplace: stable,
        // The data of a stateful server is backed up before its container goes away.
        hooks: w.stateful && !w.schedule ? snapshotHooks(w.name) : undefined,
        // Config changes of a reloadable workload are applied by the reload step below.
        ignoreChanges: w.reloadCommand ? ["uploads"] : undefined,
      },
    );
    const resources: pulumi.Resource[] = [container];
    if (w.reloadCommand) resources.push(this.reloader(w, container, opts.parent));
    // A stable name is known before the container exists: the snapshot hooks run this command
    // while the engine is still deciding what to do with other containers.
    const name = stable ? pulumi.output(`${this.args.prefix}-${w.name}`) : container.name;
    const exec = (cmd: string[], o?: { stdin?: boolean }) =>
      name.apply(
        (name) =>
          `docker ${this.hostFlag()}exec ${o?.stdin ? "-i " : ""}${name} ${cmd.map(shellQuote).join(" ")}`,
      );
    return {
      address: w.name,
      resources,
      exec,
      runNow: scheduled ? exec([scheduled.runPath]) : undefined,
      healthCommand: scheduled
        ? undefined
        : name.apply(
            (name) =>
              // The health check's verdict where there is one, else the container's state.
              `docker ${this.hostFlag()}inspect --format ${shellQuote(
                '{{if .State.Health}}{{if eq .State.Status "running"}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}{{else}}{{.State.Status}}{{end}}',
              )} ${name}`,
          ),
    };
  }

  /** The probe binary, for a workload whose health check is an HTTP request. */
  private probeUpload(w: Workload): docker.types.input.ContainerUpload[] {
    const probe = this.args.probe;
    if (!probe || !w.healthcheck?.http || w.schedule) return [];
    // By path and hash: the binary never enters the state, and a rebuilt one replaces the container.
    // 0755: a service may run as any user (Miniflux runs as nobody).
    return [
      { file: PROBE_PATH, source: probe.path, sourceHash: probe.sha256, permissions: "0755" },
    ];
  }

  /** Writes changed files into the running container and runs its reload command. */
  private reloader(
    w: Workload,
    container: docker.Container,
    parent: pulumi.Resource,
  ): command.local.Command {
    const files = w.files ?? [];
    // One secret Output of every file's content (paths and modes are plain), used twice below.
    const payload = pulumi.secret(
      pulumi.all(files.map((f) => f.content)).apply((contents) =>
        JSON.stringify(
          files.map((f, i) => ({
            path: f.path,
            mode: f.mode ?? 0o644,
            b64: Buffer.from(contents[i]).toString("base64"),
          })),
        ),
      ),
    );
    const script = [
      "set -e",
      // The files arrive as JSON on stdin (an environment variable is capped at 128 KiB, which
      // a proxy's config with ~45 routes passes) and go into the container in one `docker exec`,
      // content never in argv.
      `node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>{for(const f of JSON.parse(s))console.log(f.path+"\\t"+f.mode.toString(8)+"\\t"+f.b64)})' |`,
      `docker exec -i "$PSF_CONTAINER" sh -c ${shellQuote(applyFilesScript(w.reloadCommand ?? []))}`,
    ].join("\n");
    return new command.local.Command(
      `${w.name}-reload`,
      {
        create: script,
        interpreter: ["/bin/sh", "-c"],
        stdin: payload,
        environment: {
          PSF_CONTAINER: container.name,
          ...(this.args.host ? { DOCKER_HOST: this.args.host } : {}),
        },
        triggers: [container.id, payload],
        logging: "none",
      },
      { parent, dependsOn: [container] },
    );
  }

  /**
   * One image resource per image reference, shared by every workload that runs it (the
   * backup jobs of all services share one): fewer resources to plan and pull.
   */
  private image(
    workload: string,
    ref: pulumi.Input<string>,
    parent: pulumi.Resource,
  ): docker.RemoteImage {
    // keepLocally: images are shared between stacks; never delete them.
    if (typeof ref !== "string")
      return new docker.RemoteImage(
        `${workload}-image`,
        { name: ref, keepLocally: true },
        { ...this.opts(parent), customTimeouts: DOCKER_TIMEOUTS.image },
      );
    let image = this.images.get(ref);
    if (!image) {
      const id = this.args.imageIds?.[ref];
      image = new docker.RemoteImage(
        `image-${ref}`,
        { name: ref, keepLocally: true, pullTriggers: id ? [id] : undefined },
        { ...this.opts(this.parent), customTimeouts: DOCKER_TIMEOUTS.image },
      );
      this.images.set(ref, image);
    }
    return image;
  }

  private hostFlag(): string {
    return this.args.host ? `-H ${this.args.host} ` : "";
  }

  private labelList(extra: Record<string, string>): docker.types.input.ContainerLabel[] {
    return Object.entries({ ...this.args.labels, ...extra }).map(([label, value]) => ({
      label,
      value,
    }));
  }

  private opts(parent: pulumi.Resource): pulumi.CustomResourceOptions {
    return { parent, provider: this.provider };
  }
}

/**
 * `KEY=value` for every env entry, secret ones last: one Output over all the values (an
 * interpolation per entry cost some ten Outputs each), secret when any entry is.
 */
function envList(w: Workload): pulumi.Output<string[]> {
  const entries = [...Object.entries(w.env ?? {}), ...Object.entries(w.secretEnv ?? {})];
  const list = pulumi
    .all(entries.map(([, v]) => v))
    .apply((values) => values.map((v, i) => `${entries[i][0]}=${v}`));
  return Object.keys(w.secretEnv ?? {}).length > 0 ? pulumi.secret(list) : list;
}

function upload(f: WorkloadFile): docker.types.input.ContainerUpload {
  return {
    file: f.path,
    content: f.secret ? pulumi.secret(f.content) : f.content,
    permissions: (f.mode ?? (f.secret ? 0o600 : 0o644)).toString(8).padStart(4, "0"),
  };
}

/**
 * Run inside the container on `path<TAB>mode<TAB>base64` lines: writes each file that differs
 * (in place, so its owner stays), sets its mode, and runs the reload command only when a file
 * changed. A container created with these files (its first start provisioned from them) needs
 * no reload; a replacement that kept older files (uploads are ignored changes) does. Without
 * `cmp` every file counts as changed.
 */
export function applyFilesScript(reloadCommand: string[]): string {
  return [
    "set -e",
    "umask 077",
    "changed=0",
    "command -v cmp >/dev/null || changed=1",
    "tab=$(printf '\\t')",
    'while IFS="$tab" read -r path mode b64; do',
    '  mkdir -p "$(dirname "$path")"',
    '  printf %s "$b64" | base64 -d > "$path.psf-new"',
    '  if ! cmp -s "$path.psf-new" "$path" 2>/dev/null; then cat "$path.psf-new" > "$path"; changed=1; fi',
    '  rm -f "$path.psf-new"',
    '  chmod "$mode" "$path"',
    "done",
    ...(reloadCommand.length > 0
      ? [`if [ "$changed" = 1 ]; then ${reloadCommand.map(shellQuote).join(" ")}; fi`]
      : []),
  ].join("\n");
}

/** No `startInterval`: it needs Docker API 1.44 (Docker 25), and Debian's docker.io speaks 1.41. */
function healthcheck(h: Healthcheck, probe: boolean): docker.types.input.ContainerHealthcheck {
  const test = h.command
    ? ["CMD", ...h.command]
    : probe
      ? ["CMD", PROBE_PATH, `http://127.0.0.1:${h.http!.port}${h.http!.path}`]
      : ["CMD-SHELL", httpProbe(h.http!.port, h.http!.path)];
  return {
    tests: test,
    interval: `${h.intervalSeconds}s`,
    timeout: `${h.timeoutSeconds}s`,
    retries: h.retries,
    startPeriod: `${h.startPeriodSeconds}s`,
  };
}

/** The fallback HTTP probe, for images with a shell: curl, else wget, else bash's /dev/tcp. */
export function httpProbe(port: number, path: string): string {
  const url = `http://127.0.0.1:${port}${path}`;
  return [
    `if command -v curl >/dev/null; then curl -fsS -o /dev/null ${url};`,
    `elif command -v wget >/dev/null; then wget -q -O /dev/null ${url};`,
    `else bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port} && printf "GET ${path} HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n" >&3 && head -n1 <&3 | grep -q " 2[0-9][0-9] "'; fi`,
  ].join(" ");
}

function waitSeconds(h: Healthcheck): number {
  return h.startPeriodSeconds + h.retries * (h.intervalSeconds + h.timeoutSeconds) + 30;
}

/** The Docker provider takes memory in MB; a bare number is bytes, as in Docker and Kubernetes. */
function megabytes(size: string): number | undefined {
  const m = /^(\d+)([kKmMgG]i?)?$/.exec(size);
  if (!m) return undefined;
  const unit = m[2]?.[0].toLowerCase();
  const n = Number(m[1]);
  if (unit === "g") return n * 1024;
  if (unit === "m") return n;
  return Math.max(1, Math.ceil(n / (unit === "k" ? 1024 : 1024 * 1024)));
}
