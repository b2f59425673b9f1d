import { isIP } from "net";
import * as pulumi from "@pulumi/pulumi";
import { ContractResult } from "../../components/contract";
import { Issue, joinPath } from "../../components/errors";
import { ProviderArgs, ProviderDefinition, ProviderInstance } from "../../components/provider";
import { Workload, WorkloadFile } from "../../components/workload";
import { ProxyRoute } from "./contract";
import {
  CONTAINER_PATHS,
  HEALTH_PATH,
  IDENTITY_HEADERS,
  NginxSettings,
  certFiles,
  containerListen,
  publicUrl,
  renderNginxConfig,
  upstreamUrl,
} from "./nginx-config";

export type { NginxSettings } from "./nginx-config";

const WORKLOAD = "nginx";
/** The pinned image; the config runs on it and on older nginx alike unless `version` is set. */
const IMAGE = "nginx:1.27-bookworm";
/** Test the new config first: a bad one is refused and the running one keeps serving. */
export const RELOAD_COMMAND = ["sh", "-c", "nginx -t && nginx -s reload"];

/** The ssl requester of a route's certificate. */
export const certRequester = (requester: string) => `nginx:${requester}`;

const hasAuth = (requests: Record<string, ProxyRoute>) =>
  Object.values(requests).some((r) => r.auth !== "none");

/** Leaf first, then the issuer unless the leaf PEM already carries it (a full chain). */
function fullChain(
  certPem: pulumi.Input<string>,
  caPem: pulumi.Input<string | undefined> | undefined,
): pulumi.Output<string> {
  return pulumi
    .all([certPem, caPem])
    .apply(([cert, ca]) => (!ca || cert.includes(ca.trim()) ? cert : `${cert.trimEnd()}\n${ca}`));
}

/**
 * One nginx serving every route: TLS from the ssl contract, HTTP→HTTPS redirects,
 * security headers and forward auth through the SSO. Config changes reload nginx in place.
 */
export class Nginx extends pulumi.ComponentResource implements ProviderInstance {
  readonly results: Record<string, ContractResult> = {};
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
    const settings = onTarget(args.settings, args.target.kind);
    const shared = hasAuth(requests) ? args.shared("sso") : undefined;
    if (hasAuth(requests) && (!shared?.forwardAuthUrl || !shared?.portalUrl))
      throw new pulumi.RunError(
        "nginx: routes with auth need an sso provider that offers forward auth (forwardAuthUrl, portalUrl)",
      );
    const sso: pulumi.Output<{ forwardAuthUrl: string; portalUrl: string } | undefined> = shared
      ? pulumi
          .all([shared.forwardAuthUrl, shared.portalUrl])
          .apply(([forwardAuthUrl, portalUrl]) => ({ forwardAuthUrl, portalUrl }))
      : pulumi.output(undefined);
    this.config = sso.apply((s) =>
      renderNginxConfig(requests, settings, {
        paths: CONTAINER_PATHS,
        listen: containerListen(settings),
        sso: s,
        user: "nginx",
        version: settings.version,
      }),
    );

    const files: WorkloadFile[] = [
      { path: CONTAINER_PATHS.config, content: this.config, mode: 0o644 },
    ];
    for (const [requester, route] of Object.entries(requests)) {
      const cert = args.result("ssl", certRequester(requester));
      if (!cert) throw new Error(`nginx: no ssl result for ${certRequester(requester)}`);
      const paths = certFiles(CONTAINER_PATHS, route.host);
      files.push({ path: paths.cert, content: fullChain(cert.certPem, cert.caPem), mode: 0o644 });
      files.push({
        path: paths.key,
        content: pulumi.secret(cert.keyPem),
        secret: true,
        mode: 0o600,
      });
    }

    if (args.target.route) {
      // The platform serves routes itself (Kubernetes ingress mode): declare them, run no nginx.
      for (const [requester, route] of Object.entries(requests)) {
        const cert = args.result("ssl", certRequester(requester))!;
        args.target.route(
          {
            name: requester,
            host: route.host,
            upstream: route.upstream,
            tls: { certPem: fullChain(cert.certPem, cert.caPem), keyPem: cert.keyPem },
            auth:
              route.auth !== "none" && shared
                ? {
                    forwardAuthUrl: shared.forwardAuthUrl,
                    signinUrl: pulumi.interpolate`${shared.portalUrl}/?rd=$scheme://$http_host$escaped_request_uri`,
                    headers: IDENTITY_HEADERS.map(([h]) => h),
                  }
                : undefined,
            maxBodySize: route.maxBodySize,
            websockets: route.websockets,
          },
          { parent: this },
        );
      }
    } else this.deployServer(name, args, files);

    for (const [requester, route] of Object.entries(requests))
      this.results[requester] = {
        url: pulumi.output(publicUrl(route.host, args.target.route ? 443 : settings.httpsPort)),
        internalUrl: pulumi.output(upstreamUrl(route)),
      };
    this.registerOutputs({ config: this.config });
  }

  /** nginx itself, publishing 80 and 443 on the host (Docker) or a LoadBalancer/NodePort (Kubernetes). */
  private deployServer(
    name: string,
    args: ProviderArgs<ProxyRoute, NginxSettings>,
    files: WorkloadFile[],
  ): void {
    const { settings } = args;
    const listen = containerListen(settings);
    const workload: Workload = {
      name: WORKLOAD,
      component: "proxy",
      partOf: name,
      image: args.image("nginx", IMAGE),
      // The image's own CMD, minus its entrypoint scripts (they edit conf.d, which we do not use).
      command: ["nginx", "-g", "daemon off;"],
      files,
      // ACME HTTP-01 challenges: a client writes into this volume, nginx serves it on port 80.
      volumes: [
        {
          volume: { owner: WORKLOAD, name: "acme" },
          mountPath: CONTAINER_PATHS.acmeRoot,
          readOnly: true,
        },
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

/** Docker's embedded DNS, the default `resolver`: it answers only inside Docker networks. */
const DOCKER_DNS = "127.0.0.11";

/**
 * Settings as they apply on the target. On Kubernetes there is no Docker DNS: upstream names
 * resolve once at start through the pod's resolver (a Service's cluster IP does not change).
 */
function onTarget(settings: NginxSettings, kind: "docker" | "kubernetes"): NginxSettings {
  return kind === "kubernetes" && settings.resolver === DOCKER_DNS
    ? { ...settings, resolver: "" }
    : settings;
}

/** `resolver` is inserted verbatim: addresses (`host[:port]`), space-separated. */
const RESOLVER = /^[A-Za-z0-9.:\[\]-]+( [A-Za-z0-9.:\[\]-]+)*$/;

export const nginx: ProviderDefinition<ProxyRoute, NginxSettings> = {
  contract: "proxy",
  name: "nginx",
  description:
    "one nginx: a TLS server per route, HTTP→HTTPS, security headers, forward auth via the SSO",
  settings: {
    type: "object",
    fields: {
      version: {
        type: "string",
        minLength: 5,
        maxLength: 16,
        doc: "nginx version of the image, to use directives of newer releases (`http2 on` from 1.25.1); unset, the config runs on any nginx from 1.9.5",
      },
      httpPort: {
        type: "int",
        min: 1,
        max: 65535,
        default: 80,
        doc: "host port for HTTP (redirects, ACME)",
      },
      httpsPort: { type: "int", min: 1, max: 65535, default: 443, doc: "host port for HTTPS" },
      listenAddress: {
        type: "string",
        default: "0.0.0.0",
        doc: "host address the ports are published on",
      },
      clientMaxBodySize: {
        type: "string",
        format: "size",
        default: "10m",
        doc: "body limit unless a route sets maxBodySize",
      },
      resolver: {
        type: "string",
        minLength: 0,
        maxLength: 255,
        default: DOCKER_DNS,
        doc: '"" resolves upstreams once, at start (the default on Kubernetes)',
      },
      hstsMaxAge: {
        type: "int",
        min: 0,
        max: 63072000,
        default: 31536000,
        doc: "seconds; 0 sends no HSTS",
      },
      hstsIncludeSubdomains: { type: "bool", default: false },
      frameOptions: { type: "string", enum: ["SAMEORIGIN", "DENY", "off"], default: "SAMEORIGIN" },
      referrerPolicy: {
        type: "string",
        enum: [
          "no-referrer",
          "no-referrer-when-downgrade",
          "origin",
          "origin-when-cross-origin",
          "same-origin",
          "strict-origin",
          "strict-origin-when-cross-origin",
          "unsafe-url",
        ],
        default: "strict-origin-when-cross-origin",
      },
      contentSecurityPolicy: {
        type: "string",
        minLength: 0,
        maxLength: 4096,
        default: "",
        doc: "sent when not empty",
      },
      gzip: { type: "bool", default: true },
      connectTimeout: { type: "int", min: 1, max: 3600, default: 10, doc: "seconds" },
      sendTimeout: { type: "int", min: 1, max: 86400, default: 60, doc: "seconds" },
      readTimeout: { type: "int", min: 1, max: 86400, default: 60, doc: "seconds" },
      websocketTimeout: {
        type: "int",
        min: 1,
        max: 604800,
        default: 3600,
        doc: "read timeout of websocket routes, seconds",
      },
      rateLimit: {
        type: "object",
        required: ["requestsPerSecond"],
        fields: {
          requestsPerSecond: { type: "int", min: 1, max: 100000 },
          burst: { type: "int", min: 0, max: 100000, default: 20 },
        },
        doc: "per client address and route; off when absent",
      },
      workerConnections: { type: "int", min: 64, max: 65535, default: 1024 },
    },
  },
  checkStack: (settings, _stack, _requests, path) => {
    const issues: Issue[] = [];
    if (settings.version !== undefined && !/^\d+\.\d+\.\d+$/.test(settings.version))
      issues.push({
        path: joinPath(path, "version"),
        message: `"${settings.version}" is not an nginx version`,
        hint: "e.g. 1.27.0 or 1.22.1",
      });
    if (settings.listenAddress !== undefined && !isIP(settings.listenAddress))
      issues.push({
        path: joinPath(path, "listenAddress"),
        message: `"${settings.listenAddress}" is not an IP address`,
        hint: "use 0.0.0.0 (all), 127.0.0.1, or one of the host's addresses",
      });
    if (settings.resolver && !RESOLVER.test(settings.resolver))
      issues.push({
        path: joinPath(path, "resolver"),
        message: `"${settings.resolver}" is not a list of DNS server addresses`,
        hint: 'e.g. 127.0.0.11 (Docker), 10.96.0.10 (Kubernetes), or "" to resolve once at start',
      });
    if (settings.contentSecurityPolicy && /[\x00-\x1f]/.test(settings.contentSecurityPolicy))
      issues.push({
        path: joinPath(path, "contentSecurityPolicy"),
        message: "must be one line",
        hint: "separate directives with ;",
      });
    return issues;
  },
  needs: (_settings, _stack, requests) =>
    Object.entries(requests).map(([requester, route]) => ({
      contract: "ssl" as const,
      requester: certRequester(requester),
      request: { domain: route.host, sans: [] },
    })),
  // The SSO's forward-auth endpoint is read only when some route asks for auth.
  reads: (_settings, _stack, requests) => (hasAuth(requests ?? {}) ? ["sso"] : []),
  publicUrl: (settings, host) => publicUrl(host, settings.httpsPort),
  // Settings with errors arrive partial; their ports are reported at their own paths.
  hostPorts: (settings) =>
    [
      { port: settings.httpPort, address: settings.listenAddress ?? "0.0.0.0", what: "http" },
      { port: settings.httpsPort, address: settings.listenAddress ?? "0.0.0.0", what: "https" },
    ].filter((p) => p.port !== undefined),
  create: (name, args, opts) => new Nginx(name, args, opts),
};
