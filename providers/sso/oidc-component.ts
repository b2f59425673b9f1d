import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { Outputs } from "../../components/contract";
import { ProviderArgs } from "../../components/provider";
import { hostFor } from "../../components/public-url";
import { Workload, WorkloadFile } from "../../components/workload";
import { SESSION_COOKIE_KEY, SsoProvider, SsoRequest, SsoResult, forwardAuthKey } from "./contract";
import { OidcSettings, PORT, WORKLOAD, forwardAuthServices, secretNameOf } from "./oidc";
import {
  CLIENT_SECRET_ENV,
  COOKIE_SECRET_ENV,
  forwardAuthUrlFor,
  renderOAuth2ProxyAlphaConfig,
  renderOAuth2ProxyConfig,
} from "./oidc-config";
import { Endpoints, endpointsFor } from "./oidc-discovery";

const DIR = "/etc/oauth2-proxy";
const CONFIG = `${DIR}/oauth2-proxy.cfg`;
const ALPHA = `${DIR}/alpha.yaml`;
const CA = `${DIR}/issuer-ca.pem`;

/**
 * An identity provider the user runs: PSF registers nothing there (the user does, and puts
 * each client's secret in psf:secrets); apps get its issuer, endpoints and their client.
 * Routes with `auth` go through one oauth2-proxy, itself a client of that provider.
 */
export class Oidc extends pulumi.ComponentResource implements SsoProvider {
  readonly results: Record<string, Outputs<SsoResult>> = {};
  /** Apps read the external issuer, not oauth2-proxy: nothing of ours to wait for. */
  readonly ready: pulumi.Resource[] = [];
  readonly shared: Record<string, pulumi.Output<string>> = {};
  readonly people: string[];

  constructor(
    name: string,
    args: ProviderArgs<SsoRequest, OidcSettings>,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("psf:sso:Oidc", name, {}, opts);
    const { settings, stack } = args;
    const issuer = settings.issuerUrl;
    const endpoints = endpointsOf(settings);
    const secretOf = (clientId: string): pulumi.Output<string> => {
      const secret = args.configSecret(secretNameOf(settings, clientId));
      // checkStack reports a missing one before any program runs.
      if (!secret)
        throw new Error(`oidc: psf:secrets.${secretNameOf(settings, clientId)} is not set`);
      return pulumi.secret(secret);
    };

    const services = forwardAuthServices(stack);
    const base = `http://${args.target.address(WORKLOAD)}:${PORT}/oauth2/auth`;
    const urlOf = (service: string): string => {
      const req = args.requests[service];
      return forwardAuthUrlFor(base, {
        allowedGroups: req?.allowedGroups ?? [],
        allowedEmails: (req?.allowedUsers ?? []).map((u) => stack.users.people[u].email),
      });
    };

    for (const [requester, req] of Object.entries(args.requests))
      this.results[requester] = {
        issuerUrl: pulumi.output(issuer),
        discoveryUrl: pulumi.output(
          `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`,
        ),
        authorizationEndpoint: endpoints.apply((e) => e.authorization),
        tokenEndpoint: endpoints.apply((e) => e.token),
        userinfoEndpoint: endpoints.apply((e) => e.userinfo),
        clientId: pulumi.output(req.clientId),
        clientSecret: req.public ? pulumi.secret("") : secretOf(req.clientId),
        // Without a route that asks for sign-in there is no oauth2-proxy to ask.
        forwardAuthUrl: pulumi.output(services.length > 0 ? urlOf(requester) : ""),
      };

    if (services.length > 0) {
      // oauth2-proxy's default cookie name (split into `_0`, `_1`... when large).
      this.shared[SESSION_COOKIE_KEY] = pulumi.output("_oauth2_proxy");
      const portal = args.publicUrl(hostFor(settings.forwardAuthSubdomain, stack));
      this.shared.forwardAuthUrl = pulumi.output(base);
      this.shared.portalUrl = pulumi.output(`${portal}/oauth2/start`);
      for (const service of services)
        this.shared[forwardAuthKey(service)] = pulumi.output(urlOf(service));
      this.deployOAuth2Proxy(name, args, portal, secretOf(settings.forwardAuthClientId));
    }
    this.people = Object.keys(stack.users.people);
    this.registerOutputs({ issuerUrl: issuer });
  }

  /** One oauth2-proxy for the stack; its cookie on the stack's domain signs people in to every route. */
  private deployOAuth2Proxy(
    name: string,
    args: ProviderArgs<SsoRequest, OidcSettings>,
    portal: string,
    clientSecret: pulumi.Output<string>,
  ): void {
    const { settings, stack } = args;
    const options = {
      issuerUrl: settings.issuerUrl,
      clientId: settings.forwardAuthClientId,
      publicUrl: portal,
      domain: stack.domain,
      port: PORT,
      caFile: settings.issuerCaPem ? CA : undefined,
      endpoints: {
        authorization: settings.authorizationEndpoint,
        token: settings.tokenEndpoint,
        userinfo: settings.userinfoEndpoint,
      },
      userClaim: settings.userClaim,
      groupsClaim: settings.groupsClaim,
    };
    // No secrets in these files: oauth2-proxy reads both from its (secret) environment.
    const files: WorkloadFile[] = [
      { path: CONFIG, content: renderOAuth2ProxyConfig(options), mode: 0o644 },
      { path: ALPHA, content: renderOAuth2ProxyAlphaConfig(options), mode: 0o644 },
    ];
    if (settings.issuerCaPem) files.push({ path: CA, content: settings.issuerCaPem, mode: 0o644 });
    // 32 characters: an AES-256 key as oauth2-proxy takes it.
    const cookieSecret = pulumi.secret(
      new random.RandomPassword(
        `${name}-cookie-secret`,
        { length: 32, special: false },
        { parent: this },
      ).result,
    );
    const workload: Workload = {
      name: WORKLOAD,
      component: "sso",
      partOf: name,
      image: args.image("oauth2-proxy"),
      command: ["/bin/oauth2-proxy"],
      args: ["--config", CONFIG, "--alpha-config", ALPHA],
      files,
      secretEnv: { [COOKIE_SECRET_ENV]: cookieSecret, [CLIENT_SECRET_ENV]: clientSecret },
      ports: [{ name: "http", containerPort: PORT }],
      healthcheck: {
        http: { path: "/ping", port: PORT },
        intervalSeconds: 10,
        timeoutSeconds: 5,
        retries: 6,
        startPeriodSeconds: 10,
      },
      // Sessions live in the cookie: nothing on disk to keep.
      stateful: false,
    };
    args.target.deploy(workload, { parent: this });
  }
}

/**
 * The endpoints, from the settings or the issuer's discovery document when the program runs
 * (preview, up). The offline engine (`psf plan`, the SDK's mocks) goes to no network: there an
 * endpoint the settings leave out says where it will be read.
 */
function endpointsOf(settings: OidcSettings): pulumi.Output<Endpoints> {
  const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks");
  if (pulumi.runtime.getMonitor() instanceof MockMonitor) {
    const later = (field: string) =>
      `(${field}, read at deploy from ${settings.issuerUrl.replace(/\/$/, "")}/.well-known/openid-configuration)`;
    return pulumi.output({
      authorization: settings.authorizationEndpoint ?? later("authorization_endpoint"),
      token: settings.tokenEndpoint ?? later("token_endpoint"),
      userinfo: settings.userinfoEndpoint ?? later("userinfo_endpoint"),
    });
  }
  return pulumi.output(endpointsFor(settings));
}
