import { defineSpec, Infer } from "../../components/validate/infer";
import { Issue, joinPath } from "../../components/errors";
import { withComponent } from "../../components/provider";
import { DatabaseRequest } from "./contract";
import { CONTRIB_EXTENSIONS } from "./postgres-sql";

/** Bytes in a `size` setting (`512M`, `64k`, a bare number of bytes). */
function sizeBytes(size: string): number {
  const m = /^(\d+)([kKmMgG]?)$/.exec(size);
  if (!m) throw new Error(`bug: ${size} passed the size format`);
  return (
    Number(m[1]) *
    { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as "" | "k" | "m" | "g"]
  );
}

const RESERVED_DATABASES = ["postgres", "template0", "template1"];

export const postgresSettingsSpec = defineSpec({
  type: "object",
  fields: {
    version: {
      type: "int",
      min: 13,
      max: 17,
      default: 15,
      doc: "major version; picks the default image `postgres:<version>-bookworm` (`psf:images.postgres` overrides it)",
    },
    port: {
      type: "int",
      min: 1,
      max: 65535,
      default: 5432,
      doc: "port the server listens on inside the network (not published on the host)",
    },
    maxConnections: {
      type: "int",
      min: 10,
      max: 10000,
      default: 100,
      doc: "`max_connections`",
    },
    sharedBuffers: {
      type: "string",
      format: "size",
      default: "128M",
      doc: "`shared_buffers` (`512M`, `1G`; a bare number is bytes); at least `128k`",
    },
    extraExtensions: {
      type: "list",
      items: { type: "string", minLength: 1, maxLength: 63 },
      unique: true,
      default: [],
      doc: "extensions the image has beyond contrib, e.g. `[vector]` with `pgvector/pgvector:pg15`",
    },
    dropRemoved: {
      type: "bool",
      default: false,
      doc: "drop a database (and its role) PSF created once no service requests it",
    },
    dataVolume: {
      type: "string",
      format: "label",
      default: "data",
      doc: "name of the data volume (Docker: `psf-<stack>-postgres-<name>`)",
    },
    dataSize: {
      type: "string",
      format: "memory",
      doc: "storage to request where the target provisions it (Kubernetes, e.g. `20Gi`); Docker volumes are not limited",
    },
  },
});

export type PostgresSettings = Infer<typeof postgresSettingsSpec>;

export const postgres = withComponent<DatabaseRequest, PostgresSettings>(
  {
    contract: "database",
    name: "postgres",
    description: "one PostgreSQL server; a role, database and extensions per service",
    images: (settings) => ({ postgres: `postgres:${settings.version}-bookworm` }),
    settings: postgresSettingsSpec,
    checkRequest: (req, path, settings) => {
      const issues: Issue[] = [];
      const offered = [...CONTRIB_EXTENSIONS, ...(settings.extraExtensions ?? [])];
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
            hint: `postgres offers: ${offered.join(", ")}; an image with more (e.g. pgvector/pgvector:pg${settings.version ?? 15} for vector) can list them in providers.database.extraExtensions`,
          });
      });
      return issues;
    },
    checkStack: (settings, stack, requests, path) => {
      const issues: Issue[] = [];
      if (sizeBytes(settings.sharedBuffers) < 128 * 1024)
        issues.push({
          path: joinPath(path, "sharedBuffers"),
          message: `${settings.sharedBuffers} is below PostgreSQL's minimum of 128k`,
          hint: "sharedBuffers: 128M (about a quarter of the server's memory is usual)",
        });
      const owners = new Map<string, string>();
      for (const [requester, r] of Object.entries(requests)) {
        const other = owners.get(r.name);
        if (other === undefined) owners.set(r.name, requester);
        else
          issues.push({
            path: stack.services[requester]
              ? ["needs", "database", "name"].reduce(joinPath, joinPath("services", requester))
              : path,
            message: `database "${r.name}" is already requested by ${other}`,
            hint: "give each service its own database name",
          });
      }
      return issues;
    },
  },
  () => (require("./postgres-component") as typeof import("./postgres-component")).Postgres,
);
