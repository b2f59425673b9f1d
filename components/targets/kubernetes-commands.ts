import { shellQuote } from "../shell";

/**
 * The `kubectl` command lines a person runs against the stack's cluster (dump, restore, run a
 * backup now). Pure strings: they hold object names and pod specs, never secret values.
 */

export interface KubectlTarget {
  namespace: string;
  context?: string;
  /** A kubeconfig path (`~/` is the home directory); kubeconfig content is left to the environment. */
  kubeconfig?: string;
}

/** `kubectl [--kubeconfig ...] [--context ...] -n <namespace>`: the cluster the stack deploys to. */
export function kubectlBase(t: KubectlTarget): string {
  const flags: string[] = [];
  if (t.kubeconfig && !t.kubeconfig.includes("\n")) {
    const home = /^~(\/|$)/.test(t.kubeconfig);
    const rest = home ? t.kubeconfig.replace(/^~\/?/, "") : t.kubeconfig;
    flags.push(
      "--kubeconfig",
      home ? `"$HOME"${rest ? `/${shellQuote(rest)}` : ""}` : shellQuote(rest),
    );
  }
  if (t.context) flags.push("--context", shellQuote(t.context));
  return ["kubectl", ...flags, "-n", shellQuote(t.namespace)].join(" ");
}

/** Runs `argv` in the first pod of a Deployment or StatefulSet. */
export function execCommand(base: string, ref: string, argv: string[], stdin?: boolean): string {
  return `${base} exec ${stdin ? "-i " : ""}${ref} -- ${argv.map(shellQuote).join(" ")}`;
}

/** Prints `ready R/N` for a Deployment or StatefulSet: its ready pods of those it wants. */
export function readinessCommand(base: string, ref: string): string {
  const jsonpath = "ready {.status.readyReplicas}/{.spec.replicas}";
  // readyReplicas is absent, not 0, while no pod is ready.
  return `sh -c ${shellQuote(`${base} get ${ref} -o ${shellQuote(`jsonpath=${jsonpath}`)} | sed 's|ready /|ready 0/|'`)}`;
}

/**
 * Starts a Job from a CronJob's template and waits until it completes or fails, printing its
 * log and exiting 0 or 1 accordingly (`kubectl wait` waits for one condition only, so a failed
 * job would hang it until its timeout). Wrapped in `sh -c` so pasting it never exits a shell.
 */
export function runJobCommand(base: string, cronJob: string, pollSeconds = 5): string {
  const failed = `${base} logs "job/$job" >&2; echo "job/$job failed" >&2; exit 1`;
  const script =
    `job=${shellQuote(cronJob)}-$(date +%s); ` +
    `${base} create job --from=cronjob/${shellQuote(cronJob)} "$job" >/dev/null || exit 1; ` +
    `echo "job/$job started" >&2; ` +
    "while :; do " +
    `state=$(${base} get job "$job" -o 'jsonpath={.status.conditions[?(@.status=="True")].type}') || exit 1; ` +
    `case "$state" in *Failed*) ${failed} ;; *Complete*) ${base} logs "job/$job"; exit 0 ;; esac; ` +
    `sleep ${pollSeconds}; ` +
    "done";
  return `sh -c ${shellQuote(script)}`;
}

/**
 * Runs `argv` once in a new pod built from a scheduled workload's pod spec (its volumes, env and
 * Secret references, affinity), attached to the terminal and removed afterwards: a CronJob has
 * no running pod to `exec` into. The spec replaces kubectl's generated one (`--overrides`, a
 * JSON merge patch: the container list is replaced whole).
 */
export function runPodCommand(
  base: string,
  name: string,
  image: string,
  pod: { metadata?: object; spec: Record<string, any> },
  argv: string[],
): string {
  const [container, ...rest] = pod.spec.containers as Array<Record<string, unknown>>;
  const overrides = {
    apiVersion: "v1",
    ...(pod.metadata ? { metadata: pod.metadata } : {}),
    spec: {
      ...pod.spec,
      restartPolicy: "Never",
      // stdin open for `-i`; the job's own command and args give way to argv.
      containers: [
        { ...container, command: argv, args: [], stdin: true, stdinOnce: true, tty: false },
        ...rest,
      ],
    },
  };
  return [
    base,
    "run",
    `${objectName40(name)}-run-$(date +%s)`,
    "--rm -i --quiet --restart=Never",
    `--image=${shellQuote(image)}`,
    `--overrides=${shellQuote(JSON.stringify(overrides))}`,
  ].join(" ");
}

/** A name prefix that leaves room for `-run-<unix time>` within 63 characters. */
function objectName40(name: string): string {
  return name.slice(0, 40).replace(/-+$/, "");
}
