import type * as pulumi from "@pulumi/pulumi";

/**
 * Per-resource timeouts of the Docker target (docs/resilience.md; networks and volumes have
 * none: pulumi-docker ignores them there, with a warning on every up): a step that hangs (a daemon
 * that stopped answering, a pull that stalls) fails the update after a bound instead of holding
 * the stack's lock forever. Generous: they cut hangs, not slow machines.
 */
export const DOCKER_TIMEOUTS = {
  /** Pulling an image: a large image on a slow link. */
  image: { create: "20m", update: "20m", delete: "5m" },
  /** Stopping a container: its own stop grace period, then a kill. */
  containerDelete: "5m",
  /** Starting a container beyond its health check's own bound (the wait below). */
  containerStartSeconds: 300,
} as const;

/** A container's timeouts: its health check's whole bound (when it waits for it) plus a start allowance. */
export function containerTimeouts(healthWaitSeconds: number | undefined): pulumi.CustomTimeouts {
  const create = `${(healthWaitSeconds ?? 0) + DOCKER_TIMEOUTS.containerStartSeconds}s`;
  return { create, update: create, delete: DOCKER_TIMEOUTS.containerDelete };
}
