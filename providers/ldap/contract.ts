import { ContractDefinition } from "../../components/contract";

/** Read access to the stack's LDAP directory. */
export interface LdapRequest {
  /** Extra groups the app needs (created if missing). */
  groups: string[];
}

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

export const ldapContract: ContractDefinition<LdapRequest> = {
  name: "ldap",
  description: "an LDAP directory with the stack's users and groups, and a bind account",
  request: {
    type: "object",
    fields: {
      groups: {
        type: "list",
        items: { type: "string", format: "name" },
        unique: true,
        default: [],
      },
    },
  },
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
};
