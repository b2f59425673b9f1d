import * as pulumi from "@pulumi/pulumi";
import { ContractResult } from "../../components/contract";
import { ProviderArgs, ProviderInstance } from "../../components/provider";
import { VolumeRef, Workload, WorkloadFile } from "../../components/workload";
import { SslFiles, SslRequest } from "./contract";
import { AcmeSettings, acmeCertificates, directoryUrl } from "./acme";
import { ACME_SCRIPT } from "./acme-script";

const WORKLOAD = "acme";
/** certbot's account, keys and lineages: kept across `up`s (a new account per up would hit rate limits). */
const STATE: VolumeRef = { owner: WORKLOAD, name: "state" };
/** The certificates as served: `<name>.crt` (full chain) and `<name>.key`; the proxy mounts it read-only. */
const LIVE: VolumeRef = { owner: WORKLOAD, name: "live" };
/** HTTP-01 challenge files, which the proxy serves on its HTTP port. */
const CHALLENGES: VolumeRef = { owner: WORKLOAD, name: "challenges" };

const DIR = "/etc/psf-acme";
export const ACME_PATHS = {
  script: `${DIR}/run.sh`,
  certs: `${DIR}/certificates`,
  credentials: `${DIR}/rfc2136.ini`,
  ca: `${DIR}/ca.pem`,
  config: "/etc/letsencrypt",
  work: "/var/lib/psf-acme/work",
  live: "/var/lib/psf-acme/live",
  webroot: "/var/www/acme",
};

/** Where the proxy finds certificate `name` (and, for HTTP-01, the challenges to serve). */
export function acmeFiles(name: string, challenge: AcmeSettings["challenge"]): SslFiles {
  return {
    volume: LIVE,
    certPath: `${name}.crt`,
    keyPath: `${name}.key`,
    challenges: challenge === "http-01" ? CHALLENGES : undefined,
  };
}

/** certbot's RFC 2136 credentials file (dns_rfc2136_*), with the TSIG secret. */
export function rfc2136Credentials(dns: NonNullable<AcmeSettings["dns"]>, secret: string): string {
  return [
    `dns_rfc2136_server = ${dns.nameserver}`,
    `dns_rfc2136_port = ${dns.port}`,
    `dns_rfc2136_name = ${dns.tsigKeyName}`,
    `dns_rfc2136_secret = ${secret}`,
    `dns_rfc2136_algorithm = ${dns.tsigAlgorithm.toUpperCase()}`,
    "",
  ].join("\n");
}

/** The environment of the client loop (acme-script.ts), paths as in `paths`. */
export function acmeEnv(
  settings: AcmeSettings,
  directory: string,
  paths: typeof ACME_PATHS,
): Record<string, string> {
  return {
    PSF_ACME_CERTS: paths.certs,
    PSF_ACME_CONFIG_DIR: paths.config,
    PSF_ACME_WORK_DIR: paths.work,
    PSF_ACME_LIVE: paths.live,
    PSF_ACME_WEBROOT: paths.webroot,
    PSF_ACME_SERVER: directory,
    PSF_ACME_EMAIL: settings.email,
    PSF_ACME_CHALLENGE: settings.challenge,
    PSF_ACME_DNS_CREDENTIALS: paths.credentials,
    PSF_ACME_PROPAGATION: String(settings.dns?.propagationSeconds ?? 60),
    PSF_ACME_CA: settings.caPem ? paths.ca : "",
    PSF_ACME_RENEW_BEFORE: String(settings.renewBeforeDays * 86400),
    PSF_ACME_INTERVAL: String(settings.checkIntervalMinutes * 60),
    PSF_ACME_SETTLE: "15",
    PSF_ACME_RETRY: "300",
    PSF_ACME_ONCE: "0",
  };
}

/**
 * Certificates from an ACME CA, kept by certbot in a workload of their own: it issues what is
 * missing, renews what expires within `renewBeforeDays`, and keeps the served files in a volume
 * the proxy mounts; the proxy reloads when they change. Nothing of the certificates is in Pulumi
 * state: the results are where the files are.
 */
export class Acme extends pulumi.ComponentResource implements ProviderInstance {
  readonly results: Record<string, ContractResult> = {};
  ready: pulumi.Resource[] = [];

  constructor(
    name: string,
    args: ProviderArgs<SslRequest, AcmeSettings>,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("psf:ssl:Acme", name, {}, opts);
    const { settings } = args;
    const { certificates, byRequester } = acmeCertificates(
      args.requests,
      settings,
      args.stack.domain,
    );
    const files: WorkloadFile[] = [
      { path: ACME_PATHS.script, content: ACME_SCRIPT, mode: 0o755 },
      {
        path: ACME_PATHS.certs,
        content: certificates.map((c) => `${c.name} ${c.domains.join(",")}\n`).join(""),
        mode: 0o644,
      },
    ];
    if (settings.caPem) files.push({ path: ACME_PATHS.ca, content: settings.caPem, mode: 0o644 });
    if (settings.challenge === "dns-01" && settings.dns) {
      const secret = args.configSecret(settings.dns.tsigSecret);
      if (!secret)
        throw new Error(
          `bug: psf:secrets.${settings.dns.tsigSecret} passed validation but is missing`,
        );
      const dns = settings.dns;
      files.push({
        path: ACME_PATHS.credentials,
        content: pulumi.secret(secret.apply((s) => rfc2136Credentials(dns, s))),
        secret: true,
        mode: 0o600,
      });
    }
    const workload: Workload = {
      name: WORKLOAD,
      component: "ssl",
      partOf: name,
      image: args.image("certbot"),
      command: ["sh", ACME_PATHS.script],
      env: acmeEnv(settings, directoryUrl(settings, args.stack), ACME_PATHS),
      files,
      volumes: [
        { volume: STATE, mountPath: ACME_PATHS.config },
        { volume: LIVE, mountPath: ACME_PATHS.live },
        { volume: CHALLENGES, mountPath: ACME_PATHS.webroot },
      ],
      // Healthy once every certificate has its files (a placeholder at first): the proxy can start.
      healthcheck: {
        command: [
          "sh",
          "-c",
          certificates
            .map(
              (c) =>
                `test -s ${ACME_PATHS.live}/${c.name}.crt -a -s ${ACME_PATHS.live}/${c.name}.key`,
            )
            .join(" && ") || "true",
        ],
        intervalSeconds: 10,
        timeoutSeconds: 5,
        retries: 3,
        startPeriodSeconds: 10,
      },
      stateful: true,
    };
    this.ready = args.target.deploy(workload, { parent: this }).resources;

    for (const requester of Object.keys(args.requests))
      // `files` is a plain value beside the Outputs (contract.ts, sslFiles).
      this.results[requester] = {
        files: acmeFiles(byRequester[requester], settings.challenge),
      } as unknown as ContractResult;
    this.registerOutputs({});
  }
}
