import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { PlannedResource, evaluate, isSecretValue, mask } from "../../cli/mock-engine";
import { ContractResult } from "../../components/contract";
import { RawConfig } from "../../components/config";
import { runProgram, validateConfig } from "../../components/program";
import { PsfStack } from "../../components/stack";
import { readStackFile } from "../../components/stack-file";
import { registry } from "../../providers";
import { NginxSettings, nginxSettingsSpec } from "../../providers/proxy/nginx";
import { ProxyRoute } from "../../providers/proxy/contract";
import { certFiles, renderNginxConfig } from "../../providers/proxy/nginx-config";
import { pbkdf2Sha512Digest } from "../../providers/sso/authelia-digest";
import { SESSION_COOKIE_KEY, forwardAuthKey } from "../../providers/sso/contract";
import { discover, endpointsFor } from "../../providers/sso/oidc-discovery";
import { check } from "../../components/validate/schema";
import { TestCa, freePort, startEcho, httpsCall } from "../contracts/proxy";
import { RunningAuthelia, autheliaCli, renderAuthelia, startAuthelia } from "../support/authelia";
import { isSecret, valueOf } from "../support/mocks";
import {
  RunningOAuth2Proxy,
  oauth2ProxyBin,
  startOAuth2Proxy,
  startTlsFront,
} from "../support/oauth2-proxy";
import { PG_BIN, TestPostgres, requireProgram, startPostgres } from "../support/real";

const root = path.join(__dirname, "..", "..");
const FIXTURE = path.join(__dirname, "fixtures", "Pulumi.oidc.yaml");
const IDP_FIXTURE = path.join(__dirname, "fixtures", "Pulumi.oidc-idp.yaml");
const ISSUER = "https://auth.idp.example.net";

const fixture = (): any => structuredClone(readStackFile(FIXTURE).raw);
const tmpdir = () => fs.mkdtempSync(path.join(os.tmpdir(), "psf-oidc-"));

/** The stack evaluated offline (cli/mock-engine.ts): its resources and the PsfStack itself. */
async function plan(raw: RawConfig = fixture()) {
  let stack: PsfStack | undefined;
  const resources = await evaluate(registry, raw, "test", (r, s) => {
    stack = runProgram(registry, { raw: r, stackName: s });
  });
  return { resources, stack: stack! };
}
const container = (rs: PlannedResource[], name: string) =>
  rs.find((r) => r.type === "docker:index/container:Container" && r.name === name);
const upload = (c: PlannedResource, file: string): string | undefined =>
  (mask(c.inputs.uploads, true) as Array<{ file: string; content: string }>).find(
    (u) => u.file === file,
  )?.content;
const envOf = (c: PlannedResource): Record<string, string> =>
  Object.fromEntries(
    (mask(c.inputs.envs, true) as string[]).map((e) => [
      e.slice(0, e.indexOf("=")),
      e.slice(e.indexOf("=") + 1),
    ]),
  );
const resultOf = async (stack: PsfStack, requester: string): Promise<Record<string, string>> => {
  const result = stack.providers.sso!.results[requester] as ContractResult;
  return Object.fromEntries(
    await Promise.all(
      Object.entries(result).map(async ([k, v]) => [k, (await valueOf(v)) as string]),
    ),
  );
};
const sharedOf = async (stack: PsfStack): Promise<Record<string, string>> =>
  Object.fromEntries(
    await Promise.all(
      Object.entries(stack.providers.sso!.shared ?? {}).map(async ([k, v]) => [
        k,
        (await valueOf(v)) as string,
      ]),
    ),
  );

/** `psf validate --config <file>` on the fixture with `edit` applied: exit status and output. */
function psfValidate(edit: (config: Record<string, any>) => void) {
  const doc = YAML.parse(fs.readFileSync(FIXTURE, "utf8"));
  edit(doc.config);
  const dir = tmpdir();
  const file = path.join(dir, "Pulumi.oidc-check.yaml");
  fs.writeFileSync(file, YAML.stringify(doc));
  try {
    const r = spawnSync(
      process.execPath,
      [path.join(root, "bin", "psf.js"), "validate", "--config", file],
      {
        cwd: root,
        encoding: "utf8",
      },
    );
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("oidc (sso): an identity provider the user runs", () => {
  describe("validation (psf validate, offline)", () => {
    it("reports every missing client secret at once, at its config path, with the command that sets it", () => {
      const r = psfValidate((c) => delete c["psf:secrets"]);
      assert.equal(r.status, 2, r.out);
      assert.match(r.out, /2 problems found/);
      assert.match(
        r.out,
        /error: services\.wiki\.needs\.sso: the secret of OIDC client "wiki" is not set in the stack config \(psf:secrets\.oidc-wiki\)\n  hint: register the client at the identity provider, then run: pulumi config set --secret --path 'psf:secrets\.oidc-wiki' <value> --stack oidc-check\n/,
      );
      assert.match(
        r.out,
        /error: providers\.sso\.forwardAuthClientId: the secret of OIDC client "psf-forward-auth" is not set in the stack config \(psf:secrets\.oidc-psf-forward-auth\)\n  hint: register the client at the identity provider, then run: pulumi config set --secret --path 'psf:secrets\.oidc-psf-forward-auth' <value> --stack oidc-check\n/,
      );
      // photos is a public client: no secret to miss.
      assert.doesNotMatch(r.out, /photos/);
      assert.equal(psfValidate(() => undefined).status, 0);
    });

    it("refuses an unknown setting, with a suggestion", () => {
      const r = psfValidate((c) => (c["psf:providers"].sso.issuerURL = ISSUER));
      assert.equal(r.status, 2, r.out);
      assert.match(r.out, /providers\.sso\.issuerURL: unknown key "issuerURL"/);
      assert.match(r.out, /did you mean "issuerUrl"\?/);
    });

    it("wants an https issuer, a secret override for a known client, and groups or people per forward-auth route", () => {
      const raw = fixture();
      raw.providers.sso.issuerUrl = "http://auth.idp.example.net";
      raw.providers.sso.clientSecrets = { wiki: "wiki-oidc", nobody: "x" };
      raw.services.wiki.needs.sso.allowedUsers = ["bob"];
      const issues = validateConfig(raw, "test", registry).issues;
      assert.deepEqual(issues.map((i) => i.path).sort(), [
        "providers.sso.clientSecrets.nobody",
        "providers.sso.clientSecrets.wiki",
        "providers.sso.issuerUrl",
        "services.wiki.needs.sso.allowedUsers",
      ]);
      const wiki = issues.find((i) => i.path === "providers.sso.clientSecrets.wiki")!;
      assert.match(wiki.hint!, /'psf:secrets\.wiki-oidc'/);
    });

    it("runs no oauth2-proxy and asks for no route or forward-auth secret when no route asks for sign-in", async () => {
      const raw = fixture();
      for (const svc of Object.values<any>(raw.services)) svc.needs.proxy.auth = "none";
      delete raw.secrets["oidc-psf-forward-auth"];
      assert.deepEqual(validateConfig(raw, "test", registry).issues, []);
      const { resources, stack } = await plan(raw);
      assert.equal(container(resources, "oauth2-proxy"), undefined);
      assert.deepEqual(await sharedOf(stack), {});
      assert.equal((await resultOf(stack, "wiki")).forwardAuthUrl, "");
    });
  });

  describe("results and the oauth2-proxy workload (offline engine)", () => {
    let resources: PlannedResource[];
    let stack: PsfStack;
    before(async function () {
      this.timeout(60_000);
      ({ resources, stack } = await plan());
    });

    it("gives apps exactly the sso result fields: the issuer, its endpoints and their own client", async () => {
      const wiki = await resultOf(stack, "wiki");
      assert.deepEqual(wiki, {
        issuerUrl: ISSUER,
        discoveryUrl: `${ISSUER}/.well-known/openid-configuration`,
        authorizationEndpoint: `${ISSUER}/api/oidc/authorization`,
        tokenEndpoint: `${ISSUER}/api/oidc/token`,
        userinfoEndpoint: `${ISSUER}/api/oidc/userinfo`,
        clientId: "wiki",
        clientSecret: "wiki-secret-issued-by-the-idp-0123456789abcdef",
        forwardAuthUrl: "http://oauth2-proxy:4180/oauth2/auth?allowed_groups=admins",
      });
      assert.equal(await isSecret(stack.providers.sso!.results.wiki.clientSecret), true);
      const photos = await resultOf(stack, "photos");
      assert.equal(photos.clientSecret, "");
      assert.equal(
        photos.forwardAuthUrl,
        "http://oauth2-proxy:4180/oauth2/auth?allowed_emails=bob%40idp.example.net",
      );
      // The app's env carries its client secret, kept secret by the target.
      assert.equal(
        envOf(container(resources, "wiki")!).OIDC_CLIENT_SECRET,
        "wiki-secret-issued-by-the-idp-0123456789abcdef",
      );
      assert.ok(isSecretValue(container(resources, "wiki")!.inputs.envs));
    });

    it("offers forward auth: oauth2-proxy's sign-in as the portal, and a forward-auth URL per route", async () => {
      assert.deepEqual(await sharedOf(stack), {
        forwardAuthUrl: "http://oauth2-proxy:4180/oauth2/auth",
        portalUrl: "https://oauth2.apps.example.org/oauth2/start",
        // oauth2-proxy's session cookie, which the proxy keeps from the apps.
        [SESSION_COOKIE_KEY]: "_oauth2_proxy",
        [forwardAuthKey("notes")]: "http://oauth2-proxy:4180/oauth2/auth",
        [forwardAuthKey("photos")]:
          "http://oauth2-proxy:4180/oauth2/auth?allowed_emails=bob%40idp.example.net",
        [forwardAuthKey("wiki")]: "http://oauth2-proxy:4180/oauth2/auth?allowed_groups=admins",
      });
    });

    it("keeps the cookie and client secrets out of oauth2-proxy's files, in its secret environment", () => {
      const c = container(resources, "oauth2-proxy")!;
      const env = envOf(c);
      assert.equal(env.PSF_OIDC_CLIENT_SECRET, "forward-auth-secret-issued-by-the-idp-0123456789");
      assert.equal(env.OAUTH2_PROXY_COOKIE_SECRET.length, 32);
      assert.ok(isSecretValue(c.inputs.envs));
      const files = mask(c.inputs.uploads, true) as Array<{ file: string; content: string }>;
      assert.deepEqual(
        files.map((f) => f.file).filter((f) => f.startsWith("/etc/")),
        ["/etc/oauth2-proxy/oauth2-proxy.cfg", "/etc/oauth2-proxy/alpha.yaml"],
      );
      const text = JSON.stringify(files);
      for (const secret of Object.values(env)) assert.ok(!text.includes(secret));
      assert.deepEqual(c.inputs.entrypoints, ["/bin/oauth2-proxy"]);
    });

    it("routes oauth2-proxy like a service and gives each nginx route its own forward-auth URL (nginx -t accepts it)", function () {
      const conf = upload(container(resources, "nginx")!, "/etc/nginx/nginx.conf")!;
      assert.match(conf, /server_name oauth2\.apps\.example\.org;/);
      assert.match(conf, /set \$psf_upstream "http:\/\/oauth2-proxy:4180";/);
      assert.match(conf, /https:\/\/oauth2\.apps\.example\.org\/oauth2\/start\?rd=/);
      const authUrls = [...conf.matchAll(/set \$psf_auth_url "([^"]+)";/g)].map((m) => m[1]);
      assert.deepEqual(authUrls.sort(), [
        "http://oauth2-proxy:4180/oauth2/auth",
        "http://oauth2-proxy:4180/oauth2/auth?allowed_emails=bob%40idp.example.net",
        "http://oauth2-proxy:4180/oauth2/auth?allowed_groups=admins",
      ]);

      // The real parser on the same text, its container paths moved into a temp dir.
      requireProgram(this, "nginx");
      const dir = tmpdir();
      try {
        let local = conf
          .replaceAll("/etc/nginx/", `${dir}/etc/`)
          .replaceAll("/var/", `${dir}/var/`);
        local = local.replace(/^user .*$/m, "").replace(/^pid .*$/m, `pid ${dir}/nginx.pid;`);
        local = local.replace(/^error_log .*$/m, `error_log ${dir}/error.log warn;`);
        local = local.replace(/access_log \/dev\/stdout;/, `access_log ${dir}/access.log;`);
        const ca = new TestCa(path.join(dir, "ca"));
        for (const m of local.matchAll(/ssl_certificate (\S+);\n\s*ssl_certificate_key (\S+);/g)) {
          const host = path.basename(m[1], ".crt");
          const c = ca.issue(host);
          fs.mkdirSync(path.dirname(m[1]), { recursive: true });
          fs.writeFileSync(m[1], c.certPem);
          fs.writeFileSync(m[2], c.keyPem);
        }
        for (const m of local.matchAll(/(?:_temp_path|root) (\S+);/g))
          fs.mkdirSync(m[1], { recursive: true });
        fs.writeFileSync(path.join(dir, "nginx.conf"), local);
        const r = spawnSync(
          "nginx",
          ["-t", "-p", dir, "-e", `${dir}/error.log`, "-c", `${dir}/nginx.conf`],
          {
            encoding: "utf8",
          },
        );
        assert.equal(r.status, 0, `${r.stdout}${r.stderr}\n${local}`);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

/** `name=value` of every cookie a response sets, for the next request's Cookie header. */
const cookiesOf = (r: Response, jar: Record<string, string> = {}): Record<string, string> => {
  for (const c of r.headers.getSetCookie()) {
    const [pair] = c.split(";");
    const i = pair.indexOf("=");
    jar[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return jar;
};
const cookieHeader = (jar: Record<string, string>) =>
  Object.entries(jar)
    .filter(([, v]) => v !== "")
    .map(([k, v]) => `${k}=${v}`)
    .join("; ");

describe("oidc (sso) against a real identity provider (a second Authelia) and the real oauth2-proxy", () => {
  let pg: TestPostgres | undefined;
  let idp: RunningAuthelia | undefined;
  let front: Awaited<ReturnType<typeof startTlsFront>> | undefined;
  let proxy: RunningOAuth2Proxy | undefined;
  let dir = "";
  let ca: TestCa;
  let stack: PsfStack;
  let passwords: Record<string, string>;
  // What the IdP's own TLS front sends it (its public scheme and host).
  const idpForwarded = { "X-Forwarded-Proto": "https", "X-Forwarded-Host": new URL(ISSUER).host };
  // What nginx sends oauth2-proxy for its public route.
  const proxyForwarded = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "oauth2.apps.example.org",
  };
  const atIdp = (u: string) => u.replace(ISSUER, idp!.base);

  before(async function () {
    this.timeout(180_000);
    const cli = autheliaCli(this);
    const bin = oauth2ProxyBin(this);
    requireProgram(this, `${PG_BIN}/initdb`);
    requireProgram(this, "openssl");
    dir = tmpdir();
    ca = new TestCa(path.join(dir, "ca"));

    // The IdP: our authelia provider's rendering for a stack of alice (admins) and bob, with
    // the oidc stack's clients registered under the secrets that stack holds.
    const rendered = await renderAuthelia(readStackFile(IDP_FIXTURE).raw, "idp");
    const config = YAML.parse(rendered.config);
    const secrets = fixture().secrets as Record<string, string>;
    for (const c of config.identity_providers.oidc.clients)
      c.client_secret = pbkdf2Sha512Digest(secrets[`oidc-${c.client_id}`], randomBytes(16));
    pg = startPostgres();
    const db = config.storage.postgres;
    pg.query(`CREATE ROLE ${db.username} LOGIN PASSWORD '${db.password}'`);
    pg.query(`CREATE DATABASE ${db.database} OWNER ${db.username}`);
    config.storage.postgres.address = `tcp://${pg.host}:${pg.port}`;
    config.authentication_backend.file.path = path.join(dir, "users_database.yml");
    config.notifier.filesystem.filename = path.join(dir, "notification.txt");
    fs.writeFileSync(path.join(dir, "users_database.yml"), rendered.users!, { mode: 0o600 });
    idp = await startAuthelia(cli, dir, config, idpForwarded);
    const accounts = (await valueOf(rendered.stack.outputs.accounts)) as Record<
      string,
      { password: string }
    >;
    passwords = Object.fromEntries(Object.entries(accounts).map(([k, v]) => [k, v.password]));
    front = await startTlsFront(Number(new URL(idp.base).port), ca.issue("auth.idp.example.net"));

    // The oidc stack, trusting the IdP's CA; oauth2-proxy on the files it renders.
    const raw = fixture();
    raw.providers.sso.issuerCaPem = ca.certPem;
    ({ stack, resources: oidcResources } = await plan(raw));
    const c = container(oidcResources, "oauth2-proxy")!;
    const port = await freePort();
    const files = mask(c.inputs.uploads, true) as Array<{ file: string; content: string }>;
    const local = (f: string) => path.join(dir, path.basename(f));
    for (const f of files.filter((x) => x.file.startsWith("/etc/oauth2-proxy/"))) {
      let content = f.content.replaceAll("/etc/oauth2-proxy/", `${dir}/`);
      if (f.file.endsWith("alpha.yaml"))
        content = content.replace("bindAddress: 0.0.0.0:4180", `bindAddress: 127.0.0.1:${port}`);
      fs.writeFileSync(local(f.file), content);
    }
    proxy = await startOAuth2Proxy(
      bin,
      port,
      ["--config", local("oauth2-proxy.cfg"), "--alpha-config", local("alpha.yaml")],
      // Its environment as the container has it, and the way to the IdP by name.
      { ...envOf(c), HTTPS_PROXY: front.proxyUrl },
    );
  });
  let oidcResources: PlannedResource[];

  after(() => {
    proxy?.stop();
    front?.stop();
    idp?.stop();
    pg?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** At the IdP, signed in: authorization → consent (what its portal posts) → the redirect with a code. */
  async function authorize(authorizationUrl: string, idpCookie: string): Promise<URL> {
    const get = (u: string) =>
      fetch(atIdp(u), { headers: { ...idpForwarded, Cookie: idpCookie }, redirect: "manual" });
    let next = new URL((await get(authorizationUrl)).headers.get("location")!);
    if (next.pathname === "/consent") {
      const granted = await fetch(`${idp!.base}/api/oidc/consent`, {
        method: "POST",
        headers: { ...idpForwarded, Cookie: idpCookie, "Content-Type": "application/json" },
        body: JSON.stringify({
          id: next.searchParams.get("id"),
          client_id: new URL(authorizationUrl).searchParams.get("client_id"),
          consent: true,
          pre_configure: false,
        }),
      }).then((r) => r.json());
      next = new URL((await get(granted.data.redirect_uri)).headers.get("location")!);
    }
    return next;
  }

  it("finds the endpoints in the issuer's discovery document when the settings leave them out", async function () {
    this.timeout(60_000);
    const raw = fixture();
    raw.providers.sso.issuerCaPem = ca.certPem;
    for (const k of ["authorizationEndpoint", "tokenEndpoint", "userinfoEndpoint"])
      delete raw.providers.sso[k];
    const saved = process.env.HTTPS_PROXY;
    process.env.HTTPS_PROXY = front!.proxyUrl;
    try {
      // When the program runs (preview, up), the settings' gaps are filled from the document.
      const explicit = await resultOf(stack, "wiki");
      assert.deepEqual(await endpointsFor(raw.providers.sso), {
        authorization: explicit.authorizationEndpoint,
        token: explicit.tokenEndpoint,
        userinfo: explicit.userinfoEndpoint,
      });
      assert.ok(
        front!.requests.includes("GET auth.idp.example.net/.well-known/openid-configuration"),
      );
      // psf plan (the offline engine) reads nothing, and says where the endpoints will come from.
      const before = front!.requests.length;
      const planned = await resultOf((await plan(raw)).stack, "wiki");
      assert.equal(front!.requests.length, before);
      assert.equal(
        planned.tokenEndpoint,
        "(token_endpoint, read at deploy from https://auth.idp.example.net/.well-known/openid-configuration)",
      );
      // The same reading refuses an issuer other than the one the document names (a trailing
      // slash), and an IdP whose certificate the configured CA did not sign.
      await assert.rejects(
        discover(`${ISSUER}/`, ca.certPem),
        /names the issuer "https:\/\/auth\.idp\.example\.net", not "https:\/\/auth\.idp\.example\.net\/"/,
      );
      await assert.rejects(
        discover(ISSUER, new TestCa(path.join(dir, "other-ca")).certPem),
        /cannot read the issuer's discovery document .*certificate/,
      );
    } finally {
      if (saved === undefined) delete process.env.HTTPS_PROXY;
      else process.env.HTTPS_PROXY = saved;
    }
  });

  it("completes an app's OIDC login with its result's client and endpoints; the ID token's issuer is the result's", async () => {
    const wiki = await resultOf(stack, "wiki");
    const cookie = (await idp!.signIn("alice", passwords.alice))!;
    const redirectUri = "https://wiki.apps.example.org/login/callback";
    const state = randomBytes(12).toString("hex");
    const query = new URLSearchParams({
      client_id: wiki.clientId,
      response_type: "code",
      redirect_uri: redirectUri,
      scope: "openid profile email groups",
      state,
      nonce: state,
    });
    const back = await authorize(`${wiki.authorizationEndpoint}?${query}`, cookie);
    assert.equal(`${back.origin}${back.pathname}`, redirectUri);
    assert.equal(back.searchParams.get("state"), state);
    const token = (secret: string) =>
      fetch(atIdp(wiki.tokenEndpoint), {
        method: "POST",
        headers: {
          ...idpForwarded,
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
    assert.ok(tokens.id_token, JSON.stringify(tokens));
    const claims = JSON.parse(Buffer.from(tokens.id_token.split(".")[1], "base64url").toString());
    assert.deepEqual(
      [claims.iss, claims.aud, claims.preferred_username],
      [wiki.issuerUrl, ["wiki"], "alice"],
    );
    const me = await fetch(atIdp(wiki.userinfoEndpoint), {
      headers: { ...idpForwarded, Authorization: `Bearer ${tokens.access_token}` },
    }).then((r) => r.json());
    assert.equal(me.email, "alice@idp.example.net");
  });

  describe("forward auth through oauth2-proxy", () => {
    let shared: Record<string, string>;
    /** oauth2-proxy sessions of alice and bob, signed in through the IdP. */
    let alice = "";
    let bob = "";
    before(async function () {
      this.timeout(60_000);
      shared = await sharedOf(stack);
      alice = await signInThroughProxy("alice");
      bob = await signInThroughProxy("bob");
    });
    /** A route's forward-auth URL as nginx has it, at the local oauth2-proxy. */
    const authUrl = (service: string) => {
      const u = new URL(shared[forwardAuthKey(service)]);
      return `${proxy!.base}${u.pathname}${u.search}`;
    };
    const authRequest = async (service: string, cookie?: string) => {
      const r = await fetch(authUrl(service), {
        headers: {
          "X-Original-URL": `https://${service}.apps.example.org/`,
          "X-Forwarded-Proto": "https",
          "X-Forwarded-Host": `${service}.apps.example.org`,
          "X-Forwarded-Uri": "/",
          ...(cookie ? { Cookie: cookie } : {}),
        },
        redirect: "manual",
      });
      await r.text();
      return {
        status: r.status,
        user: r.headers.get("remote-user"),
        groups: r.headers.get("remote-groups"),
        email: r.headers.get("remote-email"),
        name: r.headers.get("remote-name"),
      };
    };

    /** nginx's 401 redirect → oauth2-proxy's start → the IdP → the callback: oauth2-proxy's session cookie. */
    async function signInThroughProxy(person: string): Promise<string> {
      const rd = "https://wiki.apps.example.org/page?x=1";
      const start = await fetch(
        `${shared.portalUrl.replace("https://oauth2.apps.example.org", proxy!.base)}?rd=${encodeURIComponent(rd)}`,
        { headers: proxyForwarded, redirect: "manual" },
      );
      assert.equal(start.status, 302, await start.text());
      const jar = cookiesOf(start);
      const toIdp = start.headers.get("location")!;
      const wiki = await resultOf(stack, "wiki");
      assert.ok(toIdp.startsWith(`${wiki.authorizationEndpoint}?`), toIdp);
      const q = new URL(toIdp).searchParams;
      assert.equal(q.get("client_id"), "psf-forward-auth");
      assert.equal(q.get("redirect_uri"), "https://oauth2.apps.example.org/oauth2/callback");

      const idpCookie = (await idp!.signIn(person, passwords[person]))!;
      const callback = await authorize(toIdp, idpCookie);
      assert.equal(
        `${callback.origin}${callback.pathname}`,
        "https://oauth2.apps.example.org/oauth2/callback",
      );
      const done = await fetch(`${proxy!.base}${callback.pathname}${callback.search}`, {
        headers: { ...proxyForwarded, Cookie: cookieHeader(jar) },
        redirect: "manual",
      });
      const body = await done.text();
      assert.equal(done.status, 302, `${body}\n${proxy!.log()}`);
      assert.equal(done.headers.get("location"), rd);
      return cookieHeader(cookiesOf(done, jar));
    }

    it("refuses a request without a session (401), which nginx sends to the sign-in that lands at the IdP", async () => {
      assert.equal((await authRequest("wiki")).status, 401);
      assert.equal((await authRequest("notes")).status, 401);
    });

    it("lets alice (admins) through to the admins-only route with her identity headers, and refuses bob (403)", async () => {
      assert.deepEqual(await authRequest("wiki", alice), {
        status: 202,
        user: "alice",
        groups: "admins,family",
        email: "alice@idp.example.net",
        name: "Alice",
      });
      assert.equal((await authRequest("wiki", bob)).status, 403);
      // A route for anyone signed in lets bob through; one for bob (by email) refuses alice.
      assert.deepEqual(
        [(await authRequest("notes", bob)).user, (await authRequest("photos", bob)).user],
        ["bob", "bob"],
      );
      assert.equal((await authRequest("photos", alice)).status, 403);
      // A forged cookie is no session.
      assert.equal((await authRequest("wiki", alice.replace(/=(.)/, "=x$1"))).status, 401);
    });

    it("through a real nginx on the stack's routes: the sign-in redirect, alice's identity at the app, bob refused", async function () {
      requireProgram(this, "nginx");
      this.timeout(60_000);
      const echo = await startEcho();
      const ndir = path.join(dir, "nginx");
      const paths = {
        config: path.join(ndir, "nginx.conf"),
        certDir: path.join(ndir, "certs"),
        pid: path.join(ndir, "nginx.pid"),
        acmeRoot: path.join(ndir, "acme"),
        errorLog: path.join(ndir, "error.log"),
        accessLog: path.join(ndir, "access.log"),
        tempDir: path.join(ndir, "tmp"),
      };
      for (const d of [paths.certDir, paths.acmeRoot, paths.tempDir])
        fs.mkdirSync(d, { recursive: true });
      // The stack's own routes, their upstreams swapped for the echo app on loopback.
      const { plan: planned } = validateConfig(fixture(), "test", registry);
      const routes = planned!.providers.find((p) => p.contract === "proxy")!.requests as Record<
        string,
        ProxyRoute
      >;
      const services = ["wiki", "notes", "photos"];
      const local: Record<string, ProxyRoute> = {};
      for (const s of services) {
        local[s] = {
          ...routes[s],
          upstream: { host: "127.0.0.1", port: echo.port, scheme: "http" },
        };
        const c = ca.issue(routes[s].host);
        fs.writeFileSync(certFiles(paths, routes[s].host).cert, c.certPem);
        fs.writeFileSync(certFiles(paths, routes[s].host).key, c.keyPem, { mode: 0o600 });
      }
      const toLocal = (u: string) => u.replace(/^http:\/\/oauth2-proxy:4180/, proxy!.base);
      const [http, httpsPort, health] = [await freePort(), await freePort(), await freePort()];
      const settings = {
        ...(check({}, nginxSettingsSpec, "providers.proxy", []) as NginxSettings),
        httpsPort,
        resolver: "",
      };
      fs.writeFileSync(
        paths.config,
        renderNginxConfig(local, settings, {
          paths,
          listen: { address: "127.0.0.1", http, https: httpsPort, health },
          sso: {
            forwardAuthUrl: toLocal(shared.forwardAuthUrl),
            portalUrl: shared.portalUrl,
            forwardAuthUrls: Object.fromEntries(
              services.map((s) => [s, toLocal(shared[forwardAuthKey(s)])]),
            ),
          },
          user: "root",
        }),
      );
      const nginx = spawn(
        "nginx",
        ["-p", ndir, "-e", paths.errorLog, "-c", paths.config, "-g", "daemon off;"],
        { stdio: "ignore" },
      );
      try {
        for (let i = 0; ; i++) {
          const up = await fetch(`http://127.0.0.1:${health}/psf-health`).then(
            (r) => r.ok,
            () => false,
          );
          if (up) break;
          if (i > 50 || nginx.exitCode !== null)
            throw new Error(`nginx did not start: ${fs.readFileSync(paths.errorLog, "utf8")}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        const get = (host: string, cookie?: string) =>
          httpsCall(
            { host, port: httpsPort, path: "/page", headers: cookie ? { Cookie: cookie } : {} },
            ca.certPem,
          );
        const anon = await get("wiki.apps.example.org");
        assert.equal(anon.status, 302);
        assert.equal(
          anon.headers.location,
          `https://oauth2.apps.example.org/oauth2/start?rd=https://wiki.apps.example.org:${httpsPort}/page`,
        );
        const seen = await get("wiki.apps.example.org", alice);
        assert.equal(seen.status, 200, seen.body.toString());
        const h = seen.json().headers;
        assert.deepEqual(
          [h["remote-user"], h["remote-groups"], h["remote-email"], h["remote-name"]],
          ["alice", "admins,family", "alice@idp.example.net", "Alice"],
        );
        assert.equal((await get("wiki.apps.example.org", bob)).status, 403);
        assert.equal((await get("photos.apps.example.org", alice)).status, 403);
        assert.equal(
          (await get("photos.apps.example.org", bob)).json().headers["remote-user"],
          "bob",
        );
      } finally {
        nginx.kill();
        await echo.stop();
      }
    });
  });
});
