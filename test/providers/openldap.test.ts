import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PlannedResource, mask } from "../../cli/mock-engine";
import { readStackFile } from "../../components/stack-file";
import { validateConfig } from "../../components/program";
import { PsfStack } from "../../components/stack";
import { registry } from "../../providers";
import { ldapContract } from "../../providers/ldap/contract";
import { OPENLDAP_IMAGE } from "../../providers/ldap/openldap";
import { LdapAdapter, Users, ldapContractSuite } from "../contracts/ldap";
import { LdapError, canBind, search } from "../support/ldap-client";
import { assertNoneInPlainInputs, declaredContainer, planStack } from "../support/mocked-provider";
import { isSecret, valueOf } from "../support/mocks";
import { requireProgram } from "../support/real";
import { LocalSlapd, SLAPD, startSlapd } from "../support/slapd";

const FIXTURE = path.join(__dirname, "fixtures", "Pulumi.openldap.yaml");
const fixture = () => structuredClone(readStackFile(FIXTURE).raw) as any;

const openldapAdapter: LdapAdapter = { programs: [SLAPD], start: startSlapd };

ldapContractSuite("openldap", openldapAdapter);

// ---------------------------------------------------------------- beyond the contract, real slapd

describe("openldap beyond the contract, with a real slapd", function () {
  let s: LocalSlapd;
  const users: Users = {
    groups: ["admins"],
    people: {
      alice: { email: "alice@example.org", groups: ["admins"] },
      bob: { email: "bob@example.org", groups: [] },
    },
  };
  const requests = { wiki: { groups: [] } };
  const manager = (filter: string, base: string, ...attrs: string[]) =>
    s.manage("ldapsearch", ["-LLL", "-o", "ldif-wrap=no", "-b", base, filter, ...attrs]);
  const personBind = (p: string, password: string) => ({
    url: `ldap://127.0.0.1:${s.paths.port}`,
    dn: `uid=${p},ou=people,${s.baseDn}`,
    password,
  });

  before(async function () {
    requireProgram(this, SLAPD);
    requireProgram(this, "slaptest");
    s = await startSlapd("example.org");
    s.provision(users, requests);
  });
  after(() => s?.stop());

  it("writes a slapd.conf that slaptest accepts, and slaptest refuses a broken one (the check can fail)", () => {
    const conf = fs.readFileSync(s.paths.config, "utf8");
    const check = (text: string) => {
      const file = path.join(s.dir, "check.conf");
      fs.writeFileSync(file, text);
      return spawnSync("slaptest", ["-u", "-f", file], { encoding: "utf8" });
    };
    const ok = check(conf);
    assert.equal(ok.status, 0, ok.stderr);
    assert.notEqual(check(conf.replace("access to *", "acess to *")).status, 0);
  });

  it("reports no change on a second provisioning run", () => {
    assert.match(
      s.provision(users, requests) && s.lastOutput,
      /^psf-ldap: provisioned \(0 changes\)$/m,
    );
    assert.doesNotMatch(s.lastOutput, /added|updated|removed|set the/);
  });

  it("has slapd hash passwords with Argon2 and store no password in the clear", () => {
    const stored = manager("(uid=alice)", s.baseDn, "userPassword");
    const b64 = /^userPassword:: (.+)$/m.exec(stored)![1];
    assert.match(Buffer.from(b64, "base64").toString("latin1"), /^\{ARGON2\}\$argon2/);
    assert.ok(!stored.includes(s.passwords.people.alice));
  });

  it("sets a bind account's password back when it was changed by hand", () => {
    const dn = `cn=wiki,ou=apps,${s.baseDn}`;
    s.manage("ldappasswd", ["-s", "changed-by-hand", dn]);
    const wiki = { url: `ldap://127.0.0.1:${s.paths.port}`, dn, password: s.passwords.apps.wiki };
    assert.equal(canBind(wiki), false);
    s.provision(users, requests);
    assert.match(s.lastOutput, /set the password of cn=wiki/);
    assert.ok(canBind(wiki));
  });

  it("removes entries made by hand below the units PSF owns, and leaves the rest of the tree alone", () => {
    s.manage(
      "ldapadd",
      [],
      [
        `dn: uid=mallory,ou=people,${s.baseDn}`,
        "objectClass: inetOrgPerson",
        "uid: mallory",
        "cn: Mallory",
        "sn: Mallory",
        "",
        `dn: ou=elsewhere,${s.baseDn}`,
        "objectClass: organizationalUnit",
        "ou: elsewhere",
        "",
      ].join("\n"),
    );
    s.provision(users, requests);
    assert.match(s.lastOutput, /removed uid=mallory,ou=people/);
    assert.equal(manager("(uid=mallory)", s.baseDn), "");
    assert.match(manager("(ou=elsewhere)", s.baseDn, "1.1"), /^dn: ou=elsewhere,/);
  });

  it("lets a person read their own entry but no one else's", () => {
    const alice = personBind("alice", s.passwords.people.alice);
    const own = search(alice, alice.dn, "(objectClass=*)", ["mail"], "base");
    assert.deepEqual(own[0].attrs.mail, ["alice@example.org"]);
    assert.throws(
      () => search(alice, personBind("bob", "").dn, "(objectClass=*)", ["mail"], "base"),
      (e: unknown) => e instanceof LdapError && e.status === 32, // hidden, as if absent
    );
  });

  it("is unhealthy until provisioned, and stops slapd when asked to (TERM)", async () => {
    const other = new LocalSlapd("example.net", s.paths.port + 1);
    try {
      await other.ready();
      assert.ok(other.healthy());
      fs.rmSync(other.paths.readyMarker);
      assert.equal(other.healthy(), false);
      other.reprovision();
      assert.ok(other.healthy());
    } finally {
      other.stop();
    }
    assert.ok(await other.exited(), "the start script exits once slapd has shut down");
  });
});

// ---------------------------------------------------------------- the provider in a plan (offline)

describe("openldap provider in a plan (offline engine)", () => {
  let stack: PsfStack;
  let declared: PlannedResource[];
  before(async () => ({ declared, stack } = await planStack(fixture())));
  const container = () => declaredContainer(declared, "openldap");

  it("runs one stateful slapd from its image, its data on a volume, its port unpublished", () => {
    const c = mask(container().inputs, true) as any;
    assert.ok(c.image.endsWith(OPENLDAP_IMAGE), c.image);
    assert.deepEqual(
      c.mounts.map((v: any) => [v.source, v.target]),
      [["psf-test-openldap-data", "/var/lib/ldap"]],
    );
    assert.deepEqual(c.ports, [], "reached over the stack's network only");
    assert.match(c.healthcheck.tests.join(" "), /psf-provisioned.*ldapsearch/);
    // The uploads hold the provisioning script, passwords inside: secret as a whole.
    assert.equal(mask((container().inputs as any).uploads), "[secret]");
    assert.deepEqual(c.uploads.map((u: any) => u.file).sort(), [
      "/etc/psf/ldap/provision.sh",
      "/etc/psf/ldap/slapd.conf",
    ]);
  });

  it("gives each requester every result field of the contract, the bind password secret", async () => {
    const results = stack.providers.ldap!.results;
    assert.deepEqual(Object.keys(results).sort(), ["authelia", "wiki"]);
    const wiki = results.wiki;
    assert.deepEqual(
      Object.keys(wiki).sort(),
      ldapContract.resultFields.filter((f) => f !== "adminUrl").sort(),
    );
    assert.equal(await valueOf(wiki.url), "ldap://openldap:389");
    assert.equal(await valueOf(wiki.baseDn), "dc=home,dc=example,dc=org");
    assert.equal(await valueOf(wiki.bindDn), "cn=wiki,ou=apps,dc=home,dc=example,dc=org");
    assert.equal(await valueOf(wiki.bindPassword), "mock-password-openldap-bind-wiki");
    assert.equal(await isSecret(wiki.bindPassword), true);
    assert.equal(await isSecret(wiki.usersFilter), false);
  });

  it("exports people's initial passwords as the secret accounts output, and puts none in plain inputs", async () => {
    assert.equal(await isSecret(stack.outputs.accounts), true);
    const accounts = (await valueOf(stack.outputs.accounts)) as Record<string, any>;
    assert.deepEqual(Object.keys(accounts).sort(), ["alice", "bob"]);
    assert.equal(accounts.alice.password, "mock-password-openldap-person-alice");
    assert.equal(accounts.alice.dn, "uid=alice,ou=people,dc=home,dc=example,dc=org");
    const signIn = (await valueOf(stack.outputs.signIn)) as any;
    assert.deepEqual(signIn, {
      portal: "https://login.home.example.org:8443",
      people: ["alice", "bob"],
    });
    assertNoneInPlainInputs(declared, /mock-password-openldap-/);
    assert.match(
      JSON.stringify(mask(container().inputs, true)),
      /mock-password-openldap-bind-wiki/,
    );
  });

  it("replaces slapd when its config changes (a new domain), not when only the directory does", async () => {
    const digest = async (edit: (raw: any) => void) => {
      const raw = fixture();
      edit(raw);
      const c = declaredContainer((await planStack(raw)).declared, "openldap");
      return (mask(c.inputs, true) as any).envs.find((e: string) =>
        e.startsWith("PSF_SLAPD_CONF_SHA256="),
      );
    };
    const base = await digest(() => undefined);
    assert.equal(
      await digest((raw) => (raw.users.people.carol = { email: "c@example.org" })),
      base,
    );
    assert.notEqual(await digest((raw) => (raw.domain = "example.net")), base);
  });
});

// ---------------------------------------------------------------- validation

describe("openldap provider validation", () => {
  const edit = (f: (raw: any) => void) => {
    const raw = fixture();
    f(raw);
    return validateConfig(raw, "t", registry).issues;
  };

  it("accepts the fixture", () =>
    assert.deepEqual(
      edit(() => undefined),
      [],
    ));

  it("names a misspelt setting at its path, with the setting it resembles", () => {
    const [issue, ...rest] = edit((raw) => (raw.providers.ldap.prot = 1389));
    assert.deepEqual(rest, []);
    assert.equal(issue.path, "providers.ldap.prot");
    assert.match(issue.hint!, /did you mean "port"\?/);
  });

  it("reports every bad setting at once: port range, log level, data size", () => {
    const issues = edit((raw) => {
      raw.providers.ldap.port = 0;
      raw.providers.ldap.logLevel = "verbose";
      raw.providers.ldap.dataSize = "lots";
    });
    assert.deepEqual(
      issues.map((i) => i.path),
      ["providers.ldap.port", "providers.ldap.logLevel", "providers.ldap.dataSize"],
    );
    assert.equal(issues[1].hint, "use one of: none, stats, acl, any");
  });

  it("refuses a requested group that is no name, at its index", () => {
    const issues = edit((raw) => (raw.services.wiki.needs.ldap.groups = ["ok", "Wiki Editors"]));
    assert.deepEqual(
      issues.map((i) => i.path),
      ["services.wiki.needs.ldap.groups[1]"],
    );
    assert.ok(issues[0].hint);
  });

  it("asks for an ldap provider when a service needs one, naming openldap", () => {
    const issues = edit((raw) => delete raw.providers.ldap);
    assert.deepEqual(
      issues.map((i) => [i.path, i.hint]),
      [["services.wiki.needs.ldap", "set providers.ldap: {use: openldap} (choices: openldap)"]],
    );
  });
});
