import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { ContractResult } from "../../components/contract";
import { Issue, joinPath } from "../../components/errors";
import {
  ProviderArgs,
  ProviderDefinition,
  ProviderInstance,
  ProviderNeed,
} from "../../components/provider";
import { hostFor } from "../../components/resolver";
import { Workload, WorkloadFile } from "../../components/workload";
import { AccessRule, OidcClient, renderAutheliaConfig, renderUsersFile } from "./authelia-config";
import { pbkdf2Sha512Digest } from "./authelia-digest";
import { SsoRequest } from "./contract";

/** Authelia's release the config is written for (its 4.38 schema). */
export const AUTHELIA_IMAGE = "authelia/authelia:4.38.17";
const PORT = 9091;
const WORKLOAD = "authelia";
const CONFIG = "/config/configuration.yml";
const USERS = "/config/users_database.yml";
/** Scopes Authelia 4.38 grants; anything else fails its config validation. */
export const AUTHELIA_SCOPES = ["openid", "offline_access", "groups", "email", "profile"] as const;

export interface AutheliaSettings {
  subdomain: string;
  theme: "light" | "dark" | "grey" | "auto";
  logLevel: "error" | "warn" | "info" | "debug";
  /** Sessions in an existing Redis instead of memory (survives restarts, allows replicas). */
  redis?: { host: string; port: number };
  /** Mail for password resets and 2FA enrolment; default: a file inside the container. */
  smtp?: { address: string; sender: string; username?: string; passwordSecret?: string };
}

/** A random secret kept in (encrypted) state. */
const generated = (name: string, length: number, parent: pulumi.Resource) =>
  pulumi.secret(new random.RandomPassword(name, { length, special: false }, { parent }).result);

/**
 * `$pbkdf2-sha512$` digest of a generated secret, salted with 16 random bytes that are
 * themselves state: the same secret and salt give the same digest on every preview.
 */
function digestOf(
  name: string,
  secret: pulumi.Output<string>,
  parent: pulumi.Resource,
): pulumi.Output<string> {
  const salt = new random.RandomBytes(`${name}-salt`, { length: 16 }, { parent });
  return pulumi.secret(
    pulumi
      .all([secret, salt.base64])
      .apply(([s, b]) => pbkdf2Sha512Digest(s, Buffer.from(b, "base64"))),
  );
}

const subjectOf = (r: { allowedGroups: string[]; allowedUsers: string[] }) => [
  ...r.allowedGroups.map((g) => `group:${g}`),
  ...r.allowedUsers.map((u) => `user:${u}`),
];

/**
 * One Authelia for the stack: an OIDC client per requesting service (secret generated,
 * stored in the config only as a digest), forward auth for proxied services (default deny,
 * one rule per service), users from the ldap contract or a file built from psf:users,
 * storage in the database contract.
 */
export class Authelia extends pulumi.ComponentResource implements ProviderInstance {
  readonly results: Record<string, ContractResult> = {};
  readonly ready: pulumi.Resource[];
  readonly shared: Record<string, pulumi.Output<string>>;
  readonly accounts?: pulumi.Output<Record<string, unknown>>;

  constructor(
    name: string,
    args: ProviderArgs<SsoRequest, AutheliaSettings>,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("psf:sso:Authelia", name, {}, opts);
    const { settings, stack } = args;
    const portalUrl = args.publicUrl(hostFor(settings.subdomain, stack.domain));
    const forwardAuthUrl = `http://${args.target.address(WORKLOAD)}:${PORT}/api/authz/auth-request`;
    const issuerKey = new tls.PrivateKey(
      `${name}-issuer-key`,
      { algorithm: "RSA", rsaBits: 2048 },
      { parent: this },
    );

    const clients: Array<pulumi.Output<OidcClient>> = [];
    for (const [requester, req] of Object.entries(args.requests)) {
      const secret = req.public ? undefined : generated(`${name}-client-${req.clientId}`, 48, this);
      clients.push(
        pulumi
          .all([secret ? digestOf(`${name}-client-${req.clientId}`, secret, this) : undefined])
          .apply(([secretDigest]) => ({
            id: req.clientId,
            secretDigest,
            public: req.public,
            policy: req.policy,
            subject: subjectOf(req),
            redirectUris: req.redirectUris,
            scopes: req.scopes,
          })),
      );
      this.results[requester] = {
        issuerUrl: pulumi.output(portalUrl),
        discoveryUrl: pulumi.output(`${portalUrl}/.well-known/openid-configuration`),
        authorizationEndpoint: pulumi.output(`${portalUrl}/api/oidc/authorization`),
        tokenEndpoint: pulumi.output(`${portalUrl}/api/oidc/token`),
        userinfoEndpoint: pulumi.output(`${portalUrl}/api/oidc/userinfo`),
        clientId: pulumi.output(req.clientId),
        clientSecret: secret ?? pulumi.secret(""),
        forwardAuthUrl: pulumi.output(forwardAuthUrl),
      };
    }

    const files: WorkloadFile[] = [];
    const ldap = args.result("ldap", name);
    let users: Parameters<typeof renderAutheliaConfig>[0]["users"] | pulumi.Output<any> = {
      file: { path: USERS },
    };
    if (ldap) {
      users = pulumi.all(ldap).apply((l) => ({ ldap: l as any }));
    } else {
      // psf:users become a file backend with a generated initial password each.
      const people = Object.entries(stack.users.people).map(([person, p]) => {
        const password = generated(`${name}-user-${person}`, 24, this);
        return { person, p, password, digest: digestOf(`${name}-user-${person}`, password, this) };
      });
      this.accounts = pulumi.secret(
        pulumi
          .all(people.map((x) => x.password))
          .apply((pw) =>
            Object.fromEntries(
              people.map((x, i) => [
                x.person,
                { login: portalUrl, username: x.person, password: pw[i] },
              ]),
            ),
          ),
      );
      const content = pulumi
        .all(people.map((x) => x.digest))
        .apply((digests) =>
          renderUsersFile(
            Object.fromEntries(
              people.map((x, i) => [x.person, { ...x.p, passwordDigest: digests[i] }]),
            ),
          ),
        );
      files.push({ path: USERS, content: pulumi.secret(content), secret: true, mode: 0o600 });
    }

    const db = args.result("database", name);
    if (!db)
      throw new Error("authelia: no database result (the resolver should have provided one)");
    const smtpPassword = settings.smtp?.passwordSecret
      ? args.configSecret(settings.smtp.passwordSecret)
      : undefined;
    const config = pulumi
      .all({
        jwt: generated(`${name}-jwt-secret`, 64, this),
        session: generated(`${name}-session-secret`, 64, this),
        storageEncryption: generated(`${name}-storage-key`, 64, this),
        oidcHmac: generated(`${name}-oidc-hmac`, 64, this),
        issuerKeyPem: issuerKey.privateKeyPem,
        db: pulumi.all(db),
        users,
        clients: pulumi.all(clients),
        smtpPassword,
      })
      .apply((v) =>
        renderAutheliaConfig({
          domain: stack.domain,
          portalUrl,
          port: PORT,
          theme: settings.theme,
          logLevel: settings.logLevel,
          secrets: {
            jwt: v.jwt,
            session: v.session,
            storageEncryption: v.storageEncryption,
            oidcHmac: v.oidcHmac,
            issuerKeyPem: v.issuerKeyPem,
          },
          storage: {
            host: String(v.db.host),
            port: Number(v.db.port),
            database: String(v.db.database),
            username: String(v.db.user),
            password: String(v.db.password),
          },
          users: v.users,
          rules: accessRules(args),
          clients: v.clients,
          redis: settings.redis,
          notifier: settings.smtp
            ? {
                smtp: {
                  address: settings.smtp.address,
                  sender: settings.smtp.sender,
                  username: settings.smtp.username,
                  password: v.smtpPassword,
                },
              }
            : { filesystem: "/config/notification.txt" },
        }),
      );
    files.unshift({ path: CONFIG, content: pulumi.secret(config), secret: true, mode: 0o600 });

    const workload: Workload = {
      name: WORKLOAD,
      component: "sso",
      partOf: name,
      image: args.image("authelia", AUTHELIA_IMAGE),
      command: ["authelia", "--config", CONFIG],
      files,
      ports: [{ name: "http", containerPort: PORT }],
      healthcheck: {
        http: { path: "/api/health", port: PORT },
        intervalSeconds: 10,
        timeoutSeconds: 5,
        retries: 6,
        startPeriodSeconds: 10,
      },
      // Storage lives in the database contract and sessions in memory or Redis: nothing on disk to keep.
      stateful: false,
    };
    this.ready = args.target.deploy(workload, { parent: this }).resources;
    this.shared = {
      forwardAuthUrl: pulumi.output(forwardAuthUrl),
      portalUrl: pulumi.output(portalUrl),
    };
    this.registerOutputs({ portalUrl });
  }
}

/** Default deny, then one rule per proxied service that asks for sign-in. */
function accessRules(args: ProviderArgs<SsoRequest, AutheliaSettings>): AccessRule[] {
  const rules: AccessRule[] = [];
  for (const [service, svc] of Object.entries(args.stack.services).sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    const auth = (svc.needs.proxy as { auth?: string } | undefined)?.auth;
    if (auth !== "one_factor" && auth !== "two_factor") continue;
    const sso = args.requests[service];
    rules.push({
      domain: hostFor(svc.subdomain ?? service, args.stack.domain),
      policy: auth,
      subject: sso ? subjectOf(sso) : [],
    });
  }
  return rules;
}

export const authelia: ProviderDefinition<SsoRequest, AutheliaSettings> = {
  contract: "sso",
  name: "authelia",
  description: "Authelia 4.38: OIDC clients with generated secrets, forward auth, default deny",
  settings: {
    type: "object",
    fields: {
      subdomain: {
        type: "string",
        format: "label",
        default: "auth",
        doc: "the portal's host: <subdomain>.<domain>",
      },
      theme: { type: "string", enum: ["light", "dark", "grey", "auto"], default: "auto" },
      logLevel: { type: "string", enum: ["error", "warn", "info", "debug"], default: "info" },
      redis: {
        type: "object",
        required: ["host"],
        fields: {
          host: { type: "string", format: "dns" },
          port: { type: "int", min: 1, max: 65535, default: 6379 },
        },
      },
      smtp: {
        type: "object",
        required: ["address", "sender"],
        fields: {
          address: {
            type: "string",
            minLength: 1,
            maxLength: 255,
            doc: "submission://mail.example.org:587",
          },
          sender: { type: "string", format: "email" },
          username: { type: "string", minLength: 1, maxLength: 255 },
          passwordSecret: { type: "string", format: "name", doc: "a psf:secrets name" },
        },
      },
    },
  },
  checkRequest: (req, path) =>
    req.scopes
      .map((scope, i) => ({ scope, i }))
      .filter(({ scope }) => !(AUTHELIA_SCOPES as readonly string[]).includes(scope))
      .map(({ scope, i }) => ({
        path: joinPath(joinPath(path, "scopes"), i),
        message: `authelia does not grant the scope "${scope}"`,
        hint: `authelia grants: ${AUTHELIA_SCOPES.join(", ")}`,
      })),
  checkStack: (settings, stack, _requests, path) => {
    const issues: Issue[] = [];
    const secret = settings.smtp?.passwordSecret;
    if (secret && !stack.secretNames.includes(secret))
      issues.push({
        path: joinPath(joinPath(path, "smtp"), "passwordSecret"),
        message: `secret "${secret}" is not set in the stack config (psf:secrets.${secret})`,
        hint: `run: pulumi config set --secret --path 'psf:secrets.${secret}' <value> --stack ${stack.stackName}`,
      });
    if (stack.domain.split(".").length < 2)
      issues.push({
        path: "domain",
        message: "authelia's session cookie needs a domain with at least two labels",
        hint: "use e.g. home.arpa or example.org, not a bare name",
      });
    return issues;
  },
  needs: (settings, stack) => {
    const needs: ProviderNeed[] = [
      {
        contract: "database",
        requester: "authelia",
        request: { name: "authelia", extensions: [] },
      },
      // The portal is a public route; the proxy reads our forward-auth URL, so no ordering edge.
      {
        contract: "proxy",
        requester: "authelia",
        request: { auth: "none" },
        consumes: false,
        upstream: { host: WORKLOAD, port: PORT },
        subdomain: settings.subdomain ?? "auth",
      },
    ];
    if (stack.providers && typeof stack.providers === "object" && "ldap" in stack.providers)
      needs.push({ contract: "ldap", requester: "authelia", request: { groups: [] } });
    return needs;
  },
  create: (name, args, opts) => new Authelia(name, args, opts),
};
