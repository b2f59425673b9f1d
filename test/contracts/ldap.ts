import { strict as assert } from "assert";
import type { StackSettings } from "../../components/config";
import { LdapRequest, LdapResult } from "../../providers/ldap/contract";
import {
  Bind,
  LdapError,
  canBind,
  changeOwnPassword,
  modify,
  search,
} from "../support/ldap-client";
import { requireProgram } from "../support/real";

/**
 * The ldap contract, as every ldap provider must honour it with its real server: each app
 * binds with its result's account and reads, never writes; the people and groups of
 * `psf:users` (and the groups apps ask for) are found with the result's filters and
 * attributes, membership included; a person's initial password from `accounts` verifies;
 * provisioning again changes nothing, keeps a password a person changed, follows edits of
 * `psf:users` and removes who is no longer there. The suite speaks plain LDAP through
 * ldap-utils; a provider's test calls `ldapContractSuite` with an adapter that runs the
 * provider's own configuration and provisioning against its server on loopback.
 */

export type Users = StackSettings["users"];

/** What a person gets (the `accounts` stack output). */
export interface Account {
  username: string;
  password: string;
}

export interface Provisioned {
  /** Requester → its `ldap` result, with a URL this test process reaches. */
  results: Record<string, LdapResult>;
  accounts: Record<string, Account>;
}

export interface RunningDirectory {
  /**
   * Provisions as the provider does on a deploy, with generated passwords kept per person and
   * per requester across calls (as Pulumi state keeps them).
   */
  provision(users: Users, requests: Record<string, LdapRequest>): Provisioned;
  /** Every entry with its operational attributes (change stamps), as the server's manager sees it. */
  snapshot(): string;
  stop(): void;
}

export interface LdapAdapter {
  /** Real programs the adapter runs (the suite is skipped with a reason where one is missing). */
  programs: string[];
  /** Starts an empty server for `psf:domain` = domain; resolves once it serves. */
  start(domain: string): Promise<RunningDirectory>;
}

const CLIENT_TOOLS = ["ldapsearch", "ldapwhoami", "ldapmodify", "ldappasswd"];

export function ldapContractSuite(providerName: string, adapter: LdapAdapter): void {
  describe(`ldap contract with a real server: ${providerName}`, function () {
    let dir: RunningDirectory;
    let first: Provisioned;
    const users: Users = {
      groups: ["admins", "family", "nobody-yet"],
      people: {
        alice: {
          email: "alice@example.org",
          displayName: "Alice Liddell",
          groups: ["admins", "family"],
        },
        bob: { email: "bob@example.org", groups: ["family"] },
        zoe: { email: "zoe@example.org", displayName: "Zoë Ångström", groups: [] },
      },
    };
    const requests: Record<string, LdapRequest> = {
      authelia: { groups: [] },
      wiki: { groups: ["wiki-editors"] },
    };
    const app = (r: LdapResult): Bind => ({ url: r.url, dn: r.bindDn, password: r.bindPassword });
    const wiki = () => first.results.wiki;

    /** A person's entry, found as an app finds it: by username below usersDn. */
    const person = (r: LdapResult, username: string) => {
      const found = search(
        app(r),
        r.usersDn,
        `(&(${r.usernameAttribute}=${username})${r.usersFilter})`,
        [r.usernameAttribute, r.mailAttribute, r.displayNameAttribute],
      );
      assert.ok(found.length <= 1, `one entry for ${username}`);
      return found[0];
    };
    /** The names of a person's groups, found through the member attribute. */
    const groupsOf = (r: LdapResult, dn: string) =>
      search(app(r), r.groupsDn, `(&(${r.memberAttribute}=${dn})${r.groupsFilter})`, [
        r.groupNameAttribute,
      ])
        .map((g) => g.attrs[r.groupNameAttribute][0])
        .sort();
    const signIn = (r: LdapResult, username: string, password: string) =>
      canBind({ url: r.url, dn: person(r, username).dn, password });

    before(async function () {
      for (const p of [...adapter.programs, ...CLIENT_TOOLS]) requireProgram(this, p);
      dir = await adapter.start("home.example.org");
      first = dir.provision(users, requests);
    });
    after(() => dir?.stop());

    it("gives each requesting app a bind account that binds with the result's password, and refuses a wrong one", () => {
      assert.deepEqual(Object.keys(first.results).sort(), ["authelia", "wiki"]);
      assert.notEqual(first.results.authelia.bindDn, wiki().bindDn);
      assert.notEqual(first.results.authelia.bindPassword, wiki().bindPassword);
      for (const r of Object.values(first.results)) {
        assert.equal(r.baseDn, "dc=home,dc=example,dc=org");
        assert.ok(canBind(app(r)), r.bindDn);
        assert.equal(canBind({ ...app(r), password: `${r.bindPassword}x` }), false);
      }
    });

    it("finds every person below usersDn with usersFilter, with username, mail and display name", () => {
      const r = wiki();
      const all = search(app(r), r.usersDn, r.usersFilter, [r.usernameAttribute]);
      assert.deepEqual(all.map((e) => e.attrs[r.usernameAttribute][0]).sort(), [
        "alice",
        "bob",
        "zoe",
      ]);
      const alice = person(r, "alice");
      assert.deepEqual(alice.attrs[r.mailAttribute], ["alice@example.org"]);
      assert.deepEqual(alice.attrs[r.displayNameAttribute], ["Alice Liddell"]);
      assert.deepEqual(person(r, "zoe").attrs[r.displayNameAttribute], ["Zoë Ångström"]);
      assert.equal(person(r, "mallory"), undefined);
    });

    it("finds every group of psf:users and those apps ask for below groupsDn with groupsFilter", () => {
      const r = wiki();
      const groups = search(app(r), r.groupsDn, r.groupsFilter, [r.groupNameAttribute]);
      assert.deepEqual(groups.map((g) => g.attrs[r.groupNameAttribute][0]).sort(), [
        "admins",
        "family",
        "nobody-yet",
        "wiki-editors",
      ]);
    });

    it("puts people in their groups: a group's member attribute holds their DN", () => {
      const r = first.results.authelia;
      assert.deepEqual(groupsOf(r, person(r, "alice").dn), ["admins", "family"]);
      assert.deepEqual(groupsOf(r, person(r, "bob").dn), ["family"]);
      assert.deepEqual(groupsOf(r, person(r, "zoe").dn), []);
    });

    it("verifies each person's initial password from accounts, and refuses a wrong one", () => {
      assert.deepEqual(Object.keys(first.accounts).sort(), ["alice", "bob", "zoe"]);
      assert.equal(
        new Set(Object.values(first.accounts).map((a) => a.password)).size,
        3,
        "a password each",
      );
      for (const [name, a] of Object.entries(first.accounts)) {
        assert.equal(a.username, name);
        assert.ok(signIn(wiki(), name, a.password), name);
        assert.equal(signIn(wiki(), name, first.accounts.bob.password), name === "bob");
      }
    });

    it("lets apps read, never write, and never read a password", () => {
      const r = wiki();
      const dn = person(r, "bob").dn;
      assert.throws(
        () =>
          modify(
            app(r),
            `dn: ${dn}\nchangetype: modify\nreplace: ${r.mailAttribute}\n${r.mailAttribute}: evil@example.org\n`,
          ),
        (e: unknown) => e instanceof LdapError && e.status === 50, // insufficientAccessRights
      );
      assert.deepEqual(person(r, "bob").attrs[r.mailAttribute], ["bob@example.org"]);
      const read = search(app(r), dn, "(objectClass=*)", ["userPassword"], "base");
      assert.equal(read[0].attrs.userPassword, undefined);
    });

    it("changes nothing when provisioning runs again", () => {
      const before = dir.snapshot();
      const again = dir.provision(users, requests);
      assert.equal(dir.snapshot(), before);
      assert.deepEqual(again, first);
    });

    it("keeps a password a person changed when provisioning runs again", () => {
      const r = wiki();
      const bob = { url: r.url, dn: person(r, "bob").dn, password: first.accounts.bob.password };
      changeOwnPassword(bob, "bobs-own-choice-42");
      dir.provision(users, requests);
      assert.ok(signIn(r, "bob", "bobs-own-choice-42"));
      assert.equal(signIn(r, "bob", first.accounts.bob.password), false);
    });

    it("follows psf:users edits: a changed mail and membership are replaced, a removed person is gone", () => {
      const edited: Users = {
        groups: ["admins", "family"],
        people: {
          alice: { ...users.people.alice, groups: ["family"] },
          bob: { email: "robert@example.org", groups: ["family", "admins"] },
        },
      };
      const zoeDn = person(wiki(), "zoe").dn;
      const now = dir.provision(edited, requests);
      const r = now.results.wiki;
      assert.deepEqual(person(r, "bob").attrs[r.mailAttribute], ["robert@example.org"]);
      assert.deepEqual(groupsOf(r, person(r, "alice").dn), ["family"]);
      assert.deepEqual(groupsOf(r, person(r, "bob").dn), ["admins", "family"]);
      assert.equal(person(r, "zoe"), undefined);
      assert.equal(
        canBind({ url: r.url, dn: zoeDn, password: first.accounts.zoe.password }),
        false,
      );
      assert.deepEqual(groupsOf(r, zoeDn), []);
      assert.deepEqual(Object.keys(now.accounts).sort(), ["alice", "bob"]);
      // A group no longer declared nor asked for goes too; an app's requested group stays.
      const groups = search(app(r), r.groupsDn, r.groupsFilter, [r.groupNameAttribute]);
      assert.deepEqual(groups.map((g) => g.attrs[r.groupNameAttribute][0]).sort(), [
        "admins",
        "family",
        "wiki-editors",
      ]);
    });

    it("removes an app's bind account when its request goes", () => {
      const gone = first.results.authelia;
      dir.provision(users, { wiki: requests.wiki });
      assert.equal(canBind(app(gone)), false);
      assert.ok(canBind(app(wiki())));
    });
  });
}
