import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { Outputs } from "../../components/contract";
import { ProviderArgs, ProviderInstance } from "../../components/provider";
import { Workload } from "../../components/workload";
import { userPasswords } from "./user-passwords";
import { DatabaseRequest, DatabaseResult } from "./contract";
import type { PostgresSettings } from "./postgres";
import {
  SERVER_PATHS,
  ServerPaths,
  dumpScript,
  healthScript,
  reloadScript,
  restoreScript,
  serverArgs,
  startScript,
} from "./postgres-server";
import { dumpEnvOf } from "./login-env";
import { POSTGRES_DUMP } from "./postgres-dump";
import { placeholder, planning } from "../../components/plan-placeholders";
import { provisioningSql, scramVerifiers } from "./postgres-sql";

const SERVER = "postgres";
const DATA_DIR = "/var/lib/postgresql/data";

/** One PostgreSQL server with a role, database and extensions per requesting service. */
export class Postgres extends pulumi.ComponentResource implements ProviderInstance {
  readonly results: Record<string, Outputs<DatabaseResult>> = {};
  readonly ready: pulumi.Resource[];
  /** Where other workloads reach the server. */
  readonly address: string;

  constructor(
    name: string,
    args: ProviderArgs<DatabaseRequest, PostgresSettings>,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("psf:database:Postgres", name, {}, opts);
    const { settings } = args;
    const paths: ServerPaths = { ...SERVER_PATHS, port: settings.port };
    const requests = Object.values(args.requests);
    const superuser = new random.RandomPassword(
      `${name}-superuser-password`,
      { length: 32, special: false },
      { parent: this },
    );
    const passwords = userPasswords(name, requests, this);
    const provision = async (pw: Record<string, string>) => {
      const verifiers = planning()
        ? Object.fromEntries(Object.keys(pw).map((u) => [u, placeholder("SCRAM-SHA-256 verifier")]))
        : await scramVerifiers(pw);
      return provisioningSql(requests, pw, { dropRemoved: settings.dropRemoved, verifiers });
    };
    const script = pulumi.secret(pulumi.all(passwords).apply(provision));

    const workload: Workload = {
      name: SERVER,
      component: "database",
      partOf: name,
      image: args.image("postgres"),
      command: ["bash", "-c", startScript(paths), "psf-postgres"],
      args: serverArgs(settings, requests),
      env: { PGDATA: `${DATA_DIR}/pgdata` },
      secretEnv: { POSTGRES_PASSWORD: pulumi.secret(superuser.result) },
      files: [{ path: paths.provisionFile, content: script, secret: true, mode: 0o600 }],
      volumes: [
        {
          volume: { owner: SERVER, name: settings.dataVolume },
          mountPath: DATA_DIR,
          size: settings.dataSize,
        },
      ],
      ports: [{ name: "postgres", containerPort: settings.port }],
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
          pulumi.interpolate`postgresql://${r.user}:${password.apply(encodeURIComponent)}@${deployed.address}:${settings.port}/${r.name}`,
        ),
        dumpCommand: deployed.exec(["sh", "-c", dumpScript(r.name, settings.port)]),
        restoreCommand: deployed.exec(["sh", "-c", restoreScript(r.name, r.user, settings.port)], {
          stdin: true,
        }),
        // A backup job reaches the server over the network, as the database's owner.
        dump: pulumi.output(POSTGRES_DUMP),
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
