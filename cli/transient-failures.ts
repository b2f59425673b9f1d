/**
 * Output of a failed backup tool run that says trying again later may work: a lock another run
 * holds, a network blip, a container that is restarting. Anything else (a wrong passphrase, a
 * missing repository, a full disk) fails at once, since a retry would only fail the same way.
 */
const TRANSIENT: RegExp[] = [
  // borg
  /Failed to create\/acquire the lock/i,
  /LockTimeout|lock\.exclusive.*timeout/i,
  /Connection closed by remote host|Remote: ssh: connect to host/i,
  // restic
  /unable to create lock in backend|repository is already locked/i,
  /TLS handshake timeout|i\/o timeout|503 Service Unavailable|429 Too Many Requests/i,
  // docker and kubectl reaching the job's container
  /is restarting, wait until the container is running/i,
  /error dialing backend|unable to upgrade connection|container not found/i,
  // any of them
  /Connection reset by peer|Broken pipe|Connection timed out|Temporary failure in name resolution|Resource temporarily unavailable/i,
];

/** The first line that marks the failure as transient, if any. */
export function transientCause(output: string[]): string | undefined {
  return output.find((line) => TRANSIENT.some((re) => re.test(line)));
}

/**
 * A registry or Docker engine that failed in a way that may pass: a dropped connection, a
 * server error, a rate limit, a daemon restarting. Not a registry that is simply not there (no
 * such host, connection refused, no route): offline machines build images from recipes instead,
 * and waiting would only slow them down.
 */
const TRANSIENT_DOCKER: RegExp[] = [
  /connection reset by peer|broken pipe|unexpected EOF|TLS handshake timeout|i\/o timeout/i,
  /\b(500 Internal Server Error|502 Bad Gateway|503 Service Unavailable|504 Gateway Time-?out)\b/i,
  /\b429 Too Many Requests\b|toomanyrequests/i,
  /Cannot connect to the Docker daemon|is the docker daemon running/i,
  /Temporary failure in name resolution|Resource temporarily unavailable/i,
];

/** The first line of `docker pull` output that marks its failure as transient, if any. */
export function transientPullCause(output: string): string | undefined {
  return output
    .split("\n")
    .find((line) => !UNREACHABLE.test(line) && TRANSIENT_DOCKER.some((re) => re.test(line)));
}

/** Nothing answered at all (offline, air-gapped): not worth waiting for. */
const UNREACHABLE =
  /dial tcp|no such host|connection refused|network is unreachable|no route to host/i;

/**
 * The first line of a failed engine run (`up`, `refresh`) that marks the failure as transient:
 * the Docker engine or a registry dropped a call. A resource that failed for its own reasons
 * (a health check, an invalid argument, a refused lock) is not retried.
 */
export function transientEngineCause(output: string): string | undefined {
  if (/the stack is currently locked|health check|unhealthy/i.test(output)) return undefined;
  return transientPullCause(output);
}
