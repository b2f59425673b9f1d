import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/**
 * The cluster the suite deploys to: `npm run cluster`'s (scripts/cluster, state under
 * ~/.cache/psf/cluster), or any cluster PSF_K8S_KUBECONFIG names. What the suite needs of it is
 * read from the cluster itself: the node's address (NodePorts) and the ingress controller's class.
 */
export const CLUSTER_DIR =
  process.env.PSF_CLUSTER_DIR ?? path.join(os.homedir(), ".cache", "psf", "cluster");
export const KUBECONFIG = process.env.PSF_K8S_KUBECONFIG ?? path.join(CLUSTER_DIR, "kubeconfig");
/** kubectl: the cluster's own build first (scripts/cluster/build.sh), else the one on PATH. */
export const KUBECTL_DIR = path.join(CLUSTER_DIR, "bin");
export const kubectlPath = () =>
  `${fs.existsSync(path.join(KUBECTL_DIR, "kubectl")) ? `${KUBECTL_DIR}:` : ""}${process.env.PATH}`;

/** `kubectl --kubeconfig <cluster> [-n namespace] args...`, its stdout. Throws with stderr on failure. */
export function kubectl(args: string[], o: { namespace?: string; input?: string } = {}): string {
  const argv = ["--kubeconfig", KUBECONFIG, ...(o.namespace ? ["-n", o.namespace] : []), ...args];
  const r = spawnSync("kubectl", argv, {
    encoding: "utf8",
    input: o.input,
    env: { ...process.env, PATH: kubectlPath() },
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0)
    throw new Error(`kubectl ${argv.slice(2).join(" ")}: exit ${r.status}\n${r.stderr}`);
  return r.stdout.trim();
}

export function kubectlJson(args: string[], namespace?: string): any {
  return JSON.parse(kubectl([...args, "-o", "json"], { namespace }));
}

/** Why the cluster cannot be used, or undefined when its API server is ready and its node Ready. */
export function clusterUnavailable(): string | undefined {
  if (!fs.existsSync(KUBECONFIG)) return `no kubeconfig at ${KUBECONFIG} (npm run cluster)`;
  try {
    kubectl(["get", "--raw", "/readyz", "--request-timeout=10s"]);
  } catch (e) {
    return `the API server does not answer (${(e as Error).message.split("\n")[1] ?? ""}; npm run cluster)`;
  }
  const nodes = kubectlJson(["get", "nodes"]).items as any[];
  const ready = nodes.filter((n) =>
    n.status.conditions.some((c: any) => c.type === "Ready" && c.status === "True"),
  );
  if (!ready.length) return `no node is Ready (${nodes.length} nodes)`;
  return undefined;
}

/** The address NodePorts answer on from here: the first Ready node's InternalIP. */
export function nodeAddress(): string {
  if (process.env.PSF_K8S_NODE_ADDRESS) return process.env.PSF_K8S_NODE_ADDRESS;
  const node = kubectlJson(["get", "nodes"]).items[0];
  return node.status.addresses.find((a: any) => a.type === "InternalIP").address;
}

/**
 * The ingress controller: its IngressClass (the cluster's default class, else the only one)
 * and where its HTTPS entrypoint answers from here (the node's port 443 unless
 * PSF_K8S_INGRESS_HTTPS says `host:port`).
 */
export function ingressController(): { ingressClass: string; host: string; port: number } {
  const classes = kubectlJson(["get", "ingressclasses"]).items as any[];
  const dflt = classes.find(
    (c) => c.metadata.annotations?.["ingressclass.kubernetes.io/is-default-class"] === "true",
  );
  const cls = dflt ?? (classes.length === 1 ? classes[0] : undefined);
  if (!cls)
    throw new Error(
      `no default IngressClass among ${classes.map((c) => c.metadata.name).join(", ") || "none"}`,
    );
  const [host, port] = (process.env.PSF_K8S_INGRESS_HTTPS ?? `${nodeAddress()}:443`).split(":");
  return { ingressClass: cls.metadata.name, host, port: Number(port) };
}

/** Runs a shell command line (the stack's printed kubectl commands) with the cluster's kubectl on PATH. */
export function shell(command: string, input = ""): string {
  return execFileSync("sh", ["-c", command], {
    encoding: "utf8",
    input,
    env: { ...process.env, PATH: kubectlPath() },
    stdio: ["pipe", "pipe", "pipe"],
    maxBuffer: 64 << 20,
  }).trim();
}
