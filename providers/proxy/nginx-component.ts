import * as pulumi from "@pulumi/pulumi";
import { Outputs } from "../../components/contract";
import { ProviderArgs, ProviderInstance } from "../../components/provider";
import { Workload, WorkloadFile } from "../../components/workload";
import { sslContract, sslFiles, sslPems } from "../ssl/contract";
import { LiveCertificates, liveCertificates } from "./live-certificates";
import { CERT_WATCH_SECONDS, certWatchScript } from "./cert-watch";
import { fullChain } from "../ssl/full-chain";
import { ProxyResult, ProxyRoute } from "./contract";
import { NginxSettings, certRequester } from "./nginx";
import { forwardAuthFacts } from "./forward-auth";
import {
  CONTAINER_PATHS,
  HEALTH_PATH,
  certFiles,
  containerListen,
  renderNginxConfig,
  upstreamUrl,
} from "./nginx-config";

const WORKLOAD = "nginx";
/** Test the new config first: a bad one is refused and the running one keeps serving. */
export const RELOAD_COMMAND = ["sh", "-c", "nginx -t && nginx -s reload"];

/**
 * One nginx serving every route: TLS from the ssl contract, HTTP→HTTPS redirects,
 * security headers and forward auth through the SSO. Config changes reload nginx in place.
 */
export class Nginx extends pulumi.ComponentResource implements ProviderInstance {
  readonly results: Record<string, Outputs<ProxyResult>> = {};
  ready: pulumi.Resource[] = [];
  /** The rendered `nginx.conf` (no secrets in it; keys are separate files). */
  readonly config: pulumi.Output<string>;

  constructor(
    name: string,
    args: ProviderArgs<ProxyRoute, NginxSettings>,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("psf:proxy:Nginx", name, {}, opts);
    const { requests } = args;
    // Unset, upstream names are looked up at request time where the target has a DNS server to ask.
    const settings = {
      ...args.settings,
      resolver: args.settings.resolver ?? args.target.nameserver ?? "",
    };
    const { sso, sessionCookie } = forwardAuthFacts("nginx", args);
    const live = liveCertificates(requests, LIVE_ROOT, (requester) => {
      const cert = args.result(sslContract, certRequester(requester));
      if (!cert) throw new Error(`nginx: no ssl result for ${certRequester(requester)}`);
      return sslFiles(cert);
    });
    this.config = pulumi.all([sso, sessionCookie]).apply(([s, cookie]) =>
      renderNginxConfig(requests, settings, {
        paths: CONTAINER_PATHS,
        listen: containerListen(settings),
        sso: s,
        ssoSessionCookie: cookie,
        user: "nginx",
        version: settings.version,
        certFiles: live.certFiles,
      }),
    );

    const files: WorkloadFile[] = [
      { path: CONTAINER_PATHS.config, content: this.config, mode: 0o644 },
    ];
    for (const [requester, route] of Object.entries(requests)) {
      const cert = args.result(sslContract, certRequester(requester));
      if (!cert) throw new Error(`nginx: no ssl result for ${certRequester(requester)}`);
      if (sslFiles(cert)) continue;
      const paths = certFiles(CONTAINER_PATHS, route.host);
      const pems = sslPems(cert, "nginx");
      files.push({ path: paths.cert, content: fullChain(pems.certPem, cert.caPem), mode: 0o644 });
      files.push({
        path: paths.key,
        content: pulumi.secret(pems.keyPem),
        secret: true,
        mode: 0o600,
      });
    }

    this.deployServer(name, { ...args, settings }, files, live);

    for (const [requester, route] of Object.entries(requests))
      this.results[requester] = {
        url: pulumi.output(args.publicUrl(route.host)),
        internalUrl: pulumi.output(upstreamUrl(route)),
      };
    this.registerOutputs({ config: this.config });
  }

  /** nginx itself, publishing its HTTP and HTTPS ports (the target decides how). */
  private deployServer(
    name: string,
    args: ProviderArgs<ProxyRoute, NginxSettings>,
    files: WorkloadFile[],
    live: LiveCertificates,
  ): void {
    const { settings } = args;
    const listen = containerListen(settings);
    const workload: Workload = {
      name: WORKLOAD,
      component: "proxy",
      partOf: name,
      image: args.image("nginx"),
      // The image's own CMD, minus its entrypoint scripts (they edit conf.d, which we do not use);
      // over live certificate files, behind a watcher that reloads nginx when they change.
      command: live.watched.length
        ? ["sh", "-c", liveCommand(live.watched)]
        : ["nginx", "-g", "daemon off;"],
      files,
      // ACME HTTP-01 challenges: a client writes into this volume, nginx serves it on port 80.
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
      // Apps reach public URLs (the SSO's issuer above all) through this nginx, inside the stack.
      aliases: [...new Set(Object.values(args.requests).map((r) => r.host))].sort(),
      stateful: false,
    };
    this.ready = args.target.deploy(workload, { parent: this }).resources;
  }
}

/** Where nginx mounts live certificate volumes. */
export const LIVE_ROOT = "/etc/nginx/psf/live";
export { liveCertificates } from "./live-certificates";

/** nginx in the foreground behind the certificate watcher (cert-watch.ts). */
export function liveCommand(
  files: string[],
  nginx = "nginx",
  intervalSeconds = CERT_WATCH_SECONDS,
) {
  return certWatchScript({
    files,
    intervalSeconds,
    test: `${nginx} -t -q`,
    reload: `${nginx} -s reload`,
    exec: `exec ${nginx} -g 'daemon off;'`,
  });
}
