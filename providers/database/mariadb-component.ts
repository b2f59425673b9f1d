import * as pulumi from "@pulumi/pulumi";
import { ProviderArgs } from "../../components/provider";
import { DatabaseRequest } from "./contract";
import type { MariadbSettings } from "./mariadb";
import { DUMP_SCRIPT, MARIADB_DUMP, RESTORE_SCRIPT } from "./mariadb-dump";
import {
  SERVER_PATHS,
  ServerPaths,
  clientEnvFile,
  mariadbScripts,
  provisionScript,
  serverArgs,
  withClientEnv,
} from "./mariadb-server";
import { provisioningSql } from "./mariadb-sql";
import { DatabaseServer } from "./server-component";

/** One MariaDB server with a database and a user per requesting service. */
export class Mariadb extends DatabaseServer {
  constructor(
    name: string,
    args: ProviderArgs<DatabaseRequest, MariadbSettings>,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    const { settings } = args;
    const paths: ServerPaths = { ...SERVER_PATHS, port: settings.port };
    const requests = Object.values(args.requests);
    super(
      "psf:database:Mariadb",
      name,
      args,
      {
        server: "mariadb",
        dataDir: "/var/lib/mysql",
        urlScheme: "mysql",
        superuser: { resource: "root-password", env: "MARIADB_ROOT_PASSWORD" },
        scripts: mariadbScripts(paths),
        args: serverArgs(settings),
        // The root account answers on loopback only; apps get their own users.
        env: { MARIADB_ROOT_HOST: "127.0.0.1" },
        provisionFile: paths.provisionFile,
        provision: (pw) =>
          provisionScript(
            paths,
            provisioningSql(requests, pw, { dropRemoved: settings.dropRemoved }),
            requests,
          ),
        // The dump, restore and initSql commands connect as the database's user, from this env.
        files: (passwords) =>
          requests.map((r) => ({
            path: `${paths.clientDir}/${r.name}.env`,
            content: pulumi.secret(
              passwords[r.user].apply((pw) => clientEnvFile(r, pw, settings.port)),
            ),
            secret: true,
            mode: 0o600,
          })),
        dumpScript: (r) => withClientEnv(paths, r.name, DUMP_SCRIPT),
        restoreScript: (r) => withClientEnv(paths, r.name, RESTORE_SCRIPT),
        dump: MARIADB_DUMP,
      },
      opts,
    );
  }
}
