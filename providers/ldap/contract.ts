import { defineSpec, Infer } from "../../components/validate/infer";
import type * as pulumi from "@pulumi/pulumi";
import { ContractDefinition } from "../../components/contract";
import type { ProviderInstance } from "../../components/provider";
import { sdk } from "../../components/sdk";

/**
 * Where the directory is, the app's bind account, and how its people and groups are laid out:
 * an app builds its searches from these (people: `(&(<usernameAttribute>=<name>)<usersFilter>)`
 * below `usersDn`; a person's groups: `(&(<memberAttribute>=<person's DN>)<groupsFilter>)` below
 * `groupsDn`), never from one server's conventions.
 */
export interface LdapResult {
  url: string;
  baseDn: string;
  usersDn: string;
  groupsDn: string;
  bindDn: string;
  /** Secret. */
  bindPassword: string;
  /** An LDAP filter matching every person entry (e.g. `(objectClass=inetOrgPerson)`). */
  usersFilter: string;
  /** An LDAP filter matching every group entry (e.g. `(objectClass=groupOfNames)`). */
  groupsFilter: string;
  /** The person's login name (e.g. `uid`). */
  usernameAttribute: string;
  mailAttribute: string;
  displayNameAttribute: string;
  /** A group's name (e.g. `cn`). */
  groupNameAttribute: string;
  /** The group attribute holding its members' DNs (e.g. `member`). */
  memberAttribute: string;
  adminUrl?: string;
}

/** An ldap provider: its results, and the people's initial passwords it set. */
export interface LdapProvider extends ProviderInstance<LdapResult> {
  /** People's initial credentials (secret), exported as the stack output `accounts`. */
  readonly accounts?: pulumi.Output<Record<string, unknown>>;
}

export const ldapRequestSpec = defineSpec({
  type: "object",
  fields: {
    groups: {
      type: "list",
      items: { type: "string", format: "name" },
      unique: true,
      default: [],
      doc: "groups the app needs beyond `psf:users` (created if missing)",
    },
  },
});

/** Read access to the stack's LDAP directory. */
export type LdapRequest = Infer<typeof ldapRequestSpec>;

export const ldapContract: ContractDefinition<LdapRequest, LdapResult, LdapRequest, LdapProvider> =
  {
    name: "ldap",
    description: "an LDAP directory with the stack's users and groups, and a bind account",
    request: ldapRequestSpec,
    resultFields: [
      "url",
      "baseDn",
      "usersDn",
      "groupsDn",
      "bindDn",
      "bindPassword",
      "usersFilter",
      "groupsFilter",
      "usernameAttribute",
      "mailAttribute",
      "displayNameAttribute",
      "groupNameAttribute",
      "memberAttribute",
      "adminUrl",
    ],
    secretFields: ["bindPassword"],
    // People live in the directory when the stack has one: their initial passwords are its.
    stackOutputs: (provider) => ({
      accounts: provider?.accounts && sdk().secret(provider.accounts),
    }),
  };
