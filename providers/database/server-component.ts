import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { Outputs } from "../../components/contract";
import { ProviderArgs, ProviderInstance } from "../../components/provider";
import { provisionedServerWorkload } from "../../components/provisioned-server";
import { ServerScripts } from "../../components/server-lifecycle";
import { WorkloadFile } from "../../components/workload";
import { DatabaseDump, DatabaseRequest, DatabaseResult } from "./contract";
import { dumpEnvOf } from "./login-env";
import { userPasswords } from "./user-passwords";

/** The settings every database server provider has. */
export interface ServerSettings {
  port: number;
  dataVolume: string;
  dataSize?: string;
}

/** What one engine (PostgreSQL, MariaDB) puts into the server shape {@link DatabaseServer} builds. */
export interface DatabaseEngine {
  /** The workload's name, its image's key and its volume's owner. */
  server: string;
  /** Where the image keeps its data; the data volume mounts there. */
  dataDir: string;
  /** The scheme of the URL apps get (`postgresql`, `mysql`). */
  urlScheme: string;
  /** The superuser's password: its resource, `<name>-<resource>`, and the env the image reads. */
  superuser: { resource: string; env: string };
  scripts: ServerScripts;
  args: string[];
  env: Record<string, string>;
  /** Where the provisioning goes, and what it is given every user's password. */
  provisionFile: string;
  provision(passwords: Record<string, string>): string | Promise<string>;
  /** Files beside the provisioning, given every user's password. */
  files?(passwords: Record<string, pulumi.Output<string>>): WorkloadFile[];
  /** Inside the server: one database's dump to stdout, and its restore from stdin. */
  dumpScript(r: DatabaseRequest): string;
  restoreScript(r: DatabaseRequest): string;
  /** How a backup job dumps and restores over the network. */
  dump: DatabaseDump;
}

/**
 * One database server with a database and a user per requesting service: a generated superuser
 * password, a generated password per user, a secret provisioning file, and per request the
 * contract's results.
 */
export class DatabaseServer extends pulumi.ComponentResource implements ProviderInstance {
  readonly results: Record<string, Outputs<DatabaseResult>> = {};
  readonly ready: pulumi.Resource[];
  /** Where other workloads reach the server. */
  readonly address: string;

  constructor(
    type: string,
    name: string,
    args: ProviderArgs<DatabaseRequest, ServerSettings>,
    engine: DatabaseEngine,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super(type, name, {}, opts);
    const { settings } = args;
    const requests = Object.values(args.requests);
    const superuser = new random.RandomPassword(
      `${name}-${engine.superuser.resource}`,
      { length: 32, special: false },
      { parent: this },
    );
    const passwords = userPasswords(name, requests, this);
    const script = pulumi.secret(pulumi.all(passwords).apply((pw) => engine.provision(pw)));

    const deployed = args.target.deploy(
      provisionedServerWorkload({
        name: engine.server,
        component: "database",
        partOf: name,
        image: args.image(engine.server),
        scripts: engine.scripts,
        args: engine.args,
        env: engine.env,
        secretEnv: { [engine.superuser.env]: pulumi.secret(superuser.result) },
        files: [
          { path: engine.provisionFile, content: script, secret: true, mode: 0o600 },
          ...(engine.files?.(passwords) ?? []),
        ],
        data: { volume: settings.dataVolume, mountPath: engine.dataDir, size: settings.dataSize },
        port: { name: engine.server, containerPort: settings.port },
      }),
      { parent: this },
    );
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
          pulumi.interpolate`${engine.urlScheme}://${r.user}:${password.apply(encodeURIComponent)}@${deployed.address}:${settings.port}/${r.name}`,
        ),
        dumpCommand: deployed.exec(["sh", "-c", engine.dumpScript(r)]),
        restoreCommand: deployed.exec(["sh", "-c", engine.restoreScript(r)], { stdin: true }),
        // A backup job reaches the server over the network, as the database's own user.
        dump: pulumi.output(engine.dump),
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
