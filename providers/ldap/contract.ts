import { ContractDefinition } from "../../components/contract";

/** Read access to the stack's LDAP directory. */
export interface LdapRequest {
  /** Extra groups the app needs (created if missing). */
  groups: string[];
}

export interface LdapResult {
  url: string;
  baseDn: string;
  usersDn: string;
  groupsDn: string;
  bindDn: string;
  /** Secret. */
  bindPassword: string;
  adminUrl?: string;
}

export const ldapContract: ContractDefinition<LdapRequest, LdapResult> = {
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
  resultFields: ["url", "baseDn", "usersDn", "groupsDn", "bindDn", "bindPassword", "adminUrl"],
  secretFields: ["bindPassword"],
};
