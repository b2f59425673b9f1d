import { ObjectSpec } from "./schema";

/**
 * The settings of a stateful server's one data volume, the same wherever a server keeps data:
 * its name (the target names the Docker volume `psf-<stack>-<owner>-<name>`) and the storage
 * a target that provisions volumes requests.
 */
export function dataVolumeFields<Owner extends string>(owner: Owner, exampleSize: string) {
  return {
    dataVolume: {
      type: "string",
      format: "label",
      default: "data",
      doc: `name of the data volume (Docker: \`psf-<stack>-${owner}-<name>\`)`,
    },
    dataSize: {
      type: "string",
      format: "memory",
      doc: `storage to request where the target provisions it (Kubernetes, e.g. \`${exampleSize}\`); Docker volumes are not limited`,
    },
  } as const satisfies ObjectSpec["fields"];
}
