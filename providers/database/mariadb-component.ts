import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { Outputs } from "../../components/contract";
import { ProviderArgs, ProviderInstance } from "../../components/provider";
import { Workload } from "../../components/workload";
import { userPasswords } from "./user-passwords";
import { DatabaseRequest, DatabaseResult } from "./contract";
import { dumpEnvOf } from "./login-env";
import type { MariadbSettings } from "./mariadb";
import {
  DUMP_SCRIPT,
  MARIADB_DUMP,
  RESTORE_SCRIPT,
  SERVER_PATHS,
  ServerPaths,
  clientEnvFile,
  healthScript,
  provisionScript,
  reloadScript,
  serverArgs,
  startScript,
  withClientEnv,
} from "./mariadb-server";
import { provisioningSql } from "./mariadb-sql";

const SERVER = "mariadb";
const DATA_DIR = "/var/lib/mysql";

/** One MariaDB server with a database and a user per requesting service. */
export class Mariadb extends pulumi.ComponentResource implements ProviderInstance {
  readonly results: Record<string, Outputs<DatabaseResult>> = {};
  readonly ready: pulumi.Resource[];
  /** Where other workloads reach the server. */
  readonly address: string;

  constructor(
    name: string,
    args: ProviderArgs<DatabaseRequest, MariadbSettings>,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("psf:database:Mariadb", name, {}, opts);
    const { settings } = args;
    const paths: ServerPaths = { ...SERVER_PATHS, port: settings.port };
    const requests = Object.values(args.requests);
    const superuser = new random.RandomPassword(
      `${name}-root-password`,
      { length: 32, special: false },
      { parent: this },
    );
    const passwords = userPasswords(name, requests, this);
    const script = pulumi.secret(
      pulumi
        .all(passwords)
        .apply((pw) =>
          provisionScript(
            paths,
            provisioningSql(requests, pw, { dropRemoved: settings.dropRemoved }),
            requests,
          ),
        ),
    );
    // The dump, restore and initSql commands connect as the database's user, from this env.
    const clientFiles = requests.map((r) => ({
      path: `${paths.clientDir}/${r.name}.env`,
      content: pulumi.secret(passwords[r.user].apply((pw) => clientEnvFile(r, pw, settings.port))),
      secret: true,
      mode: 0o600,
    }));

    const workload: Workload = {
      name: SERVER,
      component: "database",
      partOf: name,
      image: args.image("mariadb"),
      command: ["bash", "-c", startScript(paths), "psf-mariadb"],
      args: serverArgs(settings),
      // The root account answers on loopback only; apps get their own users.
      env: { MARIADB_ROOT_HOST: "127.0.0.1" },
      secretEnv: { MARIADB_ROOT_PASSWORD: pulumi.secret(superuser.result) },
      files: [
        { path: paths.provisionFile, content: script, secret: true, mode: 0o600 },
        ...clientFiles,
      ],
      volumes: [
        {
          volume: { owner: SERVER, name: settings.dataVolume },
          mountPath: DATA_DIR,
          size: settings.dataSize,
        },
      ],
      ports: [{ name: "mariadb", containerPort: settings.port }],
      healthcheck: {
        command: ["sh", "-c", healthScript(paths)],
        intervalSeconds: 5,
        timeoutSeconds: 5,
        retries: 12,
        startPeriodSeconds: 10,
      },
      // A changed script is applied to the running server; no restart.
      reloadCommand: ["sh", "-c", reloadScript(paths)],
      stateful: true,
    };
    const deployed = args.target.deploy(workload, { parent: this });
    this.address = deployed.address;
    this.ready = deployed.resources;

    for (const [requester, r] of Object.entries(args.requests)) {
      const password = passwords[r.user];
      this.results[requester] = {
        host: pulumi.output(deployed.address),
        port: pulumi.output(settings.port),
        database: pulumi.output(r.name),
        user: pulumi.output(r.user),
        password,
        url: pulumi.secret(
          pulumi.interpolate`mysql://${r.user}:${password.apply(encodeURIComponent)}@${deployed.address}:${settings.port}/${r.name}`,
        ),
        dumpCommand: deployed.exec(["sh", "-c", withClientEnv(paths, r.name, DUMP_SCRIPT)]),
        restoreCommand: deployed.exec(["sh", "-c", withClientEnv(paths, r.name, RESTORE_SCRIPT)], {
          stdin: true,
        }),
        // A backup job reaches the server over the network, as the database's user.
        dump: pulumi.output(MARIADB_DUMP),
        dumpEnv: pulumi.secret(
          pulumi.all([deployed.address, password]).apply(([host, pw]) =>
            dumpEnvOf({
              host,
              port: settings.port,
              database: r.name,
              user: r.user,
              password: pw,
            }),
          ),
        ),
      };
    }
    this.registerOutputs({ address: this.address });
  }
}
