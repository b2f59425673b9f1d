// Bash both tools' backup and drill scripts share to record their outcome: a JSON status record
// per service and kind, a Prometheus textfile, and a signed webhook when a run fails.
import { shellQuote } from "../../components/shell";
import { BackupJob, ScriptPaths } from "./job";

const q = shellQuote;

/** A JSON string of `$1` (control characters dropped, the rest escaped). */
const JSON_STR = [
  "json_str() {",
  "  local s",
  "  s=$(printf '%s' \"$1\" | tr '\\n\\t' '  ' | tr -d '\\000-\\037')",
  '  s=${s//\\\\/\\\\\\\\}; s=${s//\\"/\\\\\\"}',
  '  printf \'"%s"\' "$s"',
  "}",
];

/**
 * The signed notification: POSTs `$1` (a JSON body) to `PSF_ALERT_URL` with
 * `X-PSF-Signature-256: sha256=<HMAC-SHA256 of the body, hex>` keyed by `PSF_ALERT_SECRET`.
 * A notification that cannot be sent is logged; it never changes the run's own result.
 */
const ALERT = [
  "psf_alert() {",
  '  [ -n "${PSF_ALERT_URL:-}" ] || return 0',
  '  [ -n "${PSF_ALERT_SECRET:-}" ] || { log "alert not sent: PSF_ALERT_SECRET is not set"; return 0; }',
  "  local body=$1 event=$2 sig delivery",
  // The key goes in the environment, never on a command line (which `ps` shows everyone).
  "  sig=$(printf '%s' \"$body\" | PSF_HMAC_KEY=\"$PSF_ALERT_SECRET\" perl -MDigest::SHA=hmac_sha256_hex -0777 -ne 'print hmac_sha256_hex($_, $ENV{PSF_HMAC_KEY})')",
  "  delivery=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \\n')",
  '  if curl -fsS -o /dev/null --max-time 20 --retry 3 --retry-delay 5 -H "Content-Type: application/json" \\',
  '      -H "X-PSF-Event: $event" -H "X-PSF-Delivery: $delivery" -H "X-PSF-Signature-256: sha256=$sig" \\',
  '      --data-binary "$body" "$PSF_ALERT_URL"; then log "alert $event sent"',
  '  else log "alert $event could not be sent to the webhook"; return 1; fi',
  "}",
];

/**
 * `psf_record RC`, called on exit: writes `<service>.<kind>.json` (this run) and
 * `<service>.<kind>.prom` (its metrics) in the status directory, both replaced atomically, and
 * alerts when the run failed. SIZE, RUN and SUMMARY are what the script set on its way.
 */
export function statusRecord(
  kind: "backup" | "drill",
  job: BackupJob,
  paths: ScriptPaths,
): string[] {
  const metric = `psf_${kind}`;
  const help = (name: string, text: string) => [
    `# HELP ${metric}_${name} ${text}`,
    `# TYPE ${metric}_${name} gauge`,
  ];
  const prom = [
    ...help(
      "last_run_timestamp_seconds",
      `When the last ${kind} of the service ended (Unix time).`,
    ),
    `${metric}_last_run_timestamp_seconds{service="%s"} %s`,
    ...help(
      "last_run_success",
      `1 when the last ${kind} of the service succeeded, 0 when it failed.`,
    ),
    `${metric}_last_run_success{service="%s"} %s`,
    ...help("last_duration_seconds", `How long the last ${kind} of the service took.`),
    `${metric}_last_duration_seconds{service="%s"} %s`,
  ];
  const backupOnly = [
    ...help(
      "last_success_timestamp_seconds",
      "When the last good backup of the service ended (Unix time).",
    ),
    `${metric}_last_success_timestamp_seconds{service="%s"} %s`,
    ...help("last_success_size_bytes", "Bytes the last good backup of the service held."),
    `${metric}_last_success_size_bytes{service="%s"} %s`,
    ...help(
      "max_age_seconds",
      "Age of the last good backup past which it is stale (twice the schedule's longest gap).",
    ),
    `${metric}_max_age_seconds{service="%s"} %s`,
  ];
  return [
    `STATUS_DIR=${q(paths.statusDir)}`,
    `KIND=${kind}`,
    `MAX_AGE=${job.maxAgeSeconds}`,
    "START=$(date +%s)",
    'SIZE=""; SUMMARY=""',
    ...JSON_STR,
    ...ALERT,
    "psf_record() {",
    "  local rc=$1 now result ok_time='' ok_size='' ok_run='' base json lastok error",
    '  now=$(date +%s); base="$STATUS_DIR/$SERVICE.$KIND"',
    '  mkdir -p "$STATUS_DIR"',
    '  if [ "$rc" -eq 0 ]; then result=ok; printf \'%s %s %s\\n\' "$now" "${SIZE:-0}" "${RUN:-}" >"$base.ok"; else result=failed; fi',
    '  if [ -f "$base.ok" ]; then read -r ok_time ok_size ok_run <"$base.ok" || true; fi',
    '  lastok=null; [ -z "$ok_time" ] || lastok="{\\"timestamp\\":$ok_time,\\"sizeBytes\\":${ok_size:-0},\\"snapshot\\":$(json_str "$ok_run")}"',
    '  error=null; [ "$rc" -eq 0 ] || error=$(json_str "${REASON:-exit $rc}")',
    '  json="{\\"service\\":$(json_str "$SERVICE"),\\"kind\\":\\"$KIND\\",\\"result\\":\\"$result\\",\\"timestamp\\":$now,\\"time\\":\\"$(date -u -d "@$now" +%Y-%m-%dT%H:%M:%SZ)\\",\\"snapshot\\":$(json_str "${RUN:-}"),\\"sizeBytes\\":${SIZE:-null},\\"durationSeconds\\":$((now - START)),\\"summary\\":$(json_str "$SUMMARY"),\\"error\\":$error,\\"maxAgeSeconds\\":$MAX_AGE,\\"lastOk\\":$lastok}"',
    '  printf \'%s\\n\' "$json" >"$base.json.tmp" && mv -f "$base.json.tmp" "$base.json"',
    "  {",
    `    printf ${q(prom.join("\n") + "\n")} "$SERVICE" "$now" "$SERVICE" "$([ "$rc" -eq 0 ] && echo 1 || echo 0)" "$SERVICE" "$((now - START))"`,
    kind === "backup"
      ? `    [ -z "$ok_time" ] || printf ${q(backupOnly.join("\n") + "\n")} "$SERVICE" "$ok_time" "$SERVICE" "\${ok_size:-0}" "$SERVICE" "$MAX_AGE"`
      : "    :",
    '  } >"$base.prom.tmp" && mv -f "$base.prom.tmp" "$base.prom"',
    '  [ "$rc" -eq 0 ] || psf_alert "{\\"event\\":\\"$KIND.failed\\",\\"record\\":$json}" "$KIND.failed" || true',
    "}",
  ];
}

/** `psf-status`: the service's records, one JSON object a line (none yet: no output). */
export function statusScript(job: BackupJob, paths: ScriptPaths): string {
  return [
    "#!/usr/bin/env bash",
    `# psf-status for ${job.service}. Rendered by PSF; \`pulumi up\` overwrites edits.`,
    "set -euo pipefail",
    `for kind in backup drill; do f=${q(paths.statusDir)}/${q(job.service)}.$kind.json; if [ -f "$f" ]; then cat "$f"; fi; done`,
    "",
  ].join("\n");
}

/**
 * `psf-freshness`, run hourly when a webhook is set: for each service whose last good backup is
 * older than its record's `maxAgeSeconds`, one `backup.stale` alert per stale backup (a backup
 * that stops running reports nothing itself). A service that never succeeded alerted when it
 * failed. `PSF_FRESHNESS_NOW` (Unix time) stands in for the clock in tests.
 */
export function freshnessScript(services: string[], paths: ScriptPaths): string {
  return [
    "#!/usr/bin/env bash",
    "# psf-freshness. Rendered by PSF; `pulumi up` overwrites edits.",
    "set -Eeuo pipefail",
    `if [ -r ${q(paths.envFile)} ]; then set -a; . ${q(paths.envFile)}; set +a; fi`,
    `log() { printf 'psf-freshness: %s\\n' "$*" >&2; }`,
    ...ALERT,
    `STATUS_DIR=${q(paths.statusDir)}`,
    'now="${PSF_FRESHNESS_NOW:-$(date +%s)}"',
    `for svc in ${services.map(q).join(" ")}; do`,
    '  f="$STATUS_DIR/$svc.backup.json"; [ -f "$f" ] || continue',
    '  rec=$(cat "$f")',
    `  ok=$({ grep -o '"lastOk":{"timestamp":[0-9]*' <<<"$rec" || true; } | grep -o '[0-9]*$' || true)`,
    `  max=$({ grep -o '"maxAgeSeconds":[0-9]*' <<<"$rec" || true; } | grep -o '[0-9]*$' || true)`,
    '  [ -n "$ok" ] && [ -n "$max" ] || continue',
    '  [ "$((now - ok))" -gt "$max" ] || continue',
    // Once per stale backup: the mark holds the last good backup's time it alerted about.
    '  mark="$STATUS_DIR/$svc.stale-alerted"',
    '  [ "$(cat "$mark" 2>/dev/null || true)" != "$ok" ] || continue',
    '  log "service $svc: the last good backup is $(((now - ok) / 3600)) h old (stale after $((max / 3600)) h)"',
    '  if psf_alert "{\\"event\\":\\"backup.stale\\",\\"service\\":\\"$svc\\",\\"ageSeconds\\":$((now - ok)),\\"record\\":$rec}" backup.stale; then echo "$ok" >"$mark"; fi',
    "done",
    "",
  ].join("\n");
}
