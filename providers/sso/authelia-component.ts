import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { Outputs } from "../../components/contract";
import { ProviderArgs } from "../../components/provider";
import { hostFor } from "../../components/public-url";
import { Workload, WorkloadFile } from "../../components/workload";
import { AutheliaSettings, PORT, WORKLOAD } from "./authelia";
import { AccessRule, OidcClient, renderAutheliaConfig, renderUsersFile } from "./authelia-config";
import { pbkdf2Sha512Digest } from "./authelia-digest";
import { placeholder, planning } from "../../components/plan-placeholders";
import { databaseContract } from "../database/contract";
import { ldapContract } from "../ldap/contract";
import { Account, SESSION_COOKIE_KEY, SsoProvider, SsoRequest, SsoResult } from "./contract";

const CONFIG = "/config/configuration.yml";
const USERS = "/config/users_database.yml";

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
      .apply(([s, b]) =>
        planning()
          ? placeholder("pbkdf2-sha512 digest")
          : pbkdf2Sha512Digest(s, Buffer.from(b, "base64")),
      ),
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
export class Authelia extends pulumi.ComponentResource implements SsoProvider {
  readonly results: Record<string, Outputs<SsoResult>> = {};
  readonly ready: pulumi.Resource[];
  readonly shared: Record<string, pulumi.Output<string>>;
  readonly accounts?: pulumi.Output<Record<string, Account>>;
  readonly people: string[];

  constructor(
    name: string,
    args: ProviderArgs<SsoRequest, AutheliaSettings>,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("psf:sso:Authelia", name, {}, opts);
    const { settings, stack } = args;
    const portalUrl = args.publicUrl(hostFor(settings.subdomain, stack));
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
    const ldap = args.result(ldapContract, name);
    type Users = Parameters<typeof renderAutheliaConfig>[0]["users"];
    let users: pulumi.Input<Users> = { file: { path: USERS } };
    if (ldap) {
      users = pulumi.output(ldap).apply((l): Users => ({ ldap: l }));
    } else {
      // psf:users become a file backend with a generated initial password each.
      const people = Object.entries(stack.users.people).map(([person, p]) => {
        const password = generated(`${name}-user-${person}`, 24, this);
        return { person, p, password, digest: digestOf(`${name}-user-${person}`, password, this) };
      });
      this.accounts = pulumi.secret(
        pulumi
          .all(people.map((x) => x.password))
          .apply((pw): Record<string, Account> =>
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

    const db = args.result(databaseContract, name);
    if (!db)
      throw new Error("authelia: no database result (the resolver should have provided one)");
    const smtpPassword = settings.smtp?.passwordSecret
      ? args.configSecret(settings.smtp.passwordSecret)
      : undefined;
    const config = pulumi
      .output({
        jwt: generated(`${name}-jwt-secret`, 64, this),
        session: generated(`${name}-session-secret`, 64, this),
        storageEncryption: generated(`${name}-storage-key`, 64, this),
        oidcHmac: generated(`${name}-oidc-hmac`, 64, this),
        issuerKeyPem: issuerKey.privateKeyPem,
        db: {
          host: db.host,
          port: db.port,
          database: db.database,
          user: db.user,
          password: db.password,
        },
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
            host: v.db.host,
            port: v.db.port,
            database: v.db.database,
            username: v.db.user,
            password: v.db.password,
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
      image: args.image("authelia"),
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
    this.people = Object.keys(stack.users.people);
    this.shared = {
      forwardAuthUrl: pulumi.output(forwardAuthUrl),
      portalUrl: pulumi.output(portalUrl),
      // Authelia's default `session.name`.
      [SESSION_COOKIE_KEY]: pulumi.output("authelia_session"),
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
      domain: hostFor(svc.subdomain ?? service, args.stack),
      policy: auth,
      subject: sso ? subjectOf(sso) : [],
    });
  }
  return rules;
}
