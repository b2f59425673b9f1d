import { Issue, joinPath } from "../../components/errors";
import { withComponent } from "../../components/provider";
import { BackupRequest } from "./contract";
import { checkCommonStack, commonSettingsFields } from "./job";
import { RESTIC_BACKENDS, RESTIC_SUBSET, ResticSettings } from "./restic-script";

/** restic, bash, cron and postgresql-client on Debian bookworm (see docs/providers/restic.md). */
export const RESTIC_IMAGE = "psf/restic:0.14.0-bookworm";
/** Environment the provider sets itself; settings may not override it. */
const RESERVED_ENV = /^(RESTIC_|PSF_|HOME$|PATH$)/;

export const restic = withComponent<BackupRequest, ResticSettings>(
  {
    contract: "backup",
    name: "restic",
    description:
      "restic: one encrypted, deduplicated repository (local volume or remote backend); a scheduled job per service",
    images: () => ({ restic: RESTIC_IMAGE }),
    workloadsPerRequest: true,
    settings: {
      type: "object",
      fields: {
        ...commonSettingsFields,
        compression: { type: "string", enum: ["auto", "off", "max"], default: "auto" },
        checkReadData: { type: "string", minLength: 2, maxLength: 16, default: "5%" },
        pruneDay: { type: "int", min: 1, max: 28, default: 1 },
        env: {
          type: "map",
          keyFormat: "env",
          values: { type: "string", maxLength: 4096 },
          default: {},
        },
        secretEnv: {
          type: "map",
          keyFormat: "env",
          values: { type: "string", format: "name" },
          default: {},
        },
      },
    },
    reads: (_settings, _stack, requests) =>
      Object.values(requests).some((r) => r.database) ? ["database"] : [],
    checkStack: (settings, stack, requests, path) => {
      const issues: Issue[] = checkCommonStack(
        settings,
        stack.secretNames,
        requests,
        path,
        stack.stackName,
      );
      if (settings.checkReadData && !RESTIC_SUBSET.test(settings.checkReadData))
        issues.push({
          path: joinPath(path, "checkReadData"),
          message: `"${settings.checkReadData}" is not a subset restic check can read`,
          hint: "use a percentage (5%), a part (1/7) or a size (500M)",
        });
      const repo = settings.repository;
      if (repo !== undefined) {
        const backend = repo.split(":")[0];
        if (!repo.includes(":") || !(RESTIC_BACKENDS as readonly string[]).includes(backend))
          issues.push({
            path: joinPath(path, "repository"),
            message: `"${repo}" is not a remote restic repository`,
            hint: `use one of ${RESTIC_BACKENDS.map((b) => `${b}:...`).join(", ")}; leave it out to keep the repository on a volume`,
          });
        if (backend === "sftp" && !settings.sshKey)
          issues.push({
            path: joinPath(path, "sshKey"),
            message: "an sftp repository needs an SSH key",
            hint: "set sshKey to the name of a psf:secrets value holding the private key",
          });
      }
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
  },
  () => (require("./restic-component") as typeof import("./restic-component")).Restic,
);
