import { strict as assert } from "assert";
import { spawnSync } from "child_process";
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
import { forwardAuthKey } from "../../providers/sso/contract";
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
