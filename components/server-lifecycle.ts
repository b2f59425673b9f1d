import { shellQuote } from "./shell";

/**
 * How a server container provisions itself, whatever the server (a database, a directory): the
 * start script launches the server in the background, waits until it answers on loopback,
 * applies the provision command, then marks the container ready for the health check. A failing
 * command leaves the server serving what it has, unhealthy, with the error in its log. A reload
 * applies a changed provision command to the live server.
 */
export interface ServerLifecycle {
  /** Touched once provisioning succeeded; the health check asks for it. */
  readyMarker: string;
  /** Exits 0 once the server answers on loopback. */
  ping: string;
  /** What the health check asks beyond the marker; the ping when absent. */
  healthy?: string;
  /** Applies the provisioning (roles or users, databases, directory entries). */
  provision: string;
  /** What the server gets on TERM or INT: its clean or fast shutdown. */
  stopSignal: "TERM" | "INT";
  /** Lines that start the server in the background; the image's own entrypoint when absent. */
  launch?: string[];
}

/** The three commands a provisioned server's workload runs. */
export interface ServerScripts {
  /** The container's command (`bash -c <start> psf-<name> <server args...>`). */
  start: string;
  /** Run in the live container after the provision command's input changed. */
  reload: string;
  /** Ready means provisioned and answering. */
  health: string;
}

export function serverScripts(l: ServerLifecycle): ServerScripts {
  return { start: startScript(l), reload: reloadScript(l), health: healthScript(l) };
}

function startScript(l: ServerLifecycle): string {
  return [
    "set -eu",
    `rm -f ${shellQuote(l.readyMarker)}`,
    ...(l.launch ?? ['docker-entrypoint.sh "$@" &']),
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

function reloadScript(l: ServerLifecycle): string {
  return `${l.provision} && touch ${shellQuote(l.readyMarker)}`;
}

function healthScript(l: ServerLifecycle): string {
  return `test -f ${shellQuote(l.readyMarker)} && ${l.healthy ?? l.ping}`;
}
