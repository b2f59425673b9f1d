import type { HostPort } from "../../components/provider";

/** The settings every proxy that runs its own server publishes its ports by. */
export interface ListenSettings {
  httpPort?: number;
  httpsPort?: number;
  listenAddress?: string;
}

/**
 * A proxy's HTTP and HTTPS ports on the host, plus `extra` ones. Settings with errors arrive
 * partial: a missing port is left out (its own path reports it).
 */
export function proxyHostPorts(
  settings: ListenSettings,
  extra: Array<Omit<HostPort, "port"> & { port?: number }> = [],
): HostPort[] {
  const address = settings.listenAddress ?? "0.0.0.0";
  return [
    { port: settings.httpPort, address, what: "http", setting: "httpPort" },
    { port: settings.httpsPort, address, what: "https", setting: "httpsPort" },
    ...extra,
  ].filter((p): p is HostPort => p.port !== undefined);
}
