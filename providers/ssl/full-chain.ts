import * as pulumi from "@pulumi/pulumi";

/** A certificate as servers want it: leaf first, then the issuer unless the leaf PEM already carries it. */
export function fullChain(
  certPem: pulumi.Input<string>,
  caPem: pulumi.Input<string | undefined> | undefined,
): pulumi.Output<string> {
  return pulumi
    .all([certPem, caPem])
    .apply(([cert, ca]) => (!ca || cert.includes(ca.trim()) ? cert : `${cert.trimEnd()}\n${ca}`));
}
