import { InferFields } from "../../components/validate/infer";
import { Issue, joinPath } from "../../components/errors";
import { ObjectSpec } from "../../components/validate/schema";
import {
  BackupRequest,
  DEFAULT_RETENTION,
  DEFAULT_SCHEDULE,
  Retention,
  retentionSpec,
} from "./contract";

/** Drills run weekly, Sunday 05:00 UTC, after the default 03:00 backups. */
export const DEFAULT_DRILL_SCHEDULE = "0 5 * * 0";

/** Settings every backup provider accepts (stack-wide defaults a request may override). */
export const commonSettingsFields = {
  schedule: {
    type: "string",
    format: "cron",
    default: DEFAULT_SCHEDULE,
    doc: "when every job runs (UTC in the job container), unless the request sets its own",
  },
  retention: {
    ...retentionSpec,
    doc: `backups kept per service; a request's \`retention\` overrides single fields; unset fields: ${Object.entries(
      DEFAULT_RETENTION,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}; a policy that keeps nothing is refused`,
  },
  checkWeekday: {
    type: "int",
    min: 0,
    max: 6,
    default: 0,
    doc: "day of the week (0: Sunday) of the weekly checks",
  },
  repository: {
    type: "string",
    minLength: 1,
    maxLength: 1024,
    doc: "a remote repository (forms below); unset: the provider's volume `<provider>/repository`, mounted at `/repository`",
  },
  passphrase: {
    type: "string",
    format: "name",
    doc: "name of a `psf:secrets` value to use as the passphrase (e.g. to reuse a repository); unset: 48 random characters, a Pulumi secret",
  },
  sshKey: {
    type: "string",
    format: "name",
    doc: "name of a `psf:secrets` value holding the SSH private key for a remote repository over ssh (required there)",
  },
  drill: {
    type: "object",
    fields: {
      enabled: {
        type: "bool",
        default: true,
        doc: "run a restore drill per service on `drill.schedule` (`psf backup verify` works either way)",
      },
      schedule: {
        type: "string",
        format: "cron",
        default: DEFAULT_DRILL_SCHEDULE,
        doc: "when each service's drill restores its newest backup into scratch space and checks it",
      },
    },
    doc: "scheduled restore drills (see docs/backups.md)",
  },
  alerts: {
    type: "object",
    fields: {
      webhook: {
        type: "string",
        format: "url",
        doc: "URL a failed backup or drill is POSTed to, signed (`X-PSF-Signature-256`)",
      },
      secret: {
        type: "string",
        format: "name",
        doc: "name of the `psf:secrets` value the webhook is signed with (HMAC-SHA256); required with `webhook`",
      },
    },
    doc: "notifications of failed backups and drills (see docs/backups.md)",
  },
  knownHosts: {
    type: "string",
    minLength: 1,
    maxLength: 65536,
    doc: "`known_hosts` lines of the remote; without them the first host key seen is trusted",
  },
} as const satisfies ObjectSpec["fields"];

export type CommonSettings = InferFields<typeof commonSettingsFields>;

/** Request retention over provider retention over the defaults. */
export function retentionOf(settings: CommonSettings, req: BackupRequest): Retention {
  return { ...DEFAULT_RETENTION, ...(settings.retention ?? {}), ...(req.retention ?? {}) };
}

/** Checks shared by both providers: retention that keeps something, named secrets that exist. */
export function checkCommonStack(
  settings: CommonSettings,
  secretNames: readonly string[],
  requests: Record<string, BackupRequest>,
  path: string,
  stackName: string,
): Issue[] {
  const issues: Issue[] = [];
  for (const key of ["passphrase", "sshKey"] as const) {
    const secret = settings[key];
    if (secret && !secretNames.includes(secret))
      issues.push({
        path: joinPath(path, key),
        message: `secret "${secret}" is not set in the stack config (psf:secrets.${secret})`,
        hint: `run: pulumi config set --secret --path 'psf:secrets.${secret}' <value> --stack ${stackName}`,
      });
  }
  const alerts = settings.alerts;
  if (alerts?.webhook && !alerts.secret)
    issues.push({
      path: joinPath(joinPath(path, "alerts"), "secret"),
      message: "a webhook needs a secret to sign its notifications with",
      hint: "set alerts.secret to the name of a psf:secrets value (e.g. 32 random characters)",
    });
  if (alerts?.secret && !secretNames.includes(alerts.secret))
    issues.push({
      path: joinPath(joinPath(path, "alerts"), "secret"),
      message: `secret "${alerts.secret}" is not set in the stack config (psf:secrets.${alerts.secret})`,
      hint: `run: pulumi config set --secret --path 'psf:secrets.${alerts.secret}' <value> --stack ${stackName}`,
    });
  for (const [requester, req] of Object.entries(requests)) {
    const r = retentionOf(settings, req);
    if (r.daily + r.weekly + r.monthly + r.yearly > 0) continue;
    issues.push({
      path: req.retention
        ? joinPath(requestPath(requester), "retention")
        : joinPath(path, "retention"),
      message: "retention keeps nothing: every backup would be deleted right after it is made",
      hint: "keep at least one, e.g. {daily: 7}",
    });
  }
  return issues;
}

function requestPath(requester: string): string {
  return requester.includes(":") ? "providers.backup" : `services.${requester}.needs.backup`;
}
