import * as pulumi from "@pulumi/pulumi";
import { ContractName, ContractResult } from "./contract";
import { ServiceConfig } from "./config";
import { render } from "./interpolate";
import { Deployed, Target } from "./targets/target";
import { Workload } from "./workload";
import { SecureValue } from "./validate/schema";

export interface AppArgs {
  service: ServiceConfig;
  /** The resolved image (after `psf:images` overrides). */
  image: string;
  /** Results of the contracts the service needs. */
  results: Partial<Record<ContractName, ContractResult>>;
  /** Its public URL, when one of its contracts gives it one (the stack's `services` output). */
  url?: pulumi.Output<string>;
  target: Target;
  /**
   * A private CA the app must trust (the stack's self-signed one): mounted in the container,
   * named by SSL_CERT_DIR (Go, next to the system store) and NODE_EXTRA_CA_CERTS (Node.js).
   */
  trustedCaPem?: pulumi.Input<string>;
  /** Values of `secure:` env entries, by env name (already Pulumi secrets). */
  secureEnv?: Record<string, pulumi.Output<string>>;
  /** Treat every env value as secret (its config key was encrypted as a whole). */
  allEnvSecret?: boolean;
  /** Secret result fields per contract: a value embedding one is a secret. */
  secretFields: Partial<Record<ContractName, readonly string[]>>;
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * One service of the stack: its container, with env interpolated from contract results
 * (`{{ database.url }}`), its volumes, network alias and health check.
 */
export class App extends pulumi.ComponentResource {
  /** Public URL, when the service has one. */
  readonly url?: pulumi.Output<string>;
  /** Address other workloads use. */
  readonly address: string;
  readonly deployed: Deployed;

  constructor(name: string, args: AppArgs, opts?: pulumi.ComponentResourceOptions) {
    super("psf:app:App", name, {}, opts);
    const { service } = args;
    const env: Record<string, pulumi.Input<string>> = {};
    const secretEnv: Record<string, pulumi.Input<string>> = {};
    for (const [key, value] of Object.entries(service.env)) {
      if (value instanceof SecureValue) {
        const v = args.secureEnv?.[key];
        if (v) secretEnv[key] = v;
        continue;
      }
      const rendered = render(String(value), args.results);
      // Secretness follows the inputs: a value embedding a secret result is a secret.
      const secret = args.allEnvSecret || isSecretTemplate(String(value), args.secretFields);
      if (secret) secretEnv[key] = pulumi.secret(rendered);
      else env[key] = rendered;
    }
    const trust = args.trustedCaPem ? trustFiles(args.trustedCaPem) : undefined;
    const workload: Workload = {
      name,
      component: "app",
      partOf: name,
      image: args.image,
      args: service.command,
      // The service's own env wins over the trust settings.
      env: { ...trust?.env, ...env },
      secretEnv,
      files: trust?.files,
      volumes: Object.entries(service.volumes).map(([vol, mountPath]) => ({
        volume: { owner: name, name: vol },
        mountPath,
      })),
      ports: [
        ...(service.port !== undefined ? [{ name: "http", containerPort: service.port }] : []),
        ...service.publish.map((p, i) => ({
          name: `pub${i}`,
          containerPort: p.container,
          hostPort: p.host,
          hostAddress: p.address,
        })),
      ],
      healthcheck: service.healthcheck && {
        http: service.healthcheck.http
          ? { path: service.healthcheck.http, port: service.port! }
          : undefined,
        command: service.healthcheck.command,
        intervalSeconds: service.healthcheck.interval,
        timeoutSeconds: service.healthcheck.timeout,
        retries: service.healthcheck.retries,
        startPeriodSeconds: service.healthcheck.startPeriod,
      },
      stateful: false,
      replicas: service.replicas,
      resources: service.resources,
    };
    this.deployed = args.target.deploy(workload, { parent: this, dependsOn: args.dependsOn });
    this.address = this.deployed.address;
    this.url = args.url;
    this.registerOutputs({ url: this.url, address: this.address });
  }
}

/** Where an app finds the stack CA. */
export const TRUSTED_CA_DIR = "/etc/psf/ca";

function trustFiles(caPem: pulumi.Input<string>): {
  files: Workload["files"];
  env: Record<string, string>;
} {
  const file = `${TRUSTED_CA_DIR}/psf-ca.pem`;
  return {
    files: [{ path: file, content: caPem, mode: 0o644 }],
    env: { SSL_CERT_DIR: `${TRUSTED_CA_DIR}:/etc/ssl/certs`, NODE_EXTRA_CA_CERTS: file },
  };
}

/** Whether a template embeds a secret contract field (known statically from the contract). */
function isSecretTemplate(template: string, secretFields: AppArgs["secretFields"]): boolean {
  for (const [, contract, field] of template.matchAll(/\{\{\s*([a-z]+)\.([A-Za-z]+)\s*\}\}/g)) {
    if (secretFields[contract as ContractName]?.includes(field)) return true;
  }
  return false;
}
