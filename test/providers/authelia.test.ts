import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { generateKeyPairSync, randomBytes } from "crypto";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import Ajv from "ajv";
import * as YAML from "yaml";
import { PlannedResource, evaluate, isSecretValue, mask } from "../../cli/mock-engine";
import { readStackFile } from "../../components/stack-file";
import { runProgram, validateConfig } from "../../components/program";
import { PsfStack } from "../../components/stack";
import { registry } from "../../providers";
import schema from "./fixtures/authelia-config.schema.json";

const fixture = () =>
  structuredClone(
    readStackFile(path.join(__dirname, "fixtures", "Pulumi.authelia.yaml")).raw,
  ) as any;
const plan = (raw = fixture()) =>
  evaluate(registry, raw, "test", (r, s) => runProgram(registry, { raw: r, stackName: s }));
const container = (rs: PlannedResource[], name: string) =>
  rs.find((r) => r.type === "docker:index/container:Container" && r.name === name)!;
const upload = (c: PlannedResource, file: string): string =>
  (mask(c.inputs.uploads, true) as Array<{ file: string; content: string }>).find(
    (u) => u.file === file,
  )!.content;
const envOf = (c: PlannedResource): Record<string, string> =>
  Object.fromEntries(
    (mask(c.inputs.envs, true) as string[]).map((e) => [
      e.slice(0, e.indexOf("=")),
      e.slice(e.indexOf("=") + 1),
    ]),
  );

const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
/** The mocked engine's RSA key is not real PEM; the schema checks the PEM shape, so use a real one. */
const realKey = generateKeyPairSync("rsa", { modulusLength: 2048 })
  .privateKey.export({ type: "pkcs1", format: "pem" })
  .toString();

const PYTHONPATH = [path.join(os.homedir(), ".cache", "psf", "python"), process.env.PYTHONPATH]
  .filter(Boolean)
  .join(":");

/** passlib is installed by .ci/run into ~/.cache/psf/python; without it the digest checks skip (fail in CI). */
function requirePasslib(ctx: Mocha.Context): void {
  if (
    spawnSync("python3", ["-c", "import passlib"], { env: { ...process.env, PYTHONPATH } })
      .status === 0
  )
    return;
  if (process.env.PSF_REQUIRE_REAL === "1")
    throw new Error("passlib is missing (.ci/run installs it into ~/.cache/psf/python)");
  ctx.skip();
}

/** Verifies `$pbkdf2-sha512$` digests with passlib: an implementation that is not ours. */
function passlibVerify(pairs: Array<[secret: string, digest: string]>): boolean[] {
  const r = spawnSync(
    "python3",
    [
      "-c",
      "import json,sys\nfrom passlib.hash import pbkdf2_sha512\nprint(json.dumps([pbkdf2_sha512.verify(s, d) for s, d in json.load(sys.stdin)]))",
    ],
    { input: JSON.stringify(pairs), encoding: "utf8", env: { ...process.env, PYTHONPATH } },
  );
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe("authelia (sso)", () => {
  let resources: PlannedResource[];
  let config: any;
  let configText: string;
  before(async function () {
    this.timeout(120_000);
    resources = await plan();
    configText = upload(container(resources, "authelia"), "/config/configuration.yml");
    config = YAML.parse(configText);
  });

  it("renders a configuration.yml that passes the schema of the Authelia 4.38 keys PSF emits", () => {
    const withRealKey = structuredClone(config);
    withRealKey.identity_providers.oidc.jwks[0].key = realKey;
    assert.ok(validate(withRealKey), JSON.stringify(validate.errors, null, 2));
  });

  it("whose schema refuses what Authelia refuses: unknown keys and scopes, a confidential client without secret", () => {
    const broken = (edit: (c: any) => void) => {
      const c = structuredClone(config);
      c.identity_providers.oidc.jwks[0].key = realKey;
      edit(c);
      return validate(c);
    };
    assert.equal(
      broken(() => undefined),
      true,
    );
    assert.equal(
      broken((c) => (c.sesion = {})),
      false,
    );
    assert.equal(
      broken((c) => c.identity_providers.oidc.clients[0].scopes.push("admin")),
      false,
    );
    assert.equal(
      broken(
        (c) => delete c.identity_providers.oidc.clients.find((x: any) => !x.public).client_secret,
      ),
      false,
    );
    assert.equal(
      broken((c) => (c.access_control.default_policy = "one_factor")),
      false,
    );
  });

  it("stores each confidential client's secret only as a pbkdf2-sha512 digest that passlib verifies", function () {
    requirePasslib(this);
    const wiki = config.identity_providers.oidc.clients.find((c: any) => c.client_id === "wiki");
    const secret = envOf(container(resources, "wiki")).OIDC_CLIENT_SECRET;
    assert.ok(secret.length >= 32, "the app receives the plain secret");
    assert.ok(!configText.includes(secret), "the plain secret is not in Authelia's config");
    assert.match(wiki.client_secret, /^\$pbkdf2-sha512\$310000\$/);
    assert.deepEqual(
      passlibVerify([
        [secret, wiki.client_secret],
        [`${secret}x`, wiki.client_secret],
      ]),
      [true, false],
    );
  });

  it("gives every person a password digest passlib verifies against the generated password", function () {
    requirePasslib(this);
    const users = YAML.parse(
      upload(container(resources, "authelia"), "/config/users_database.yml"),
    ).users;
    assert.deepEqual(Object.keys(users), ["alice", "bob"]);
    assert.deepEqual(users.alice.groups, ["admins", "family"]);
    // The offline engine's generated values are `mock-password-<resource name>` (cli/mock-outputs.ts).
    const ok = passlibVerify([
      ["mock-password-authelia-user-alice", users.alice.password],
      ["mock-password-authelia-user-bob", users.alice.password],
    ]);
    assert.deepEqual(ok, [true, false]);
  });

  it("writes digests in the adapted base64 Authelia parses (no +, no padding), whatever the bytes", () => {
    const { pbkdf2Sha512Digest } =
      require("../../providers/sso/authelia-digest") as typeof import("../../providers/sso/authelia-digest");
    for (let i = 0; i < 40; i++) {
      const d = pbkdf2Sha512Digest(`secret-${i}`, randomBytes(16), 1000);
      assert.match(d, /^\$pbkdf2-sha512\$1000\$[a-zA-Z0-9/.]{22}\$[a-zA-Z0-9/.]{86}$/);
    }
  });

  it("renders the same digests on every evaluation (salts are state), so a second preview changes nothing", async () => {
    const again = upload(container(await plan(), "authelia"), "/config/configuration.yml");
    assert.equal(again, configText);
  });

  it("denies by default and allows each proxied service's level to the people its sso request names", () => {
    assert.equal(config.access_control.default_policy, "deny");
    assert.deepEqual(config.access_control.rules, [
      { domain: "admin.home.example.org", policy: "two_factor" },
      { domain: "wiki.home.example.org", policy: "one_factor", subject: ["group:admins"] },
    ]);
    const clients = Object.fromEntries(
      config.identity_providers.oidc.clients.map((c: any) => [c.client_id, c]),
    );
    assert.equal(clients.wiki.authorization_policy, "psf_wiki");
    assert.deepEqual(config.identity_providers.oidc.authorization_policies.psf_photos, {
      default_policy: "deny",
      rules: [{ policy: "two_factor", subject: ["user:bob"] }],
    });
    assert.equal(clients.photos.public, true);
    assert.equal(clients.photos.client_secret, undefined);
    assert.deepEqual(clients.wiki.redirect_uris, [
      "https://wiki.home.example.org:8443/login/callback",
    ]);
    assert.equal(config.session.cookies[0].authelia_url, "https://login.home.example.org:8443");
  });

  it("keeps its storage in the database contract and its portal behind the proxy, which asks it at auth-request", () => {
    assert.equal(config.storage.postgres.address, "tcp://postgres:5432");
    assert.equal(config.storage.postgres.database, "authelia");
    const nginx = upload(container(resources, "nginx"), "/etc/nginx/nginx.conf");
    assert.match(nginx, /server_name login\.home\.example\.org;/);
    assert.match(nginx, /http:\/\/authelia:9091\/api\/authz\/auth-request/);
    assert.match(nginx, /https:\/\/login\.home\.example\.org:8443\/\?rd=/);
  });

  it("keeps the config, the users file and every client secret secret", () => {
    const c = container(resources, "authelia");
    const uploads = c.inputs.uploads as unknown;
    const leaks = JSON.stringify(mask(uploads));
    for (const needle of ["mock-password-authelia", "pbkdf2-sha512", "PRIVATE KEY"])
      assert.ok(!leaks.includes(needle), needle);
    // The app's env embeds the client secret: the Docker target keeps that env list secret.
    assert.ok(isSecretValue(container(resources, "wiki").inputs.envs));
  });

  it("refuses a scope Authelia does not grant, at its index", () => {
    const raw = fixture();
    raw.services.photos.needs.sso.scopes = ["openid", "admin"];
    const { issues } = validateConfig(raw, "test", registry);
    assert.deepEqual(
      issues.map((i) => i.path),
      ["services.photos.needs.sso.scopes[1]"],
    );
    assert.match(issues[0].hint ?? "", /openid, offline_access, groups, email, profile/);
  });
});

describe("authelia (sso) secrets in psf plan --json --stack dev", () => {
  const root = path.join(__dirname, "..", "..");
  const psfPlan = (...flags: string[]) => {
    const r = spawnSync(
      process.execPath,
      [path.join(root, "bin", "psf.js"), "plan", "--json", "--stack", "dev", ...flags],
      {
        cwd: root,
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const planned = (out: string, name: string) =>
    (JSON.parse(out).resources as PlannedResource[]).find(
      (r) => r.type === "docker:index/container:Container" && r.name === name,
    )!;

  it("shows none of Authelia's generated secrets, its issuer key or a client secret, which --show-secrets reveals", function () {
    this.timeout(120_000);
    const masked = psfPlan();
    const revealed = psfPlan("--show-secrets");
    const uploads = planned(revealed, "authelia").inputs.uploads as Array<{
      file: string;
      content: string;
    }>;
    const config = YAML.parse(uploads.find((u) => u.file === "/config/configuration.yml")!.content);
    const env = Object.fromEntries(
      (planned(revealed, "whoami").inputs.envs as string[]).map((e) =>
        e.split(/=(.*)/s).slice(0, 2),
      ),
    );
    const secrets: Record<string, string> = {
      jwt: config.identity_validation.reset_password.jwt_secret,
      session: config.session.secret,
      storage: config.storage.encryption_key,
      hmac: config.identity_providers.oidc.hmac_secret,
      issuerKey: config.identity_providers.oidc.jwks[0].key,
      databasePassword: config.storage.postgres.password,
      clientSecret: env.OIDC_CLIENT_SECRET,
    };
    for (const [what, value] of Object.entries(secrets)) {
      assert.ok(typeof value === "string" && value.length >= 20, `${what} is generated`);
      // A PEM is indented inside the YAML: look for its body lines.
      const needles = value.includes("\n")
        ? value.split("\n").filter((l) => l.length >= 12 && !l.startsWith("-----"))
        : [value];
      for (const needle of needles.map((n) => JSON.stringify(n).slice(1, -1))) {
        assert.ok(revealed.includes(needle), `${what} is in the revealed plan`);
        assert.ok(!masked.includes(needle), `${what} leaks into the masked plan`);
      }
    }
    // Authelia's config holds the client's digest, never the plain secret.
    assert.ok(!JSON.stringify(config).includes(secrets.clientSecret));
  });

  it("hands each requester its clientSecret as a Pulumi secret, and the other results in the clear", async () => {
    let stack: PsfStack | undefined;
    await evaluate(
      registry,
      fixture(),
      "test",
      (r, s) => (stack = runProgram(registry, { raw: r, stackName: s })),
    );
    const results = stack!.providers.sso!.results;
    assert.deepEqual(Object.keys(results).sort(), ["photos", "wiki"]);
    for (const result of Object.values(results))
      for (const [field, value] of Object.entries(result))
        assert.equal(await pulumi.isSecret(pulumi.output(value)), field === "clientSecret", field);
  });

  it("writes the configuration into a Kubernetes Secret on the k8s target, never a ConfigMap", async () => {
    const raw = structuredClone(
      readStackFile(path.join(root, "stacks", "Pulumi.k8s.yaml")).raw,
    ) as any;
    const rs = await evaluate(registry, raw, "k8s", (r, s) =>
      runProgram(registry, { raw: r, stackName: s }),
    );
    const holders = rs.filter((r) =>
      JSON.stringify(mask(r.inputs, true)).includes("Generated by PSF (authelia provider)"),
    );
    assert.ok(holders.length > 0);
    for (const r of holders) assert.equal(r.type, "kubernetes:core/v1:Secret", r.name);
  });
});
