import * as pulumi from "@pulumi/pulumi";
import { ProviderArgs } from "../../components/provider";
import { placeholder, planning } from "../../components/plan-placeholders";
import { DatabaseRequest } from "./contract";
import type { PostgresSettings } from "./postgres";
import { POSTGRES_DUMP } from "./postgres-dump";
import {
  SERVER_PATHS,
  ServerPaths,
  dumpScript,
  postgresScripts,
  restoreScript,
  serverArgs,
} from "./postgres-server";
import { provisioningSql, scramVerifiers } from "./postgres-sql";
import { DatabaseServer } from "./server-component";

const DATA_DIR = "/var/lib/postgresql/data";

/** One PostgreSQL server with a role, database and extensions per requesting service. */
export class Postgres extends DatabaseServer {
  constructor(
    name: string,
    args: ProviderArgs<DatabaseRequest, PostgresSettings>,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    const { settings } = args;
    const paths: ServerPaths = { ...SERVER_PATHS, port: settings.port };
    const requests = Object.values(args.requests);
    super(
      "psf:database:Postgres",
      name,
      args,
      {
        server: "postgres",
        dataDir: DATA_DIR,
        urlScheme: "postgresql",
        superuser: { resource: "superuser-password", env: "POSTGRES_PASSWORD" },
        scripts: postgresScripts(paths),
        args: serverArgs(settings, requests),
        env: { PGDATA: `${DATA_DIR}/pgdata` },
        provisionFile: paths.provisionFile,
        // `psf plan` does not stretch mock passwords into SCRAM verifiers: placeholders stand in.
        provision: async (pw) => {
          const verifiers = planning()
            ? Object.fromEntries(
                Object.keys(pw).map((u) => [u, placeholder("SCRAM-SHA-256 verifier")]),
              )
            : await scramVerifiers(pw);
          return provisioningSql(requests, pw, { dropRemoved: settings.dropRemoved, verifiers });
        },
        dumpScript: (r) => dumpScript(r.name, settings.port),
        restoreScript: (r) => restoreScript(r.name, r.user, settings.port),
        dump: POSTGRES_DUMP,
      },
      opts,
    );
  }
}
