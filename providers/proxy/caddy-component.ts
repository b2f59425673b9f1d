import * as pulumi from "@pulumi/pulumi";
import { Outputs } from "../../components/contract";
import { ProviderArgs, ProviderInstance } from "../../components/provider";
import { Workload, WorkloadFile } from "../../components/workload";
import { sslContract, sslFiles, sslPems } from "../ssl/contract";
import { CERT_WATCH_SECONDS, certWatchScript } from "./cert-watch";
import { liveCertificates } from "./live-certificates";
import { fullChain } from "../ssl/full-chain";
import { CaddySettings, certRequester } from "./caddy";
import { forwardAuthFacts } from "./forward-auth";
import {
  CONTAINER_ADMIN,
  CONTAINER_PATHS,
  HEALTH_PATH,
  certFiles,
  containerListen,
  renderCaddyConfig,
  upstreamUrl,
} from "./caddy-config";
import { ProxyResult, ProxyRoute } from "./contract";

const WORKLOAD = "caddy";
/**
 * Caddy loads the new config beside the running one and switches over: open connections
 * (websockets, long downloads) finish on the old one. A config it refuses changes nothing.
 */
export const RELOAD_COMMAND = ["caddy", "reload", "--config", CONTAINER_PATHS.config];

/**
 * One Caddy serving every route: TLS from the ssl contract (Caddy's own automatic HTTPS off),
 * HTTP→HTTPS redirects, security headers and forward auth through the SSO. Config changes
 * reload Caddy in place.
 */
export class Caddy extends pulumi.ComponentResource implements ProviderInstance {
  readonly results: Record<string, Outputs<ProxyResult>> = {};
  ready: pulumi.Resource[] = [];
  /** The rendered `caddy.json` (no secrets in it; keys are separate files). */
  readonly config: pulumi.Output<string>;

  constructor(
    name: string,
    args: ProviderArgs<ProxyRoute, CaddySettings>,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("psf:proxy:Caddy", name, {}, opts);
    const { requests, settings } = args;
    const { sso, sessionCookie } = forwardAuthFacts("caddy", args);
    const listen = containerListen(settings);
    const live = liveCertificates(requests, LIVE_ROOT, (requester) => {
      const cert = args.result(sslContract, certRequester(requester));
      if (!cert) throw new Error(`caddy: no ssl result for ${certRequester(requester)}`);
      return sslFiles(cert);
    });
    this.config = pulumi.all([sso, sessionCookie]).apply(([s, cookie]) =>
      renderCaddyConfig(requests, settings, {
        paths: CONTAINER_PATHS,
        listen,
        admin: CONTAINER_ADMIN,
        sso: s,
        ssoSessionCookie: cookie,
        certFiles: live.certFiles,
      }),
    );

    const files: WorkloadFile[] = [
      { path: CONTAINER_PATHS.config, content: this.config, mode: 0o644 },
    ];
    for (const [requester, route] of Object.entries(requests)) {
      const cert = args.result(sslContract, certRequester(requester));
      if (!cert) throw new Error(`caddy: no ssl result for ${certRequester(requester)}`);
      if (sslFiles(cert)) continue;
      const paths = certFiles(CONTAINER_PATHS, route.host);
      const pems = sslPems(cert, "caddy");
      files.push({ path: paths.cert, content: fullChain(pems.certPem, cert.caPem), mode: 0o644 });
      files.push({
        path: paths.key,
        content: pulumi.secret(pems.keyPem),
        secret: true,
        mode: 0o600,
      });
    }

    const workload: Workload = {
      name: WORKLOAD,
      component: "proxy",
      partOf: name,
      image: args.image("caddy"),
      // Over live certificate files, behind a watcher that reloads Caddy when they change.
      command: live.watched.length
        ? ["sh", "-c", liveCommand(live.watched)]
        : ["caddy", "run", "--config", CONTAINER_PATHS.config],
      files,
      // ACME HTTP-01 challenges: a client writes into this volume, Caddy serves it on port 80.
      volumes: [
        {
          volume: live.challenges ?? { owner: WORKLOAD, name: "acme" },
          mountPath: CONTAINER_PATHS.acmeRoot,
          readOnly: true,
        },
        ...live.mounts,
      ],
      ports: [
        {
          name: "http",
          containerPort: listen.http,
          hostPort: settings.httpPort,
          hostAddress: settings.listenAddress,
        },
        {
          name: "https",
          containerPort: listen.https,
          hostPort: settings.httpsPort,
          hostAddress: settings.listenAddress,
        },
      ],
      healthcheck: {
        http: { path: HEALTH_PATH, port: listen.health },
        intervalSeconds: 10,
        timeoutSeconds: 5,
        retries: 3,
        startPeriodSeconds: 5,
      },
      reloadCommand: RELOAD_COMMAND,
      // Apps reach public URLs (the SSO's issuer above all) through this Caddy, inside the stack.
      aliases: [...new Set(Object.values(requests).map((r) => r.host))].sort(),
      stateful: false,
    };
    this.ready = args.target.deploy(workload, { parent: this }).resources;

    for (const [requester, route] of Object.entries(requests))
      this.results[requester] = {
        url: pulumi.output(args.publicUrl(route.host)),
        internalUrl: pulumi.output(upstreamUrl(route)),
      };
    this.registerOutputs({ config: this.config });
  }
}

/** Where Caddy mounts live certificate volumes. */
export const LIVE_ROOT = "/etc/caddy/psf/live";

/** Caddy in the foreground behind the certificate watcher (cert-watch.ts). */
export function liveCommand(
  files: string[],
  caddy = "caddy",
  config = CONTAINER_PATHS.config,
  intervalSeconds = CERT_WATCH_SECONDS,
) {
  return certWatchScript({
    files,
    intervalSeconds,
    test: `${caddy} validate --config ${config} >/dev/null 2>&1`,
    // Unchanged config: without --force Caddy skips the reload, and the old certificate stays.
    reload: `${caddy} reload --config ${config} --force`,
    exec: `exec ${caddy} run --config ${config}`,
  });
}
