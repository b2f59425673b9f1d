import * as pulumi from "@pulumi/pulumi";
import { Workload, WorkloadFile } from "../workload";
import { shellQuote } from "../shell";

/**
 * On Docker a scheduled workload is a long-running container running cron: the job's
 * command becomes a script, its env a private file the script reads (cron starts jobs
 * with an empty environment), and its output goes to the container's log.
 * The image must provide `cron` (Debian's cron package).
 */
export function cronContainer(w: Workload): {
  entrypoint: string[];
  command: string[];
  files: WorkloadFile[];
  runPath: string;
} {
  const runPath = "/usr/local/bin/psf-job";
  const envLines = pulumi.all({ ...(w.env ?? {}), ...(w.secretEnv ?? {}) }).apply(
    (env) =>
      Object.entries(env)
        .map(([k, v]) => `export ${k}=${shellQuote(String(v))}`)
        .join("\n") + "\n",
  );
  const argv = [...(w.command ?? []), ...(w.args ?? [])];
  const script = (parts: unknown[]) =>
    [
      "#!/bin/sh",
      "set -a",
      ". /etc/psf/job.env",
      "set +a",
      `exec ${parts.map(String).map(shellQuote).join(" ")}`,
      "",
    ].join("\n");
  // A command of plain strings (the usual one) makes a plain script: no Output to resolve.
  const job = argv.every((a) => typeof a === "string")
    ? script(argv)
    : pulumi.all(argv).apply(script);
  const crontab = `SHELL=/bin/sh\n${w.schedule} root ${runPath} >/proc/1/fd/1 2>/proc/1/fd/2\n`;
  return {
    entrypoint: ["/bin/sh", "-c"],
    command: ["cron -f"],
    runPath,
    files: [
      {
        path: "/etc/psf/job.env",
        content: envLines,
        secret: Object.keys(w.secretEnv ?? {}).length > 0,
        mode: 0o600,
      },
      { path: runPath, content: job, mode: 0o755 },
      { path: "/etc/cron.d/psf-job", content: crontab, mode: 0o644 },
    ],
  };
}
