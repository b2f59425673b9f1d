import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { readStackFile } from "../../components/stack-file";
import { validateConfig } from "../../components/program";
import { registry } from "../../providers";
import { LdapProvider, LdapRequest } from "../../providers/ldap/contract";
import { Users } from "../contracts/ldap";
import { RunningAuthelia, autheliaCli, renderAuthelia, startAuthelia } from "../support/authelia";
import { freePort } from "../contracts/proxy";
import { valueOf } from "../support/mocks";
import { PG_BIN, TestPostgres, requireProgram, startPostgres } from "../support/real";
import { LocalSlapd, SLAPD } from "../support/slapd";

const FIXTURE = path.join(__dirname, "fixtures", "Pulumi.openldap.yaml");

/**
 * Authelia on LDAP, live: the stack's Authelia configuration (its LDAP backend built from the
 * openldap provider's result) served by a real Authelia, against a real slapd provisioned by the
 * openldap provider's own script with the passwords the stack generated. People sign in with
 * their directory passwords, and their directory groups decide the access rules.
 */
describe("authelia on openldap: a real Authelia signing people in against a real slapd", function () {
  let slapd: LocalSlapd | undefined;
  let pg: TestPostgres | undefined;
  let authelia: RunningAuthelia | undefined;
  let dir = "";
  let users: Users;
  let requests: Record<string, LdapRequest>;
  let accounts: Record<string, { password: string }>;
  const wiki = "https://wiki.home.example.org:8443/page";
  const photos = "https://photos.home.example.org:8443/";
  const portal = new URL("https://login.home.example.org:8443");

  before(async function () {
    this.timeout(120_000);
    const cli = autheliaCli(this);
    requireProgram(this, SLAPD);
    requireProgram(this, `${PG_BIN}/initdb`);
    const raw = readStackFile(FIXTURE).raw;
    const plan = validateConfig(structuredClone(raw), "test", registry).plan!;
    users = plan.stack.users;
    requests = plan.providers.find((p) => p.contract === "ldap")!.requests;
    const rendered = await renderAuthelia(raw);
    const ldap = rendered.stack.providers.ldap as LdapProvider;
    accounts = (await valueOf(ldap.accounts!)) as typeof accounts;

    // The directory, provisioned by the provider's script with the stack's generated passwords.
    slapd = new LocalSlapd(plan.stack.domain, await freePort());
    await slapd.ready();
    for (const [person, a] of Object.entries(accounts)) slapd.passwords.people[person] = a.password;
    for (const requester of Object.keys(requests))
      slapd.passwords.apps[requester] = (await valueOf(ldap.results[requester].bindPassword))!;
    slapd.provision(users, requests);

    // Authelia's rendered configuration, with only the container addresses swapped for local ones.
    const config = YAML.parse(rendered.config);
    assert.equal(config.authentication_backend.ldap.address, "ldap://openldap:389");
    config.authentication_backend.ldap.address = `ldap://127.0.0.1:${slapd.paths.port}`;
    pg = startPostgres();
    const db = config.storage.postgres;
    pg.query(`CREATE ROLE ${db.username} LOGIN PASSWORD '${db.password}'`);
    pg.query(`CREATE DATABASE ${db.database} OWNER ${db.username}`);
    config.storage.postgres.address = `tcp://${pg.host}:${pg.port}`;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-authelia-ldap-"));
    config.notifier.filesystem.filename = path.join(dir, "notification.txt");
    authelia = await startAuthelia(cli, dir, config, {
      "X-Forwarded-Proto": "https",
      "X-Forwarded-Host": portal.host,
    });
  });

  after(() => {
    authelia?.stop();
    pg?.stop();
    slapd?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("signs people in with their initial directory passwords, and refuses a wrong one", async () => {
    assert.ok(await authelia!.signIn("alice", accounts.alice.password));
    assert.ok(await authelia!.signIn("bob", accounts.bob.password));
    assert.equal(await authelia!.signIn("alice", accounts.bob.password), undefined);
    assert.equal(await authelia!.signIn("mallory", accounts.alice.password), undefined);
  });

  it("lets alice (admins in LDAP) into the admins-only wiki and refuses bob (family only)", async () => {
    const alice = await authelia!.signIn("alice", accounts.alice.password);
    const bob = await authelia!.signIn("bob", accounts.bob.password);
    const a = await authelia!.authRequest(wiki, alice);
    assert.deepEqual([a.status, a.user], [200, "alice"]);
    assert.deepEqual(a.groups?.split(",").sort(), ["admins", "family"]);
    assert.equal((await authelia!.authRequest(wiki, bob)).status, 403);
    // photos asks only for sign-in: both may.
    assert.equal((await authelia!.authRequest(photos, bob)).status, 200);
  });

  it("follows the directory: alice out of admins is refused, bob put in is let in", async () => {
    const edited: Users = structuredClone(users);
    edited.people.alice.groups = ["family"];
    edited.people.bob.groups = ["admins", "family"];
    slapd!.provision(edited, requests);
    const alice = await authelia!.signIn("alice", accounts.alice.password);
    const bob = await authelia!.signIn("bob", accounts.bob.password);
    assert.equal((await authelia!.authRequest(wiki, alice)).status, 403);
    assert.deepEqual(
      [
        (await authelia!.authRequest(wiki, bob)).status,
        (await authelia!.authRequest(wiki, bob)).user,
      ],
      [200, "bob"],
    );
  });
});
