import * as pulumi from "@pulumi/pulumi";
import { StackSettings } from "../config";
import { DockerTarget } from "./docker";
import { imageIdsFromEnv } from "./image-ids";
import { locateProbe } from "./probe";
import { Target } from "./target";

/** Labels every object of the stack carries. */
export function stackLabels(stack: StackSettings): Record<string, string> {
  return {
    "psf.stack": stack.stackName,
    "psf.project": stack.project,
    "app.kubernetes.io/managed-by": "psf",
  };
}

/** The target the stack config chooses. */
export function createTarget(stack: StackSettings, parent: pulumi.Resource): Target {
  const t = stack.target;
  if (t.kind === "kubernetes") {
    // Loaded lazily: a Docker stack never evaluates the Kubernetes SDK.
    const { KubernetesTarget } = require("./kubernetes") as typeof import("./kubernetes");
    return new KubernetesTarget({ ...t, labels: stackLabels(stack), stack }, parent);
  }
  return new DockerTarget(
    {
      prefix: `psf-${stack.stackName}`,
      host: t.host,
      network: t.network,
      labels: stackLabels(stack),
      probe: locateProbe(),
      imageIds: imageIdsFromEnv(),
    },
    parent,
  );
}
