import { shellQuote } from "../../components/shell";

/**
 * How a database server container provisions itself, whatever the engine: the start script
 * runs the image's own entrypoint, waits until the server answers on loopback, applies the
 * provision command, then marks the container ready for the health check. A failing command
 * leaves the server serving what it has, unhealthy, with the error in its log. A reload applies
 * a changed provision command to the live server.
 */
export interface ServerLifecycle {
  /** Touched once provisioning succeeded; the health check asks for it. */
  readyMarker: string;
  /** Exits 0 once the server answers on loopback. */
  ping: string;
  /** Applies the provisioning (roles or users, databases, initSql). */
  provision: string;
  /** What the entrypoint's server gets on TERM or INT: its clean or fast shutdown. */
  stopSignal: "TERM" | "INT";
}

export function lifecycleStartScript(l: ServerLifecycle): string {
  return [
    "set -eu",
    `rm -f ${shellQuote(l.readyMarker)}`,
    'docker-entrypoint.sh "$@" &',
    "pid=$!",
    `trap 'kill -${l.stopSignal} "$pid" 2>/dev/null; wait "$pid"; exit $?' TERM INT`,
    `until ${l.ping}; do`,
    '  kill -0 "$pid" 2>/dev/null || { wait "$pid"; exit $?; }',
    "  sleep 1",
    "done",
    `if ${l.provision}; then touch ${shellQuote(l.readyMarker)}`,
    'else echo "psf: provisioning failed (above); the server runs but stays unhealthy until it succeeds" >&2; fi',
    'wait "$pid"',
  ].join("\n");
}

/** Run in the live container after the provision command changed. */
export function lifecycleReloadScript(l: ServerLifecycle): string {
  return `${l.provision} && touch ${shellQuote(l.readyMarker)}`;
}

/** Ready means provisioned and answering. */
export function lifecycleHealthScript(l: ServerLifecycle): string {
  return `test -f ${shellQuote(l.readyMarker)} && ${l.ping}`;
}
