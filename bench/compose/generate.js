// The compose project equivalent to a deployed PSF stack, from its state (`pulumi stack export
// --show-secrets`): one service per docker:index/container:Container with the same image,
// entrypoint, command, env, user, memory limit, restart policy, log options, ports, network
// aliases, volumes and health check; every uploaded file (config, certificates, the health
// probe) bind-mounted read-only at its path with its mode; and PSF's order as `depends_on`
// (service_healthy where PSF waited for the container's health check). Labels are left out, so
// nothing that looks for PSF's containers by label finds these.
"use strict";

const CONTAINER = "docker:index/container:Container";
const SECRET = "4dabf18193072939515e22adb298388d";

/** A state value with its secrets in the clear (as `--show-secrets` writes them). */
function reveal(v) {
  if (Array.isArray(v)) return v.map(reveal);
  if (!v || typeof v !== "object") return v;
  if (v[SECRET] !== undefined) {
    if (v.plaintext === undefined)
      throw new Error("the stack export holds encrypted secrets (export with --show-secrets)");
    return reveal(JSON.parse(v.plaintext));
  }
  return Object.fromEntries(
    Object.entries(v)
      .filter(([k]) => k !== "__defaults")
      .map(([k, x]) => [k, reveal(x)]),
  );
}

/** `$` is compose's interpolation: every `$` in a value stands for itself. */
function literal(v) {
  if (typeof v === "string") return v.replace(/\$/g, "$$$$");
  if (Array.isArray(v)) return v.map(literal);
  if (v && typeof v === "object")
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, literal(x)]));
  return v;
}

const nameOf = (urn) => urn.split("::").pop();

/** For each container URN, the containers it waits for, through any resources between. */
function containerDependencies(resources) {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const memo = new Map();
  const reach = (urn, seen) => {
    if (memo.has(urn)) return memo.get(urn);
    const out = new Set();
    for (const dep of byUrn.get(urn)?.dependencies ?? []) {
      if (seen.has(dep)) continue;
      seen.add(dep);
      if (byUrn.get(dep)?.type === CONTAINER) out.add(dep);
      else for (const d of reach(dep, seen)) out.add(d);
    }
    memo.set(urn, out);
    return out;
  };
  return (urn) => reach(urn, new Set([urn]));
}

function healthcheck(h) {
  if (!h?.tests?.length) return undefined;
  const out = { test: h.tests };
  if (h.interval) out.interval = h.interval;
  if (h.timeout) out.timeout = h.timeout;
  if (h.retries) out.retries = h.retries;
  if (h.startPeriod && h.startPeriod !== "0s") out.start_period = h.startPeriod;
  return out;
}

/**
 * `{ compose, files }`: the compose file as an object, and the files to write beside it
 * (`{ path, mode, content }`, path relative to the project directory) or bind from the host
 * (`source` uploads: the health probe). Throws when the deployment has no containers.
 */
function composeFromDeployment(deployment) {
  const resources = deployment.resources ?? [];
  const containers = resources.filter((r) => r.type === CONTAINER);
  if (!containers.length) throw new Error("the stack has no containers to compare with");
  const images = new Map(
    resources
      .filter((r) => r.type === "docker:index/remoteImage:RemoteImage")
      .map((r) => [r.outputs?.imageId, r.inputs?.name]),
  );
  const dependsOn = containerDependencies(resources);
  const services = {};
  const networks = {};
  const volumes = {};
  const files = [];
  for (const c of containers) {
    const name = nameOf(c.urn);
    const i = reveal(c.inputs);
    const s = { image: images.get(i.image) ?? i.image, pull_policy: "never" };
    if (i.entrypoints?.length) s.entrypoint = i.entrypoints;
    if (i.command?.length) s.command = i.command;
    if (i.envs?.length) s.environment = i.envs;
    if (i.user) s.user = i.user;
    if (i.memory) s.mem_limit = `${i.memory}m`;
    if (i.restart) s.restart = i.restart;
    if (i.logDriver) s.logging = { driver: i.logDriver, options: i.logOpts ?? {} };
    if (i.ports?.length)
      s.ports = i.ports.map((p) => ({
        target: p.internal,
        published: String(p.external),
        host_ip: p.ip,
        protocol: p.protocol ?? "tcp",
      }));
    s.networks = {};
    for (const n of i.networksAdvanced ?? []) {
      networks[n.name] = { driver: "bridge" };
      s.networks[n.name] = n.aliases?.length ? { aliases: n.aliases } : {};
    }
    const mounts = [];
    for (const m of i.mounts ?? []) {
      if (m.type === "volume") volumes[m.source] = {};
      mounts.push({ type: m.type, source: m.source, target: m.target, read_only: !!m.readOnly });
    }
    for (const u of i.uploads ?? []) {
      const mode = u.permissions ? parseInt(u.permissions, 8) : u.executable ? 0o755 : 0o644;
      let source = u.source;
      if (!source) {
        source = `./files/${name}${u.file}`;
        const content =
          u.contentBase64 !== undefined
            ? Buffer.from(u.contentBase64, "base64")
            : Buffer.from(u.content ?? "");
        files.push({ path: source, mode, content });
      }
      mounts.push({ type: "bind", source, target: u.file, read_only: true });
    }
    if (mounts.length) s.volumes = mounts;
    const check = healthcheck(i.healthcheck);
    if (check) s.healthcheck = check;
    services[name] = s;
  }
  for (const c of containers) {
    const deps = [...dependsOn(c.urn)].map(nameOf).sort();
    if (deps.length)
      services[nameOf(c.urn)].depends_on = Object.fromEntries(
        deps.map((d) => [
          d,
          { condition: services[d].healthcheck ? "service_healthy" : "service_started" },
        ]),
      );
  }
  return { compose: literal({ services, networks, volumes }), files };
}

module.exports = { composeFromDeployment };
