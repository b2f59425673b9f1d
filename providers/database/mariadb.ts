import { dataVolumeFields } from "../../components/validate/data-volume";
import { defineSpec, Infer } from "../../components/validate/infer";
import { Issue, joinPath } from "../../components/errors";
import { withComponent } from "../../components/provider";
import { sizeBytes } from "../../components/validate/formats";
import { sharedDatabaseNames } from "./database-names";
import { DatabaseRequest } from "./contract";
import { RESERVED_DATABASES, RESERVED_USERS } from "./mariadb-sql";

export const MARIADB_VERSIONS = ["10.6", "10.11", "11.4", "11.8", "11"] as const;

/** InnoDB refuses a smaller buffer pool (MariaDB 10.6–11). */
const MIN_BUFFER_POOL = 5 * 1024 ** 2;

export const mariadbSettingsSpec = defineSpec({
  type: "object",
  fields: {
    version: {
      type: "string",
      enum: MARIADB_VERSIONS,
      default: "11",
      doc: "release series; picks the default image `mariadb:<version>` (`psf:images.mariadb` overrides it)",
    },
    port: {
      type: "int",
      min: 1,
      max: 65535,
      default: 3306,
      doc: "port the server listens on inside the network (not published on the host)",
    },
    maxConnections: {
      type: "int",
      min: 10,
      max: 100000,
      default: 151,
      doc: "`max_connections`",
    },
    innodbBufferPoolSize: {
      type: "string",
      format: "size",
      default: "128M",
      doc: "`innodb_buffer_pool_size` (`512M`, `1G`; a bare number is bytes); at least `5M`",
    },
    dropRemoved: {
      type: "bool",
      default: false,
      doc: "drop a database (and its user) PSF created once no service requests it",
    },
    ...dataVolumeFields("mariadb", "20Gi"),
  },
});

export type MariadbSettings = Infer<typeof mariadbSettingsSpec>;

export const mariadb = withComponent<DatabaseRequest, MariadbSettings>(
  {
    contract: "database",
    name: "mariadb",
    description: "one MariaDB server; a database and a user per service",
    images: (settings) => ({ mariadb: `mariadb:${settings.version}` }),
    settings: mariadbSettingsSpec,
    checkRequest: (req, path) => {
      const issues: Issue[] = [];
      if (req.engine !== "mariadb")
        issues.push({
          path: joinPath(path, "engine"),
          message: `the mariadb provider serves engine mariadb, not ${req.engine} (engine defaults to postgres)`,
          hint: "set engine: mariadb, or use the postgres provider (providers.database.use: postgres)",
        });
      if (RESERVED_DATABASES.includes(req.name))
        issues.push({
          path: joinPath(path, "name"),
          message: `"${req.name}" is MariaDB's own database`,
          hint: "set name to another database name",
        });
      if (RESERVED_USERS.includes(req.user))
        issues.push({
          path: joinPath(path, "user"),
          message: `"${req.user}" is an account MariaDB or its image makes`,
          hint: `set user to a name other than ${RESERVED_USERS.join(", ")}`,
        });
      req.extensions.forEach((e, i) =>
        issues.push({
          path: joinPath(joinPath(path, "extensions"), i),
          message: `MariaDB has no extensions to create ("${e}")`,
          hint: "remove extensions (they are PostgreSQL's)",
        }),
      );
      return issues;
    },
    checkStack: (settings, stack, requests, path) => {
      const issues: Issue[] = [];
      if (sizeBytes(settings.innodbBufferPoolSize) < MIN_BUFFER_POOL)
        issues.push({
          path: joinPath(path, "innodbBufferPoolSize"),
          message: `${settings.innodbBufferPoolSize} is below InnoDB's minimum of 5M`,
          hint: "innodbBufferPoolSize: 128M (up to about 70% of the server's memory on a dedicated host)",
        });
      issues.push(...sharedDatabaseNames(stack, requests, path));
      return issues;
    },
  },
  () => (require("./mariadb-component") as typeof import("./mariadb-component")).Mariadb,
);
