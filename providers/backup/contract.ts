import { defineSpec, Infer } from "../../components/validate/infer";
import { ContractDefinition } from "../../components/contract";
import { Issue, joinPath } from "../../components/errors";

export interface Retention {
  daily: number;
  weekly: number;
  monthly: number;
  yearly: number;
}

export const DEFAULT_SCHEDULE = "0 3 * * *";
export const DEFAULT_RETENTION: Retention = { daily: 7, weekly: 4, monthly: 12, yearly: 0 };

export interface BackupResult {
  repository: string;
  jobName: string;
  backupCommand: string;
  restoreCommand: string;
  listCommand: string;
  /** Runs a restore drill of the newest run (append a run name for another): exit 0 passed. */
  verifyCommand: string;
  /** Prints the service's last backup and drill records, one JSON object a line. */
  statusCommand: string;
}

const count = { type: "int", min: 0, max: 10000 } as const;
export const retentionSpec = {
  type: "object",
  fields: { daily: count, weekly: count, monthly: count, yearly: count },
} as const;

export const backupRequestSpec = defineSpec({
  type: "object",
  fields: {
    volumes: {
      type: "list",
      items: { type: "string", format: "name" },
      unique: true,
      default: [],
      doc: "whole volumes of the service to back up",
    },
    paths: {
      type: "list",
      items: { type: "string", format: "path" },
      unique: true,
      default: [],
      doc: "paths inside the service's volumes to back up",
    },
    excludes: {
      type: "list",
      items: { type: "string", minLength: 1, maxLength: 1024 },
      unique: true,
      default: [],
      doc: "patterns or paths left out",
    },
    database: {
      type: "bool",
      default: false,
      doc: "stream the service's database dump into each backup",
    },
    schedule: {
      type: "string",
      format: "cron",
      doc: "when this service's job runs; default: the provider's `schedule`",
    },
    retention: { ...retentionSpec, doc: "overrides the provider's `retention` field by field" },
  },
});

/** Scheduled, encrypted backups of a service's volumes, paths and database. */
export type BackupRequest = Infer<typeof backupRequestSpec>;

export const backupContract: ContractDefinition<BackupRequest, BackupResult> = {
  name: "backup",
  description: "scheduled, encrypted backups with retention, and printed restore commands",
  request: backupRequestSpec,
  resultFields: [
    "repository",
    "jobName",
    "backupCommand",
    "restoreCommand",
    "listCommand",
    "verifyCommand",
    "statusCommand",
  ],
  secretFields: [],
  check: (req, ctx) => {
    const issues: Issue[] = [];
    const declared = Object.keys(ctx.service?.volumes ?? {});
    req.volumes.forEach((v, i) => {
      if (ctx.service && !declared.includes(v))
        issues.push({
          path: joinPath(joinPath(ctx.path, "volumes"), i),
          message: `"${v}" is not a volume of this service`,
          hint: declared.length
            ? `declared volumes: ${declared.join(", ")}`
            : `declare it under volumes: {${v}: /path}`,
        });
    });
    // A mount path that failed its own check is reported there.
    const mounts = Object.values(ctx.service?.volumes ?? {}).filter(
      (m): m is string => typeof m === "string",
    );
    req.paths.forEach((p, i) => {
      if (
        ctx.service &&
        !mounts.some((m) => p === m || p.startsWith(m.endsWith("/") ? m : `${m}/`))
      )
        issues.push({
          path: joinPath(joinPath(ctx.path, "paths"), i),
          message: `"${p}" is not inside any volume of this service; only volumes persist`,
          hint: mounts.length
            ? `volume mount paths: ${mounts.join(", ")}`
            : "declare a volume that contains it",
        });
    });
    if (req.database && ctx.service && !ctx.service.needs?.database)
      issues.push({
        path: joinPath(ctx.path, "database"),
        message: "database: true, but the service has no database need",
        hint: "add needs.database, or drop database: true",
      });
    if (ctx.service && req.volumes.length === 0 && req.paths.length === 0 && !req.database)
      issues.push({
        path: ctx.path,
        message: "backs up nothing",
        hint: "list volumes, paths, or set database: true",
      });
    return issues;
  },
  serviceOutputs: (result) => ({
    backupCommand: result?.backupCommand,
    restoreCommand: result?.restoreCommand,
    listCommand: result?.listCommand,
    verifyCommand: result?.verifyCommand,
    backupStatusCommand: result?.statusCommand,
  }),
};
