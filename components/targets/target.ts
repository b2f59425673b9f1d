import * as pulumi from "@pulumi/pulumi";
import { VolumeRef, Workload } from "../workload";

/** A realised workload. */
export interface Deployed {
  /** Host name other workloads use to reach it. */
  address: string;
  /** The resources the target created, to depend on. */
  resources: pulumi.Resource[];
  /** A command a person can run to execute `command` inside it (stdin attached when asked). */
  exec(command: string[], opts?: { stdin?: boolean }): pulumi.Output<string>;
  /** For scheduled workloads: a command that runs the job now and waits for it. */
  runNow?: pulumi.Output<string>;
}

/** Turns workloads into resources on one kind of platform. */
export interface Target {
  readonly kind: "docker" | "kubernetes";
  deploy(workload: Workload, opts: { parent: pulumi.Resource; dependsOn?: pulumi.Input<pulumi.Resource>[] }): Deployed;
  /** The address a workload named `name` will have (known before it is deployed). */
  address(name: string): string;
  /** Ensures the volume exists; idempotent. */
  volume(ref: VolumeRef): pulumi.Resource;
}
