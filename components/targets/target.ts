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
  /**
   * For long-running workloads: a command that prints its health in a word or two (`healthy`,
   * `unhealthy`, `exited`, `ready 2/2`), which `psf status` shows as it is.
   */
  healthCommand?: pulumi.Output<string>;
}

/**
 * A public HTTPS route the platform's own router serves (a Kubernetes Ingress on an ingress
 * controller). What the router does beyond TLS and the upstream (forward auth, body limits) is
 * the proxy provider's to say, in `annotations`, which the target adds verbatim.
 */
export interface IngressRoute {
  /** The route's requester, unique in the stack. */
  name: string;
  host: string;
  upstream: { host: string; port: number; scheme: "http" | "https" };
  tls: { certPem: pulumi.Input<string>; keyPem: pulumi.Input<string> };
  /** The ingress class; absent: the cluster's default class. */
  ingressClass?: string;
  annotations: Record<string, pulumi.Input<string>>;
}

/** Turns workloads into resources on one kind of platform. */
export interface Target {
  readonly kind: "docker" | "kubernetes";
  /**
   * Present when the platform routes public traffic itself (Kubernetes' Ingress): the `ingress`
   * proxy provider declares its routes here. Each resource is created with `opts`.
   */
  ingress?(route: IngressRoute, opts: pulumi.CustomResourceOptions): pulumi.Resource[];
  /**
   * The DNS server a workload can ask for names at request time, where the platform has one at
   * a fixed address (Docker's embedded DNS); absent, names resolve once, at start.
   */
  readonly nameserver?: string;
  deploy(
    workload: Workload,
    opts: { parent: pulumi.Resource; dependsOn?: pulumi.Input<pulumi.Resource>[] },
  ): Deployed;
  /** The address a workload named `name` will have (known before it is deployed). */
  address(name: string): string;
  /** Ensures the volume exists; idempotent. */
  volume(ref: VolumeRef): pulumi.Resource;
}
