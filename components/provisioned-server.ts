import * as pulumi from "@pulumi/pulumi";
import { ServerScripts } from "./server-lifecycle";
import { Workload, WorkloadFile, WorkloadPort } from "./workload";

/** What one server that provisions itself (server-lifecycle.ts) runs and keeps. */
export interface ProvisionedServer {
  /** The workload's name, its data volume's owner, and the start script's `$0` (`psf-<name>`). */
  name: string;
  /** The contract it serves. */
  component: string;
  partOf: string;
  image: pulumi.Input<string>;
  scripts: ServerScripts;
  /** The server's own arguments, after the start script. */
  args?: string[];
  env: Record<string, pulumi.Input<string>>;
  secretEnv?: Record<string, pulumi.Input<string>>;
  /** The provisioning input and the files the server reads. */
  files: WorkloadFile[];
  data: { volume: string; mountPath: string; size?: string };
  port: WorkloadPort;
}

/**
 * A stateful server on one data volume, healthy once provisioned and answering. A changed
 * provisioning file is applied to the running server by the reload command: no restart.
 */
export function provisionedServerWorkload(s: ProvisionedServer): Workload {
  return {
    name: s.name,
    component: s.component,
    partOf: s.partOf,
    image: s.image,
    command: ["bash", "-c", s.scripts.start, `psf-${s.name}`],
    args: s.args,
    env: s.env,
    secretEnv: s.secretEnv,
    files: s.files,
    volumes: [
      {
        volume: { owner: s.name, name: s.data.volume },
        mountPath: s.data.mountPath,
        size: s.data.size,
      },
    ],
    ports: [s.port],
    healthcheck: {
      command: ["sh", "-c", s.scripts.health],
      intervalSeconds: 5,
      timeoutSeconds: 5,
      retries: 12,
      startPeriodSeconds: 10,
    },
    reloadCommand: ["sh", "-c", s.scripts.reload],
    stateful: true,
  };
}
