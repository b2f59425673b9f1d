import * as YAML from "yaml";
import { LdapResult } from "../ldap/contract";

/** Everything the configuration needs, as plain values (secrets already resolved). */
export interface AutheliaConfigInput {
  /** Cookie domain: the stack domain. */
  domain: string;
  /** The portal's public URL, e.g. `https://auth.example.org:8443`. */
  portalUrl: string;
  port: number;
  theme: "light" | "dark" | "grey" | "auto";
  logLevel: "error" | "warn" | "info" | "debug";
  secrets: {
    jwt: string;
    session: string;
    storageEncryption: string;
    oidcHmac: string;
    issuerKeyPem: string;
  };
  storage: { host: string; port: number; database: string; username: string; password: string };
  users: { file: { path: string } } | { ldap: LdapBackend };
  /** Forward-auth rules, one per proxied service with auth. */
  rules: AccessRule[];
  clients: OidcClient[];
  redis?: { host: string; port: number };
  notifier:
    | { filesystem: string }
    | { smtp: { address: string; sender: string; username?: string; password?: string } };
}

/** The `ldap` contract's result is all the LDAP backend needs. */
export type LdapBackend = Omit<LdapResult, "adminUrl">;

export interface AccessRule {
  domain: string;
  policy: "one_factor" | "two_factor" | "deny";
  /** `group:x` / `user:y`; empty: any signed-in person. */
  subject: string[];
}

export interface OidcClient {
  id: string;
  /** `$pbkdf2-sha512$...`; absent for public clients. */
  secretDigest?: string;
  public: boolean;
  policy: "one_factor" | "two_factor";
  subject: string[];
  redirectUris: string[];
  scopes: string[];
}

/** `ou=people,dc=example,dc=org` below `dc=example,dc=org` → `ou=people` (Authelia wants it relative). */
export function relativeDn(dn: string, baseDn: string): string {
  const suffix = `,${baseDn}`;
  return dn.toLowerCase().endsWith(suffix.toLowerCase()) ? dn.slice(0, -suffix.length) : dn;
}

/**
 * Authelia's LDAP backend from the ldap contract's result alone: where, who to bind as, and the
 * layout the directory's provider declares (its filters and attributes), so any ldap provider
 * fits without a server-specific preset.
 */
export function ldapBackend(l: LdapBackend): Record<string, unknown> {
  return {
    address: l.url,
    implementation: "custom",
    timeout: "5s",
    base_dn: l.baseDn,
    additional_users_dn: relativeDn(l.usersDn, l.baseDn),
    users_filter: `(&({username_attribute}={input})${l.usersFilter})`,
    additional_groups_dn: relativeDn(l.groupsDn, l.baseDn),
    groups_filter: `(&(${l.memberAttribute}={dn})${l.groupsFilter})`,
    attributes: {
      username: l.usernameAttribute,
      display_name: l.displayNameAttribute,
      mail: l.mailAttribute,
      group_name: l.groupNameAttribute,
    },
    user: l.bindDn,
    password: l.bindPassword,
  };
}

/** A client's authorization policy: the plain level, or a named policy when it names who may sign in. */
const clientPolicyName = (c: OidcClient) => (c.subject.length ? `psf_${c.id}` : c.policy);

/** Authelia 4.38 `configuration.yml`. Keys follow its JSON schema (PSF's narrower model: test/providers/fixtures/authelia-config.schema.json). */
export function autheliaConfig(i: AutheliaConfigInput): Record<string, unknown> {
  const users =
    "file" in i.users
      ? {
          // PSF owns the users file: a reset would be overwritten by the next replacement.
          password_reset: { disable: true },
          file: {
            path: i.users.file.path,
            watch: false,
            password: {
              algorithm: "pbkdf2",
              pbkdf2: { variant: "sha512", iterations: 310000, salt_length: 16 },
            },
          },
        }
      : {
          // The bind account is read-only: a reset would fail, so people change their password
          // in the directory itself.
          password_reset: { disable: true },
          ldap: ldapBackend(i.users.ldap),
        };
  const policies = Object.fromEntries(
    i.clients
      .filter((c) => c.subject.length)
      .map((c) => [
        clientPolicyName(c),
        { default_policy: "deny", rules: [{ policy: c.policy, subject: c.subject }] },
      ]),
  );
  return {
    theme: i.theme,
    log: { level: i.logLevel, format: "text" },
    server: { address: `tcp://:${i.port}/` },
    totp: { issuer: i.domain },
    identity_validation: { reset_password: { jwt_secret: i.secrets.jwt } },
    authentication_backend: users,
    access_control: {
      // Default deny: only the rules PSF writes let anyone through. Authelia refuses a deny
      // default without rules, so a stack with no forward-auth route (OIDC clients only) gets
      // one rule that denies every host of the domain: the same policy, spelt out.
      default_policy: "deny",
      rules: (i.rules.length
        ? i.rules
        : [{ domain: `*.${i.domain}`, policy: "deny", subject: [] }]
      ).map((r) => ({
        domain: r.domain,
        policy: r.policy,
        ...(r.subject.length ? { subject: r.subject } : {}),
      })),
    },
    session: {
      secret: i.secrets.session,
      cookies: [{ domain: i.domain, authelia_url: i.portalUrl }],
      ...(i.redis ? { redis: { host: i.redis.host, port: i.redis.port } } : {}),
    },
    storage: {
      encryption_key: i.secrets.storageEncryption,
      postgres: {
        address: `tcp://${i.storage.host}:${i.storage.port}`,
        database: i.storage.database,
        username: i.storage.username,
        password: i.storage.password,
      },
    },
    notifier:
      "filesystem" in i.notifier
        ? { filesystem: { filename: i.notifier.filesystem } }
        : {
            smtp: {
              address: i.notifier.smtp.address,
              sender: i.notifier.smtp.sender,
              ...(i.notifier.smtp.username ? { username: i.notifier.smtp.username } : {}),
              ...(i.notifier.smtp.password ? { password: i.notifier.smtp.password } : {}),
            },
          },
    identity_providers: {
      oidc: {
        hmac_secret: i.secrets.oidcHmac,
        jwks: [{ key_id: "psf", algorithm: "RS256", use: "sig", key: i.secrets.issuerKeyPem }],
        ...(Object.keys(policies).length ? { authorization_policies: policies } : {}),
        clients: i.clients.map((c) => ({
          client_id: c.id,
          client_name: c.id,
          ...(c.public
            ? { public: true, require_pkce: true, pkce_challenge_method: "S256" }
            : { client_secret: c.secretDigest }),
          authorization_policy: clientPolicyName(c),
          redirect_uris: c.redirectUris,
          scopes: c.scopes,
          grant_types: ["authorization_code"],
          response_types: ["code"],
          token_endpoint_auth_method: c.public ? "none" : "client_secret_basic",
        })),
      },
    },
  };
}

export function renderAutheliaConfig(i: AutheliaConfigInput): string {
  return (
    "# Generated by PSF (authelia provider); `pulumi up` rewrites it.\n" +
    YAML.stringify(autheliaConfig(i), { lineWidth: 0 })
  );
}

/** The file backend's `users_database.yml`. */
export function renderUsersFile(
  people: Record<
    string,
    { email: string; displayName?: string; groups: string[]; passwordDigest: string }
  >,
): string {
  const users = Object.fromEntries(
    Object.entries(people).map(([name, p]) => [
      name,
      {
        disabled: false,
        displayname: p.displayName ?? name,
        password: p.passwordDigest,
        email: p.email,
        groups: p.groups,
      },
    ]),
  );
  return "# Generated by PSF (authelia provider).\n" + YAML.stringify({ users }, { lineWidth: 0 });
}
