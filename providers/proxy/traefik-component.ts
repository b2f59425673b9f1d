import * as pulumi from "@pulumi/pulumi";
import { Outputs } from "../../components/contract";
import { ProviderArgs, ProviderInstance } from "../../components/provider";
import { shellQuote } from "../../components/shell";
import { Workload, WorkloadFile } from "../../components/workload";
import { sslContract, sslPems } from "../ssl/contract";
import { ProxyResult, ProxyRoute } from "./contract";
import { fullChain } from "../ssl/full-chain";
import { forwardAuthFacts } from "./forward-auth";
import { TraefikSettings, certRequester } from "./traefik";
import {
  CONTAINER_PATHS,
  DYNAMIC_FILE,
  HEALTH_PATH,
  TraefikPaths,
  certKeyFile,
  containerListen,
  pluginFiles,
  renderDynamicConfig,
  renderStaticConfig,
  upstreamUrl,
} from "./traefik-config";

const WORKLOAD = "traefik";
/** The dynamic config as PSF writes it; the reload moves a copy into the watched directory. */
export const STAGED_DYNAMIC = `${CONTAINER_PATHS.home}/${DYNAMIC_FILE}`;

/**
 * Puts the staged dynamic config into the watched directory in one rename: Traefik never reads
 * a half-written file (which could load as no routes at all), and loads the new one beside open
 * connections, which carry on. A plain `sh` command (busybox or Alpine's).
 */
export function installDynamic(paths: TraefikPaths): string[] {
  const next = `${paths.home}/.${DYNAMIC_FILE}.next`;
  const target = `${paths.dynamicDir}/${DYNAMIC_FILE}`;
  return [
    "sh",
    "-c",
    `mkdir -p ${shellQuote(paths.dynamicDir)} && cp ${shellQuote(`${paths.home}/${DYNAMIC_FILE}`)} ${shellQuote(next)} && mv ${shellQuote(next)} ${shellQuote(target)}`,
  ];
}
export const RELOAD_COMMAND = installDynamic(CONTAINER_PATHS);

/**
 * What the container runs: writes what Traefik reads only at start (its static config and PSF's
 * plugin source, which a changed command therefore always brings: a replaced container may
 * start with older files), installs the dynamic config, and runs Traefik in its home, where it
 * finds local plugins.
 */
export function bootScript(staticConfig: string, paths: TraefikPaths): string {
  const files = [{ path: paths.static, content: staticConfig }, ...pluginFiles(paths)];
  const dirs = [...new Set(files.map((f) => f.path.replace(/\/[^/]+$/, "")))];
  const lines = ["set -e", `mkdir -p ${dirs.map(shellQuote).join(" ")}`];
  for (const f of files) {
    if (/^PSF_EOF$/m.test(f.content)) throw new Error(`traefik: ${f.path} has a PSF_EOF line`);
    lines.push(`cat > ${shellQuote(f.path)} <<'PSF_EOF'`, f.content.replace(/\n?$/, ""), "PSF_EOF");
  }
  lines.push(
    installDynamic(paths)[2],
    `cd ${shellQuote(paths.home)}`,
    `exec traefik --configFile=${shellQuote(paths.static)}`,
  );
  return `${lines.join("\n")}\n`;
}

/**
 * One Traefik serving every route: TLS from the ssl contract, HTTP→HTTPS redirects, security
 * headers, rate limits and forward auth through the SSO, all from a generated file config (no
 * Docker socket). A changed dynamic config is reloaded in place by Traefik's file watch.
 */
export class Traefik extends pulumi.ComponentResource implements ProviderInstance {
  readonly results: Record<string, Outputs<ProxyResult>> = {};
  ready: pulumi.Resource[] = [];
  /** The rendered dynamic config (certificates, no keys: those are separate files). */
  readonly config: pulumi.Output<string>;

  constructor(
    name: string,
    args: ProviderArgs<ProxyRoute, TraefikSettings>,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("psf:proxy:Traefik", name, {}, opts);
    const { requests, settings } = args;
    const { sso, sessionCookie } = forwardAuthFacts("traefik", args);

    const keys: WorkloadFile[] = [];
    const chains: Record<string, pulumi.Output<string>> = {};
    for (const [requester, route] of Object.entries(requests)) {
      const cert = args.result(sslContract, certRequester(requester));
      if (!cert) throw new Error(`traefik: no ssl result for ${certRequester(requester)}`);
      const pems = sslPems(cert, "traefik");
      chains[requester] = fullChain(pems.certPem, cert.caPem);
      keys.push({
        path: certKeyFile(CONTAINER_PATHS, route.host),
        content: pulumi.secret(pems.keyPem),
        secret: true,
        mode: 0o600,
      });
    }
    this.config = pulumi.all([sso, sessionCookie, pulumi.all(chains)]).apply(([s, cookie, certs]) =>
      renderDynamicConfig(requests, settings, {
        paths: CONTAINER_PATHS,
        certs,
        sso: s,
        ssoSessionCookie: cookie,
      }),
    );
    const listen = containerListen(settings);
    const staticConfig = renderStaticConfig(settings, {
      paths: CONTAINER_PATHS,
      listen: { http: listen.http, https: listen.https, health: listen.health },
    });

    const workload: Workload = {
      name: WORKLOAD,
      component: "proxy",
      partOf: name,
      image: args.image("traefik"),
      command: ["sh", "-c", bootScript(staticConfig, CONTAINER_PATHS)],
      // Keys first: the config that names a new key arrives after it.
      files: [...keys, { path: STAGED_DYNAMIC, content: this.config, mode: 0o644 }],
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
        ...(settings.apiPort !== undefined
          ? [
              {
                name: "api",
                containerPort: settings.apiPort,
                hostPort: settings.apiPort,
                hostAddress: "127.0.0.1",
              },
            ]
          : []),
      ],
      healthcheck: {
        http: { path: HEALTH_PATH, port: listen.health },
        intervalSeconds: 10,
        timeoutSeconds: 5,
        retries: 3,
        startPeriodSeconds: 5,
      },
      reloadCommand: RELOAD_COMMAND,
      // Apps reach public URLs (the SSO's issuer above all) through this Traefik, inside the stack.
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
