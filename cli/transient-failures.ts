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
