import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { createPublicKey, createVerify, randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { mask } from "../../cli/mock-engine";
import { RawConfig } from "../../components/config";
import { readStackFile } from "../../components/stack-file";
import { ContractResult } from "../../components/contract";
import { renderAutheliaConfig } from "../../providers/sso/authelia-config";
import {
  RenderedAuthelia,
  RunningAuthelia,
  autheliaCli,
  realPem,
  renderAuthelia,
  startAuthelia,
} from "../support/authelia";
import { valueOf } from "../support/mocks";
import { PG_BIN, TestPostgres, requireProgram, startPostgres } from "../support/real";

const root = path.join(__dirname, "..", "..");
const FIXTURE = path.join(__dirname, "fixtures", "Pulumi.authelia.yaml");
const LDAP_FIXTURE = path.join(__dirname, "fixtures", "Pulumi.openldap.yaml");
const OK = "Configuration parsed and loaded successfully without errors.";

/** Every stack file that uses authelia, the provider's own fixture, and authelia on openldap. */
const stackFiles = [
  ...fs
    .readdirSync(path.join(root, "stacks"))
    .filter((f) => /^Pulumi\..+\.yaml$/.test(f))
    .map((f) => path.join(root, "stacks", f))
    .filter((f) => (readStackFile(f).raw as any).providers?.sso?.use === "authelia"),
  FIXTURE,
  LDAP_FIXTURE,
];

const tmpdir = () => fs.mkdtempSync(path.join(os.tmpdir(), "psf-authelia-"));

/** `authelia validate-config` on a rendered file: its output, trimmed, and exit status. */
function validateConfig(cli: string, config: string): { status: number | null; out: string } {
  const dir = tmpdir();
  try {
    fs.writeFileSync(path.join(dir, "configuration.yml"), config, { mode: 0o600 });
    const r = spawnSync(cli, ["validate-config", "--config", path.join(dir, "configuration.yml")], {
      encoding: "utf8",
    });
    return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** `authelia crypto hash validate`: whether Authelia says the password matches the digest. */
function autheliaVerifies(cli: string, password: string, digest: string): boolean {
  const r = spawnSync(cli, ["crypto", "hash", "validate", "--password", password, "--", digest], {
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  if (r.stdout.includes("The password matches the digest.")) return true;
  assert.match(r.stdout, /The password does not match the digest\./);
  return false;
}

const stackRaw = (file: string) => structuredClone(readStackFile(file).raw) as any;
const resultOf = async (
  r: RenderedAuthelia,
  requester: string,
): Promise<Record<string, string>> => {
  const result = r.stack.providers.sso!.results[requester] as ContractResult;
  return Object.fromEntries(
    await Promise.all(
      Object.entries(result).map(async ([k, v]) => [k, (await valueOf(v)) as string]),
    ),
  );
};

describe("authelia (sso) checked by Authelia 4.38 itself", () => {
  describe("authelia validate-config and crypto hash validate", () => {
    let cli: string;
    before(function () {
      cli = autheliaCli(this);
    });

    for (const file of stackFiles) {
      it(`accepts the configuration.yml of ${path.relative(root, file)}, without warnings`, async () => {
        const { config } = await renderAuthelia(readStackFile(file).raw);
        assert.deepEqual(validateConfig(cli, config), { status: 0, out: OK });
      });
    }

    it("accepts Redis sessions and an SMTP notifier with a password from psf:secrets", async () => {
      const raw = stackRaw(FIXTURE);
      raw.secrets = { "smtp-password": "smtp-password-from-config" };
      raw.providers.sso = {
        ...raw.providers.sso,
        redis: { host: "redis.internal" },
        smtp: {
          address: "submission://mail.example.org:587",
          sender: "auth@example.org",
          username: "auth",
          passwordSecret: "smtp-password",
        },
      };
      const { config } = await renderAuthelia(raw);
      const parsed = YAML.parse(config);
      assert.deepEqual(parsed.session.redis, { host: "redis.internal", port: 6379 });
      assert.equal(parsed.notifier.smtp.password, "smtp-password-from-config");
      assert.deepEqual(validateConfig(cli, config), { status: 0, out: OK });
    });

    it("accepts a stack that uses Authelia for OIDC clients only (no forward-auth route), still denying every host", async () => {
      const raw = stackRaw(FIXTURE);
      for (const svc of Object.values(raw.services as Record<string, any>))
        if (svc.needs?.proxy) svc.needs.proxy = { auth: "none" };
      const { config } = await renderAuthelia(raw);
      assert.deepEqual(YAML.parse(config).access_control, {
        default_policy: "deny",
        rules: [{ domain: "*.home.example.org", policy: "deny" }],
      });
      assert.deepEqual(validateConfig(cli, config), { status: 0, out: OK });
    });

    it("takes the LDAP layout from the ldap result, whatever the directory: an Active Directory-like one", () => {
      // openldap's result is rendered through the stacks above; this one has another layout.
      const config = renderAutheliaConfig({
        domain: "example.org",
        portalUrl: "https://auth.example.org",
        port: 9091,
        theme: "auto",
        logLevel: "info",
        secrets: {
          jwt: "j".repeat(64),
          session: "s".repeat(64),
          storageEncryption: "e".repeat(64),
          oidcHmac: "h".repeat(64),
          issuerKeyPem: realPem(),
        },
        storage: {
          host: "postgres",
          port: 5432,
          database: "authelia",
          username: "authelia",
          password: "p".repeat(32),
        },
        users: {
          ldap: {
            url: "ldaps://ldap.example.org:636",
            baseDn: "dc=example,dc=org",
            usersDn: "ou=people,dc=example,dc=org",
            groupsDn: "ou=groups,dc=example,dc=org",
            bindDn: "cn=authelia,ou=service,dc=example,dc=org",
            bindPassword: "b".repeat(32),
            usersFilter: "(&(objectCategory=person)(objectClass=user))",
            groupsFilter: "(objectClass=group)",
            usernameAttribute: "sAMAccountName",
            mailAttribute: "userPrincipalName",
            displayNameAttribute: "name",
            groupNameAttribute: "sAMAccountName",
            memberAttribute: "member",
          },
        },
        rules: [{ domain: "wiki.example.org", policy: "two_factor", subject: ["group:admins"] }],
        clients: [
          {
            id: "app",
            public: true,
            policy: "one_factor",
            subject: [],
            redirectUris: ["https://app.example.org/cb"],
            scopes: ["openid"],
          },
        ],
        notifier: { filesystem: "/config/notification.txt" },
      });
      const ldap = YAML.parse(config).authentication_backend.ldap;
      assert.equal(ldap.additional_users_dn, "ou=people");
      assert.equal(
        ldap.users_filter,
        "(&({username_attribute}={input})(&(objectCategory=person)(objectClass=user)))",
      );
      assert.equal(ldap.groups_filter, "(&(member={dn})(objectClass=group))");
      assert.deepEqual(ldap.attributes, {
        username: "sAMAccountName",
        display_name: "name",
        mail: "userPrincipalName",
        group_name: "sAMAccountName",
      });
      assert.deepEqual(validateConfig(cli, config), { status: 0, out: OK });
    });

    it("is a check that fails: Authelia refuses a misspelt key and a policy it does not know", async () => {
      const { config } = await renderAuthelia(readStackFile(FIXTURE).raw);
      const misspelt = validateConfig(cli, config.replace(/^session:/m, "sesion:"));
      assert.notEqual(misspelt.status, 0);
      assert.match(misspelt.out, /configuration key not expected: sesion/);
      const policy = validateConfig(
        cli,
        config.replace("default_policy: deny", "default_policy: allow"),
      );
      assert.notEqual(policy.status, 0);
      assert.match(policy.out, /default_policy/);
    });

    it("verifies every client secret and person's password digest, and refuses wrong ones", async () => {
      const r = await renderAuthelia(readStackFile(FIXTURE).raw);
      const clients = YAML.parse(r.config).identity_providers.oidc.clients as Array<{
        client_id: string;
        client_secret?: string;
      }>;
      const confidential = clients.filter((c) => c.client_secret);
      assert.ok(confidential.length > 0);
      for (const c of confidential) {
        const secret = (await resultOf(r, c.client_id)).clientSecret;
        assert.equal(autheliaVerifies(cli, secret, c.client_secret!), true, c.client_id);
        assert.equal(autheliaVerifies(cli, `${secret}x`, c.client_secret!), false, c.client_id);
      }
      const users = YAML.parse(r.users!).users as Record<string, { password: string }>;
      const accounts = (await valueOf(r.stack.outputs.accounts)) as Record<
        string,
        { password: string }
      >;
      assert.deepEqual(Object.keys(users).sort(), Object.keys(accounts).sort());
      for (const [name, u] of Object.entries(users)) {
        assert.equal(autheliaVerifies(cli, accounts[name].password, u.password), true, name);
        assert.equal(autheliaVerifies(cli, "not-the-password", u.password), false, name);
      }
    });
  });

  describe("a real Authelia serving the rendered files (real PostgreSQL storage)", () => {
    let cli: string;
    let pg: TestPostgres | undefined;
    let authelia: RunningAuthelia | undefined;
    let dir = "";
    let base = "";
    let rendered: RenderedAuthelia;
    const portal = new URL("https://login.home.example.org:8443");
    // What nginx sets in front of the portal (the request reached it over HTTPS at the public host).
    const forwarded = { "X-Forwarded-Proto": "https", "X-Forwarded-Host": portal.host };

    before(async function () {
      this.timeout(120_000);
      cli = autheliaCli(this);
      requireProgram(this, `${PG_BIN}/initdb`);
      rendered = await renderAuthelia(readStackFile(FIXTURE).raw);
      const config = YAML.parse(rendered.config);
      pg = startPostgres();
      const db = config.storage.postgres;
      pg.query(`CREATE ROLE ${db.username} LOGIN PASSWORD '${db.password}'`);
      pg.query(`CREATE DATABASE ${db.database} OWNER ${db.username}`);

      // The rendered files, with only the container's addresses and paths swapped for local ones.
      dir = tmpdir();
      config.storage.postgres.address = `tcp://${pg.host}:${pg.port}`;
      config.authentication_backend.file.path = path.join(dir, "users_database.yml");
      config.notifier.filesystem.filename = path.join(dir, "notification.txt");
      fs.writeFileSync(path.join(dir, "users_database.yml"), rendered.users!, { mode: 0o600 });
      authelia = await startAuthelia(cli, dir, config, forwarded);
      base = authelia.base;
    });

    after(() => {
      authelia?.stop();
      pg?.stop();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    const signIn = (username: string, password: string) => authelia!.signIn(username, password);
    const authRequest = async (url: string, cookie?: string) => {
      const { status, user, location } = await authelia!.authRequest(url, cookie);
      return { status, user, location };
    };

    it("answers the workload's health check at /api/health and keeps its storage in PostgreSQL", async () => {
      assert.deepEqual(await (await fetch(`${base}/api/health`)).json(), { status: "OK" });
      assert.ok(
        Number(
          pg!.query(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'user_preferences'",
            "authelia",
          ),
        ) === 1,
      );
    });

    it("publishes the discovery document the sso results point to", async () => {
      const wiki = await resultOf(rendered, "wiki");
      const doc = await (
        await fetch(`${base}/.well-known/openid-configuration`, { headers: forwarded })
      ).json();
      assert.equal(wiki.discoveryUrl, `${wiki.issuerUrl}/.well-known/openid-configuration`);
      assert.deepEqual(
        [doc.issuer, doc.authorization_endpoint, doc.token_endpoint, doc.userinfo_endpoint],
        [wiki.issuerUrl, wiki.authorizationEndpoint, wiki.tokenEndpoint, wiki.userinfoEndpoint],
      );
    });

    it("signs people in with their generated passwords and refuses a wrong one", async () => {
      const accounts = (await valueOf(rendered.stack.outputs.accounts)) as Record<
        string,
        { password: string }
      >;
      assert.ok(await signIn("alice", accounts.alice.password));
      assert.ok(await signIn("bob", accounts.bob.password));
      assert.equal(await signIn("alice", accounts.bob.password), undefined);
    });

    it("answers nginx's auth-request by the rendered rules: portal redirect, Remote-User, default deny", async () => {
      const accounts = (await valueOf(rendered.stack.outputs.accounts)) as Record<
        string,
        { password: string }
      >;
      const alice = await signIn("alice", accounts.alice.password);
      const bob = await signIn("bob", accounts.bob.password);
      const wiki = "https://wiki.home.example.org:8443/page";
      const anon = await authRequest(wiki);
      assert.equal(anon.status, 401);
      assert.equal(anon.location, `${portal.origin}/?rd=${encodeURIComponent(wiki)}&rm=GET`);
      // wiki: one_factor for group admins (alice); bob is signed in but not allowed.
      assert.deepEqual(await authRequest(wiki, alice), {
        status: 200,
        user: "alice",
        location: null,
      });
      assert.equal((await authRequest(wiki, bob)).status, 403);
      // admin: two_factor, so one factor is not enough.
      assert.equal((await authRequest("https://admin.home.example.org:8443/", alice)).status, 401);
      // A host with no rule: default deny, even signed in.
      assert.equal((await authRequest("https://photos.home.example.org:8443/", alice)).status, 403);
    });

    it("logs the confidential client in with its plain secret (authorization code), and refuses a wrong secret", async () => {
      const wiki = await resultOf(rendered, "wiki");
      const accounts = (await valueOf(rendered.stack.outputs.accounts)) as Record<
        string,
        { password: string }
      >;
      const cookie = (await signIn("alice", accounts.alice.password))!;
      const redirectUri = YAML.parse(rendered.config).identity_providers.oidc.clients.find(
        (c: any) => c.client_id === "wiki",
      ).redirect_uris[0];
      const state = randomBytes(12).toString("hex");
      const query = new URLSearchParams({
        client_id: wiki.clientId,
        response_type: "code",
        redirect_uri: redirectUri,
        scope: "openid profile groups",
        state,
        nonce: state,
      });
      const local = (u: string) => u.replace(portal.origin, base);
      const get = (u: string) =>
        fetch(local(u), { headers: { ...forwarded, Cookie: cookie }, redirect: "manual" });

      // Authorization → consent (what the portal's page posts) → authorization again → code.
      const consent = new URL(
        (await get(`${wiki.authorizationEndpoint}?${query}`)).headers.get("location")!,
      );
      assert.equal(consent.pathname, "/consent");
      const granted = await fetch(`${base}/api/oidc/consent`, {
        method: "POST",
        headers: { ...forwarded, Cookie: cookie, "Content-Type": "application/json" },
        body: JSON.stringify({
          id: consent.searchParams.get("id"),
          client_id: wiki.clientId,
          consent: true,
          pre_configure: false,
        }),
      }).then((r) => r.json());
      const back = new URL((await get(granted.data.redirect_uri)).headers.get("location")!);
      assert.equal(`${back.origin}${back.pathname}`, redirectUri);
      assert.equal(back.searchParams.get("state"), state);

      const token = (secret: string) =>
        fetch(local(wiki.tokenEndpoint), {
          method: "POST",
          headers: {
            ...forwarded,
            Authorization: `Basic ${Buffer.from(`${wiki.clientId}:${secret}`).toString("base64")}`,
          },
          body: new URLSearchParams({
            grant_type: "authorization_code",
            code: back.searchParams.get("code")!,
            redirect_uri: redirectUri,
          }),
        }).then((r) => r.json());
      assert.equal((await token(`${wiki.clientSecret}x`)).error, "invalid_client");
      const tokens = await token(wiki.clientSecret);
      assert.ok(tokens.access_token, JSON.stringify(tokens));

      // The ID token is signed RS256 by the issuer key PSF generated (JWK "psf").
      const [header, payload, signature] = tokens.id_token.split(".");
      const h = JSON.parse(Buffer.from(header, "base64url").toString());
      assert.deepEqual([h.alg, h.kid], ["RS256", "psf"]);
      const verify = createVerify("RSA-SHA256").update(`${header}.${payload}`);
      assert.ok(verify.verify(createPublicKey(realPem()), Buffer.from(signature, "base64url")));
      const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
      assert.deepEqual(
        [claims.iss, claims.aud, claims.preferred_username],
        [wiki.issuerUrl, [wiki.clientId], "alice"],
      );
      assert.deepEqual(claims.groups, ["admins", "family"]);
    });
  });
});
