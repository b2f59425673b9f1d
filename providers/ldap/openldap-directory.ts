import type { StackSettings } from "../../components/config";
import type { LdapRequest, LdapResult } from "./contract";

/**
 * The directory the openldap provider keeps: the tree under the base DN, the people and groups
 * of `psf:users`, a bind account per requesting app. Plain data, no Pulumi: the component
 * renders it into the provisioning script, tests run that script against a real slapd.
 */

/** How people and groups are laid out: what the `ldap` result tells apps. */
export const LAYOUT = {
  usersFilter: "(objectClass=inetOrgPerson)",
  groupsFilter: "(objectClass=groupOfNames)",
  usernameAttribute: "uid",
  mailAttribute: "mail",
  displayNameAttribute: "displayName",
  groupNameAttribute: "cn",
  memberAttribute: "member",
} as const;

/** The organisational units PSF owns below the base DN: everything in them is provisioned. */
export const OUS = { people: "people", groups: "groups", apps: "apps" } as const;

/** An attribute value as an RDN value (RFC 4514 escaping). */
export function rdnValue(value: string): string {
  return value
    .replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)
    .replace(/^[ #]/, (c) => `\\${c}`)
    .replace(/ $/, "\\ ");
}

/** `home.example.org` → `dc=home,dc=example,dc=org`. */
export function baseDnOf(domain: string): string {
  return domain
    .split(".")
    .map((label) => `dc=${rdnValue(label.toLowerCase())}`)
    .join(",");
}

export const ouDn = (baseDn: string, ou: keyof typeof OUS) => `ou=${OUS[ou]},${baseDn}`;
export const personDn = (baseDn: string, person: string) =>
  `uid=${rdnValue(person)},${ouDn(baseDn, "people")}`;
export const groupDn = (baseDn: string, group: string) =>
  `cn=${rdnValue(group)},${ouDn(baseDn, "groups")}`;
export const bindDn = (baseDn: string, requester: string) =>
  `cn=${rdnValue(requester)},${ouDn(baseDn, "apps")}`;

/**
 * A password the script sets: `initial` only when it adds the entry (a person may change it
 * later, and it stays); `kept` whenever a bind with it fails (an app's bind account).
 */
export interface EntryPassword {
  value: string;
  mode: "initial" | "kept";
}

export interface DirectoryEntry {
  dn: string;
  /** Every attribute PSF manages, in order; values that differ on the server are replaced. */
  attributes: Array<[string, string]>;
  password?: EntryPassword;
}

export interface Directory {
  baseDn: string;
  /** Parents before children. */
  entries: DirectoryEntry[];
}

/** Generated passwords, kept in state: people's initial ones and the apps' bind passwords. */
export interface DirectoryPasswords {
  people: Record<string, string>;
  apps: Record<string, string>;
}

/** Every group the directory holds: `psf:users.groups` and those apps ask for, sorted. */
export function directoryGroups(
  users: StackSettings["users"],
  requests: Record<string, LdapRequest>,
): string[] {
  const groups = new Set(users.groups);
  for (const p of Object.values(users.people)) p.groups.forEach((g) => groups.add(g));
  for (const r of Object.values(requests)) r.groups.forEach((g) => groups.add(g));
  return [...groups].sort();
}

const sorted = <T>(record: Record<string, T>) =>
  Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

export function directory(
  domain: string,
  users: StackSettings["users"],
  requests: Record<string, LdapRequest>,
  passwords: DirectoryPasswords,
): Directory {
  const baseDn = baseDnOf(domain);
  const entries: DirectoryEntry[] = [
    {
      dn: baseDn,
      attributes: [
        ["objectClass", "top"],
        ["objectClass", "dcObject"],
        ["objectClass", "organization"],
        ["dc", domain.split(".")[0].toLowerCase()],
        ["o", domain],
      ],
    },
    ...(Object.keys(OUS) as Array<keyof typeof OUS>).map((ou) => ({
      dn: ouDn(baseDn, ou),
      attributes: [
        ["objectClass", "top"],
        ["objectClass", "organizationalUnit"],
        ["ou", OUS[ou]],
      ] as Array<[string, string]>,
    })),
  ];
  for (const [person, p] of sorted(users.people)) {
    const name = p.displayName ?? person;
    entries.push({
      dn: personDn(baseDn, person),
      attributes: [
        ["objectClass", "top"],
        ["objectClass", "person"],
        ["objectClass", "organizationalPerson"],
        ["objectClass", "inetOrgPerson"],
        ["uid", person],
        ["cn", name],
        ["sn", name],
        ["displayName", name],
        ["mail", p.email],
      ],
      password: { value: need(passwords.people, person, "person"), mode: "initial" },
    });
  }
  for (const group of directoryGroups(users, requests)) {
    const members = sorted(users.people)
      .filter(([, p]) => p.groups.includes(group))
      .map(([person]) => personDn(baseDn, person));
    entries.push({
      dn: groupDn(baseDn, group),
      attributes: [
        ["objectClass", "top"],
        ["objectClass", "groupOfNames"],
        ["cn", group],
        // groupOfNames must have a member: an empty group holds the empty DN, which no one is.
        ...(members.length ? members : [""]).map((m): [string, string] => ["member", m]),
      ],
    });
  }
  for (const [requester] of sorted(requests)) {
    entries.push({
      dn: bindDn(baseDn, requester),
      attributes: [
        ["objectClass", "top"],
        ["objectClass", "organizationalRole"],
        ["objectClass", "simpleSecurityObject"],
        ["cn", requester],
        ["description", `read-only bind account of ${requester} (PSF)`],
      ],
      password: { value: need(passwords.apps, requester, "app"), mode: "kept" },
    });
  }
  return { baseDn, entries };
}

function need(passwords: Record<string, string>, key: string, what: string): string {
  const pw = passwords[key];
  if (pw === undefined) throw new Error(`bug: no generated password for ${what} ${key}`);
  return pw;
}

/** The `ldap` result of one requester, without its Pulumi wrapping. */
export function ldapResult(
  domain: string,
  requester: string,
  server: { address: string; port: number },
  bindPassword: string,
): LdapResult {
  const baseDn = baseDnOf(domain);
  return {
    url: `ldap://${server.address}:${server.port}`,
    baseDn,
    usersDn: ouDn(baseDn, "people"),
    groupsDn: ouDn(baseDn, "groups"),
    bindDn: bindDn(baseDn, requester),
    bindPassword,
    ...LAYOUT,
  };
}
