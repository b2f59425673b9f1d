import { ObjectSpec } from "../../components/validate/schema";
import { Issue, joinPath } from "../../components/errors";
import { backupProvider } from "./backup-provider";
import { RESTIC_BACKENDS, RESTIC_SUBSET, ResticSettings } from "./restic-script";

/** restic, bash, cron and the PostgreSQL and MariaDB clients on Debian bookworm (see docs/providers/restic.md). */
export const RESTIC_IMAGE = "psf/restic:0.14.0-bookworm";
/** Environment the provider sets itself; settings may not override it. */
const RESERVED_ENV = /^(RESTIC_|PSF_|HOME$|PATH$)/;

/** Settings beyond the common ones. */
export const resticSettingsFields = {
  compression: {
    type: "string",
    enum: ["auto", "off", "max"],
    default: "auto",
    doc: "restic's `--compression` (repository format 2)",
  },
  checkReadData: {
    type: "string",
    minLength: 2,
    maxLength: 16,
    default: "5%",
    doc: "share of the data the weekly check reads back (`--read-data-subset`): `5%`, `1/7`, `500M`",
  },
  pruneDay: {
    type: "int",
    min: 1,
    max: 28,
    default: 1,
    doc: "day of the month on which unreferenced data is pruned",
  },
  env: {
    type: "map",
    keyFormat: "env",
    values: { type: "string", maxLength: 4096 },
    default: {},
    doc: "plain environment for the backend (`AWS_ACCESS_KEY_ID`, `B2_ACCOUNT_ID`…)",
  },
  secretEnv: {
    type: "map",
    keyFormat: "env",
    values: { type: "string", format: "name" },
    default: {},
    doc: "environment taken from `psf:secrets` (`AWS_SECRET_ACCESS_KEY: s3-secret`); `RESTIC_*` and `PSF_*` are the provider's own",
  },
} as const satisfies ObjectSpec["fields"];

export const restic = backupProvider<ResticSettings>({
  name: "restic",
  description:
    "restic: one encrypted, deduplicated repository (local volume or remote backend); a scheduled job per service",
  image: { key: "restic", default: RESTIC_IMAGE },
  settings: resticSettingsFields,
  // A network backend, `sftp:` over ssh; a local path would live in the container.
  remote: (repository) => {
    const backend = repository.split(":")[0];
    return {
      valid: repository.includes(":") && (RESTIC_BACKENDS as readonly string[]).includes(backend),
      hint: `use one of ${RESTIC_BACKENDS.map((b) => `${b}:...`).join(", ")}`,
      overSsh: backend === "sftp",
    };
  },
  checkSettings: (settings, stack, path) => {
    const issues: Issue[] = [];
    if (settings.checkReadData && !RESTIC_SUBSET.test(settings.checkReadData))
      issues.push({
        path: joinPath(path, "checkReadData"),
        message: `"${settings.checkReadData}" is not a subset restic check can read`,
        hint: "use a percentage (5%), a part (1/7) or a size (500M)",
      });
    for (const [kind, map] of [
      ["env", settings.env ?? {}],
      ["secretEnv", settings.secretEnv ?? {}],
    ] as const) {
      for (const [envName, value] of Object.entries(map)) {
        if (RESERVED_ENV.test(envName))
          issues.push({
            path: joinPath(joinPath(path, kind), envName),
            message: `${envName} is set by the provider`,
            hint: "use repository and passphrase instead",
          });
        if (kind === "secretEnv" && !stack.secretNames.includes(value))
          issues.push({
            path: joinPath(joinPath(path, kind), envName),
            message: `secret "${value}" is not set in the stack config (psf:secrets.${value})`,
            hint: `run: pulumi config set --secret --path 'psf:secrets.${value}' <value> --stack ${stack.stackName}`,
          });
      }
    }
    return issues;
  },
  load: () => (require("./restic-component") as typeof import("./restic-component")).Restic,
});
