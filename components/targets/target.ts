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

/** A public HTTPS route, for targets that serve routes themselves (a Kubernetes Ingress). */
export interface PublicRoute {
  /** The route's requester, unique in the stack. */
  name: string;
  host: string;
  upstream: { host: string; port: number; scheme: "http" | "https" };
  tls: { certPem: pulumi.Input<string>; keyPem: pulumi.Input<string> };
  /**
   * Forward auth: the SSO's verify endpoint, where a 401 sends the browser, and the identity
   * headers of the SSO's answer passed on to the upstream.
   */
  auth?: {
    forwardAuthUrl: pulumi.Input<string>;
    signinUrl: pulumi.Input<string>;
    headers?: string[];
  };
  maxBodySize?: string;
  websockets?: boolean;
}

/** Turns workloads into resources on one kind of platform. */
export interface Target {
  readonly kind: "docker" | "kubernetes";
  /**
   * Present when the platform serves public routes itself (Kubernetes with proxyMode ingress):
   * the proxy provider then declares routes here instead of running its own server.
   */
  route?(route: PublicRoute, opts: { parent: pulumi.Resource }): pulumi.Resource[];
  deploy(
    workload: Workload,
    opts: { parent: pulumi.Resource; dependsOn?: pulumi.Input<pulumi.Resource>[] },
  ): Deployed;
  /** The address a workload named `name` will have (known before it is deployed). */
  address(name: string): string;
  /** Ensures the volume exists; idempotent. */
  volume(ref: VolumeRef): pulumi.Resource;
}
