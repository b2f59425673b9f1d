import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/**
 * A client of any LDAP server through OpenLDAP's command-line tools (ldap-utils), as an app
 * would use it: simple binds over the URL a result gives, searches parsed from their LDIF.
 */

export interface Bind {
  url: string;
  dn: string;
  password: string;
}

export interface LdapEntry {
  dn: string;
  /** Attribute (as the server names it) → values. */
  attrs: Record<string, string[]>;
}

export class LdapError extends Error {
  constructor(
    readonly tool: string,
    readonly status: number | null,
    readonly stderr: string,
  ) {
    super(`${tool} exited ${status}: ${stderr.trim()}`);
  }
}

/** Runs an ldap-utils tool with a simple bind (the password in a private file, not in argv). */
function run(tool: string, bind: Bind, args: string[], input = ""): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-ldap-pw-"));
  const pwFile = path.join(dir, "pw");
  try {
    fs.writeFileSync(pwFile, bind.password, { mode: 0o600 });
    const r = spawnSync(tool, ["-x", "-H", bind.url, "-D", bind.dn, "-y", pwFile, ...args], {
      input,
      encoding: "utf8",
    });
    if (r.status !== 0) throw new LdapError(tool, r.status, r.stderr);
    return r.stdout;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** RFC 2849 LDIF as `ldapsearch -LLL -o ldif-wrap=no` prints it. */
export function parseLdif(text: string): LdapEntry[] {
  const entries: LdapEntry[] = [];
  for (const block of text.split(/\n\n+/)) {
    let dn: string | undefined;
    const attrs: Record<string, string[]> = {};
    for (const line of block.split("\n")) {
      const m = /^([^:]+)(::?) ?(.*)$/.exec(line);
      if (!m) continue;
      const value = m[2] === "::" ? Buffer.from(m[3], "base64").toString("utf8") : m[3];
      if (m[1] === "dn") dn = value;
      else (attrs[m[1]] ??= []).push(value);
    }
    if (dn !== undefined) entries.push({ dn, attrs });
  }
  return entries;
}

export function search(
  bind: Bind,
  base: string,
  filter: string,
  attrs: string[] = [],
  scope: "base" | "one" | "sub" = "sub",
): LdapEntry[] {
  return parseLdif(
    run("ldapsearch", bind, [
      "-LLL",
      "-o",
      "ldif-wrap=no",
      "-s",
      scope,
      "-b",
      base,
      filter,
      ...attrs,
    ]),
  );
}

/** Whether the server accepts the bind (wrong credentials: false; anything else throws). */
export function canBind(bind: Bind): boolean {
  try {
    run("ldapwhoami", bind, []);
    return true;
  } catch (e) {
    if (e instanceof LdapError && e.status === 49) return false;
    throw e;
  }
}

/** Applies an LDIF change (`changetype: modify`...) as the bound identity. */
export function modify(bind: Bind, ldif: string): void {
  run("ldapmodify", bind, [], ldif);
}

/** The Password Modify operation (RFC 3062) on the bound identity's own entry. */
export function changeOwnPassword(bind: Bind, newPassword: string): void {
  run("ldappasswd", bind, ["-s", newPassword]);
}
