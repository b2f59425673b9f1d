import type { StackSettings } from "../../components/config";
import { Issue, joinPath } from "../../components/errors";
import { sizeBytes } from "../../components/validate/formats";
import { DatabaseRequest } from "./contract";
import { sharedDatabaseNames } from "./database-names";
import type { PostgresSettings } from "./postgres";
import { CONTRIB_EXTENSIONS } from "./postgres-sql";

const RESERVED_DATABASES = ["postgres", "template0", "template1"];

/** A request's engine, database and role names, and extensions, against this server. */
export function checkRequest(
  req: DatabaseRequest,
  path: string,
  settings: PostgresSettings,
): Issue[] {
  const issues: Issue[] = [];
  const offered = [...CONTRIB_EXTENSIONS, ...settings.extraExtensions];
  if (req.engine !== "postgres")
    issues.push({
      path: joinPath(path, "engine"),
      message: `the postgres provider serves engine postgres, not ${req.engine}`,
      hint: "drop engine, or choose a provider for it",
    });
  if (RESERVED_DATABASES.includes(req.name))
    issues.push({
      path: joinPath(path, "name"),
      message: `"${req.name}" is PostgreSQL's own database`,
      hint: "set name to another database name",
    });
  else if (req.user === "postgres" || req.user.startsWith("pg_"))
    issues.push({
      path: joinPath(path, "user"),
      message: `"${req.user}" is reserved by PostgreSQL`,
      hint: "set user to a name that is not postgres and does not start with pg_",
    });
  req.extensions.forEach((e, i) => {
    if (!offered.includes(e))
      issues.push({
        path: joinPath(joinPath(path, "extensions"), i),
        message: `unknown extension "${e}"`,
        hint: `postgres offers: ${offered.join(", ")}; an image with more (e.g. pgvector/pgvector:pg${settings.version} for vector) can list them in providers.database.extraExtensions`,
      });
  });
  return issues;
}

/** A database requested twice; shared_buffers below the server's minimum. */
export function checkStack(
  settings: PostgresSettings,
  stack: StackSettings,
  requests: Record<string, DatabaseRequest>,
  path: string,
): Issue[] {
  const issues: Issue[] = [];
  if (sizeBytes(settings.sharedBuffers) < 128 * 1024)
    issues.push({
      path: joinPath(path, "sharedBuffers"),
      message: `${settings.sharedBuffers} is below PostgreSQL's minimum of 128k`,
      hint: "sharedBuffers: 128M (about a quarter of the server's memory is usual)",
    });
  issues.push(...sharedDatabaseNames(stack, requests, path));
  return issues;
}
