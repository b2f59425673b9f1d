/**
 * The Pulumi SDK, loaded on first use. Contract hooks that build outputs run only inside a
 * program, while validation reads the same definitions without loading Pulumi.
 */
export function sdk(): typeof import("@pulumi/pulumi") {
  return require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
}
