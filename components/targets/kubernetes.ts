import * as pulumi from "@pulumi/pulumi";
import { StackSettings, TargetConfig } from "../config";
import { VolumeRef, Workload } from "../workload";
import { Deployed, Target } from "./target";

export type KubernetesTargetArgs = Extract<TargetConfig, { kind: "kubernetes" }> & {
  labels: Record<string, string>;
  stack: StackSettings;
};

// Placeholder until the Kubernetes target lands (issue 5).
export class KubernetesTarget implements Target {
  readonly kind = "kubernetes" as const;
  constructor(_args: KubernetesTargetArgs, _parent: pulumi.Resource) {
    throw new pulumi.RunError("the kubernetes target is not built yet");
  }
  address(name: string): string {
    return name;
  }
  volume(_ref: VolumeRef): pulumi.Resource {
    throw new Error("unreachable");
  }
  deploy(_w: Workload): Deployed {
    throw new Error("unreachable");
  }
}
