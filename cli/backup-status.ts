/**
 * What `psf status` makes of a service's backup status records (written by the backup job and
 * the drill, printed by its `backupStatusCommand`): the last backup's age, size and result, the
 * last drill's result, and the alerts — a failed backup, a failed drill, a good backup older
 * than twice its schedule allows (`maxAgeSeconds`).
 */
export interface StatusRecord {
  service: string;
  kind: "backup" | "drill";
  result: "ok" | "failed";
  /** Unix time the run ended. */
  timestamp: number;
  snapshot: string;
  sizeBytes: number | null;
  durationSeconds: number;
  summary: string;
  error: string | null;
  maxAgeSeconds: number;
  lastOk: { timestamp: number; sizeBytes: number; snapshot: string } | null;
}

export interface BackupStatus {
  backup?: StatusRecord;
  drill?: StatusRecord;
  /** Lines that were not records (a broken file): shown, never guessed at. */
  unreadable: string[];
  alerts: string[];
}

/** The records `psf-status` prints, one JSON object a line. */
export function parseStatus(output: string, now: number): BackupStatus {
  const status: BackupStatus = { unreadable: [], alerts: [] };
  for (const line of output.split("\n").filter((l) => l.trim())) {
    let r: StatusRecord | undefined;
    try {
      r = JSON.parse(line);
    } catch {
      // Reported below.
    }
    if (r && (r.kind === "backup" || r.kind === "drill")) status[r.kind] = r;
    else status.unreadable.push(line);
  }
  status.alerts = alertsOf(status, now);
  return status;
}

function alertsOf(s: BackupStatus, now: number): string[] {
  const alerts: string[] = [];
  const b = s.backup;
  if (b?.result === "failed") alerts.push(`backup failed: ${b.error ?? "unknown error"}`);
  if (b?.lastOk && now - b.lastOk.timestamp > b.maxAgeSeconds)
    alerts.push(
      `last good backup is ${age(now - b.lastOk.timestamp)} old (stale after ${age(b.maxAgeSeconds)})`,
    );
  if (s.drill?.result === "failed")
    alerts.push(`drill failed: ${s.drill.error ?? "unknown error"}`);
  if (s.unreadable.length) alerts.push("unreadable status record");
  return alerts;
}

/** `3 h`, `2 d`: the unit a person reads an age in. */
export function age(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** `12.3 MB` (decimal units, as borg and restic print sizes). */
export function size(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** One line each for the last backup and the last drill. */
export function describe(s: BackupStatus, now: number): { backup: string; drill: string } {
  const b = s.backup;
  const backup = !b
    ? "none yet"
    : b.result === "ok"
      ? `ok ${age(now - b.timestamp)} ago, ${size(b.sizeBytes ?? 0)} (${b.snapshot})`
      : `FAILED ${age(now - b.timestamp)} ago${b.lastOk ? `; last good ${age(now - b.lastOk.timestamp)} ago, ${size(b.lastOk.sizeBytes)}` : "; never succeeded"}`;
  const d = s.drill;
  const drill = !d
    ? "none yet"
    : `${d.result === "ok" ? "passed" : "FAILED"} ${age(now - d.timestamp)} ago${d.snapshot ? ` (${d.snapshot})` : ""}`;
  return { backup, drill };
}
