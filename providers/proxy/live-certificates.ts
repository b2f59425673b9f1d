import { VolumeMount, VolumeRef } from "../../components/workload";
import { SslFiles } from "../ssl/contract";
import { ProxyRoute } from "./contract";

/**
 * Routes whose certificate an ssl provider keeps current as files in a volume (acme): every
 * proxy mounts those volumes read-only under `root`, serves the files and watches them
 * (cert-watch.ts). Mounted at `<root>/<owner>-<name>`.
 */
export interface LiveCertificates {
  /** Certificate files by host, for routes whose certificate is live files. */
  certFiles: Record<string, { cert: string; key: string }>;
  /** Every live file, for the watcher. */
  watched: string[];
  mounts: VolumeMount[];
  /** The ssl provider's HTTP-01 challenge volume, served instead of the proxy's own. */
  challenges?: VolumeRef;
}

/** The live certificate files of the routes whose ssl result has them, and their volumes. */
export function liveCertificates(
  requests: Record<string, ProxyRoute>,
  root: string,
  filesOf: (requester: string) => SslFiles | undefined,
): LiveCertificates {
  const out: LiveCertificates = { certFiles: {}, watched: [], mounts: [] };
  for (const [requester, route] of Object.entries(requests)) {
    const f = filesOf(requester);
    if (!f) continue;
    const mountPath = `${root}/${f.volume.owner}-${f.volume.name}`;
    if (!out.mounts.some((m) => m.mountPath === mountPath))
      out.mounts.push({ volume: f.volume, mountPath, readOnly: true });
    const files = { cert: `${mountPath}/${f.certPath}`, key: `${mountPath}/${f.keyPath}` };
    out.certFiles[route.host] = files;
    for (const p of [files.cert, files.key]) if (!out.watched.includes(p)) out.watched.push(p);
    if (f.challenges) out.challenges = f.challenges;
  }
  return out;
}
