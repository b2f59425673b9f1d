import { dataVolumeFields } from "../../components/validate/data-volume";
import { defineSpec, Infer } from "../../components/validate/infer";
import { withComponent } from "../../components/provider";
import { DatabaseRequest } from "./contract";
import { checkRequest, checkStack } from "./postgres-checks";

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
    ...dataVolumeFields("postgres", "20Gi"),
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
    checkRequest,
    checkStack,
  },
  () => (require("./postgres-component") as typeof import("./postgres-component")).Postgres,
);
