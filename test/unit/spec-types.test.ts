import { strict as assert } from "assert";
import { Issue } from "../../components/errors";
import { Infer, defineSpec } from "../../components/validate/infer";
import { SecureValue, check } from "../../components/validate/schema";
import type { CommonSettings } from "../../providers/backup/settings";
import type { BorgSettings } from "../../providers/backup/borg-script";
import type { ResticSettings } from "../../providers/backup/restic-script";
import type { BackupRequest, Retention } from "../../providers/backup/contract";
import type { DatabaseRequest } from "../../providers/database/contract";
import type { MariadbSettings } from "../../providers/database/mariadb";
import type { PostgresSettings } from "../../providers/database/postgres";
import type { LdapRequest } from "../../providers/ldap/contract";
import type { OpenldapSettings } from "../../providers/ldap/openldap";
import type { ProxyRequest } from "../../providers/proxy/contract";
import type { IngressSettings } from "../../providers/proxy/ingress";
import type { NginxSettings } from "../../providers/proxy/nginx";
import type { SecretsRequest } from "../../providers/secrets/contract";
import type { GeneratedSecretsSettings } from "../../providers/secrets/generated";
import type { HardcodedSettings } from "../../providers/secrets/hardcoded";
import type { SslRequest } from "../../providers/ssl/contract";
import type { SelfSignedSettings } from "../../providers/ssl/selfsigned";
import type { AutheliaSettings } from "../../providers/sso/authelia";
import type { SsoRequest } from "../../providers/sso/contract";
import type { OidcSettings } from "../../providers/sso/oidc";
import { contracts, providers } from "../../providers/index";

/*
 * Settings and request types are derived from their specs (Infer). These assertions pin the
 * shapes code relies on: a spec edit that changes a type (a field made optional, an enum value
 * added) fails `tsc` in `npm run lint` here, where the change is visible, not in a distant user.
 */

/** True when A and B are the same type (optional and required fields told apart). */
type Equal<A, B> =
  (<T>() => T extends Same<A> ? 1 : 2) extends <T>() => T extends Same<B> ? 1 : 2 ? true : false;
/** One object type from an intersection, so `{a?: X} & {a: X}` compares equal to `{a: X}`. */
type Same<T> = T extends object ? { [K in keyof T]: T[K] } : T;

// How Infer reads a spec.
const demo = defineSpec({
  type: "object",
  required: ["must"],
  fields: {
    must: { type: "string" },
    maybe: { type: "int" },
    count: { type: "int", default: 3 },
    mode: { type: "string", enum: ["a", "b"], default: "a" },
    tags: { type: "list", items: { type: "string", format: "name" }, default: [] },
    env: { type: "map", values: { type: "string" }, default: {} },
    password: { type: "string", secret: true },
    value: { type: "scalar" },
    nested: { type: "object", fields: { on: { type: "bool", default: false } } },
  },
});
const inferred: Equal<
  Infer<typeof demo>,
  {
    must: string;
    maybe?: number;
    count: number;
    mode: "a" | "b";
    tags: string[];
    env: Record<string, string>;
    password?: string | SecureValue;
    value?: string | number | boolean | SecureValue;
    nested?: { on: boolean };
  }
> = true;

// Providers' settings.
type Common = {
  schedule: string;
  retention?: Partial<Retention>;
  checkWeekday: number;
  repository?: string;
  passphrase?: string;
  sshKey?: string;
  drill?: { enabled: boolean; schedule: string };
  alerts?: { webhook?: string; secret?: string };
  knownHosts?: string;
};
const settingsTypes: [
  Equal<CommonSettings, Common>,
  Equal<
    BorgSettings,
    Common & {
      encryption: "repokey-blake2" | "repokey" | "keyfile-blake2" | "keyfile";
      compression: string;
      checkMaxDuration: number;
      compactDay: number;
    }
  >,
  Equal<
    ResticSettings,
    Common & {
      compression: "auto" | "off" | "max";
      checkReadData: string;
      pruneDay: number;
      env: Record<string, string>;
      secretEnv: Record<string, string>;
    }
  >,
  Equal<
    PostgresSettings,
    {
      version: number;
      port: number;
      maxConnections: number;
      sharedBuffers: string;
      extraExtensions: string[];
      dropRemoved: boolean;
      dataVolume: string;
      dataSize?: string;
    }
  >,
  Equal<
    MariadbSettings,
    {
      version: "10.6" | "10.11" | "11.4" | "11.8" | "11";
      port: number;
      maxConnections: number;
      innodbBufferPoolSize: string;
      dropRemoved: boolean;
      dataVolume: string;
      dataSize?: string;
    }
  >,
  Equal<
    OpenldapSettings,
    {
      port: number;
      logLevel: "none" | "stats" | "acl" | "any";
      dataVolume: string;
      dataSize?: string;
    }
  >,
  Equal<HardcodedSettings, { values: Record<string, string> }>,
  Equal<GeneratedSecretsSettings, { special: boolean }>,
  Equal<
    SelfSignedSettings,
    { organization: string; validityHours: number; earlyRenewalHours: number; wildcard: boolean }
  >,
  Equal<
    AutheliaSettings,
    {
      subdomain: string;
      theme: "light" | "dark" | "grey" | "auto";
      logLevel: "error" | "warn" | "info" | "debug";
      redis?: { host: string; port: number };
      smtp?: { address: string; sender: string; username?: string; passwordSecret?: string };
    }
  >,
  Equal<
    OidcSettings,
    {
      issuerUrl: string;
      issuerCaPem?: string;
      authorizationEndpoint?: string;
      tokenEndpoint?: string;
      userinfoEndpoint?: string;
      clientSecrets: Record<string, string>;
      forwardAuthClientId: string;
      forwardAuthSubdomain: string;
      userClaim: string;
      groupsClaim: string;
    }
  >,
  Equal<
    NginxSettings,
    {
      httpPort: number;
      httpsPort: number;
      listenAddress: string;
      clientMaxBodySize: string;
      resolver?: string;
      hstsMaxAge: number;
      hstsIncludeSubdomains: boolean;
      frameOptions: "SAMEORIGIN" | "DENY" | "off";
      referrerPolicy:
        | "no-referrer"
        | "no-referrer-when-downgrade"
        | "origin"
        | "origin-when-cross-origin"
        | "same-origin"
        | "strict-origin"
        | "strict-origin-when-cross-origin"
        | "unsafe-url";
      contentSecurityPolicy: string;
      gzip: boolean;
      connectTimeout: number;
      sendTimeout: number;
      readTimeout: number;
      websocketTimeout: number;
      rateLimit?: { requestsPerSecond: number; burst: number };
      workerConnections: number;
      // Unset means "render for any nginx" (the hand-written interface claimed it was always set).
      version?: string;
    }
  >,
  Equal<IngressSettings, { ingressClass?: string; annotations: Record<string, string> }>,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true];

// Contracts' requests, as providers receive them (after `defaults()`).
const requestTypes: [
  Equal<
    DatabaseRequest,
    {
      engine: "postgres" | "mariadb";
      name: string;
      user: string;
      extensions: string[];
      initSql?: string;
    }
  >,
  Equal<
    ProxyRequest,
    {
      auth: "none" | "one_factor" | "two_factor";
      websockets: boolean;
      maxBodySize?: string;
      extraHeaders: Record<string, string>;
    }
  >,
  Equal<
    SsoRequest,
    {
      clientId: string;
      redirectPaths: string[];
      redirectUris: string[];
      scopes: string[];
      policy: "one_factor" | "two_factor";
      allowedGroups: string[];
      allowedUsers: string[];
      public: boolean;
    }
  >,
  Equal<
    BackupRequest,
    {
      volumes: string[];
      paths: string[];
      excludes: string[];
      database: boolean;
      schedule?: string;
      retention?: Partial<Retention>;
    }
  >,
  Equal<LdapRequest, { groups: string[] }>,
  Equal<SecretsRequest, { name: string; length: number }>,
  Equal<SslRequest, { domain: string; sans: string[] }>,
] = [true, true, true, true, true, true, true];

/** Checked maps have no prototype; compare them as the data they hold. */
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

describe("types derived from specs", () => {
  it("are pinned at compile time (this file fails tsc when a spec's type drifts)", () => {
    assert.ok(inferred && settingsTypes.every(Boolean) && requestTypes.every(Boolean));
  });

  for (const p of providers)
    it(`${p.contract}/${p.name}: check() of empty settings gives every default, and passes again`, () => {
      const issues: Issue[] = [];
      // Empty but for what a provider cannot do without (oidc: the issuer the user runs; acme:
      // the account's contact).
      const minimal: Record<string, unknown> =
        p.name === "oidc"
          ? { issuerUrl: "https://id.example.org" }
          : p.name === "acme"
            ? { email: "admin@example.org" }
            : {};
      const settings = check(minimal, p.settings, "settings", issues);
      assert.deepEqual(issues, []);
      for (const [key, field] of Object.entries(p.settings.fields))
        if ("default" in field) assert.notEqual(settings[key], undefined, `${key} has its default`);
      assert.deepEqual(plain(check(settings, p.settings, "settings", issues)), plain(settings));
      assert.deepEqual(issues, []);
    });

  for (const c of Object.values(contracts))
    it(`${c.name}: check() of a request gives every default, and passes again`, () => {
      const issues: Issue[] = [];
      const minimal = c.name === "ssl" ? { domain: "example.test" } : {};
      const req = check(minimal, c.request, "request", issues);
      assert.deepEqual(issues, []);
      for (const [key, field] of Object.entries(c.request.fields))
        if ("default" in field) assert.notEqual(req[key], undefined, `${key} has its default`);
      assert.deepEqual(plain(check(req, c.request, "request", issues)), plain(req));
      assert.deepEqual(issues, []);
    });
});
