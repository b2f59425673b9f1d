/** How often a proxy looks at live certificate files (an ACME client renews them days ahead). */
export const CERT_WATCH_SECONDS = 30;

/**
 * A shell script that runs a proxy over live certificate files (ssl providers that renew while
 * the stack runs): it waits until every file is there (the ACME client writes a placeholder
 * first), starts a watcher in the background, then execs the proxy. The watcher compares a
 * checksum of the files every `intervalSeconds`; when it changed and `test` accepts the files
 * (a key and certificate that do not match yet fail it), it runs `reload`, so the same server
 * process serves the new certificate. A failed test is tried again at the next look.
 */
export function certWatchScript(o: {
  files: string[];
  intervalSeconds: number;
  /** Checks the config with the new files, e.g. `nginx -t -q`. */
  test: string;
  /** Tells the running server to reload, e.g. `nginx -s reload`. */
  reload: string;
  /** The server in the foreground, e.g. `exec nginx -g 'daemon off;'`. */
  exec: string;
}): string {
  // The list is split by the shell: plain paths only (ours are).
  const bad = o.files.find((f) => !/^[A-Za-z0-9_\/.:@%+,-]+$/.test(f));
  if (bad) throw new Error(`bug: certificate path ${bad} is not a plain path`);
  return [
    `files="${o.files.join(" ")}"`,
    // md5sum: coreutils and busybox both have it (busybox has no cksum).
    "sums() { cat $files 2>/dev/null | md5sum; }",
    "for f in $files; do",
    '  until [ -s "$f" ]; do echo "psf: waiting for $f" >&2; sleep 2; done',
    "done",
    "(",
    "  last=$(sums)",
    // `$$` is the script's PID, which `exec` hands to the server: the watcher ends with it.
    `  while sleep ${o.intervalSeconds} && kill -0 $$ 2>/dev/null; do`,
    "    now=$(sums)",
    '    [ "$now" = "$last" ] && continue',
    `    if ${o.test}; then`,
    `      ${o.reload} && last=$now && echo "psf: certificate files changed; reloaded" >&2`,
    "    fi",
    "  done",
    ") &",
    o.exec,
  ].join("\n");
}
