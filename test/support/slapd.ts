import { execFileSync, ChildProcess, spawn, spawnSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LdapRequest, LdapResult } from "../../providers/ldap/contract";
import {
  DirectoryPasswords,
  baseDnOf,
  directory,
  ldapResult,
} from "../../providers/ldap/openldap-directory";
import {
  ServerPaths,
  ldapiUrl,
  provisionScript,
  slapdConfig,
  slapdScripts,
} from "../../providers/ldap/openldap-server";
import type { Account, Provisioned, RunningDirectory, Users } from "../contracts/ldap";
import { freePort } from "../contracts/proxy";

export const SLAPD = "/usr/sbin/slapd";

/**
 * The provider's slapd on a temp dir and a loopback port: its slapd.conf, its start script (run
 * by bash as the container runs it, slapd staying as this user), its provisioning script
 * applied with its own reload command, results built by its own `ldapResult`.
 */
export class LocalSlapd implements RunningDirectory {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-slapd-"));
  readonly paths: ServerPaths;
  readonly baseDn: string;
  private readonly server: ChildProcess;
  log = "";
  /** Generated passwords, kept across provisioning runs as Pulumi state keeps them. */
  readonly passwords: DirectoryPasswords = { people: {}, apps: {} };
  /** What the last provisioning run printed (the changes it made). */
  lastOutput = "";

  constructor(
    readonly domain: string,
    port: number,
  ) {
    this.paths = {
      config: path.join(this.dir, "slapd.conf"),
      provisionFile: path.join(this.dir, "provision.sh"),
      dataDir: path.join(this.dir, "data"),
      runDir: path.join(this.dir, "run"),
      readyMarker: path.join(this.dir, "ready"),
      port,
      manager: { uid: process.getuid!(), gid: process.getgid!() },
      logLevel: "none",
    };
    this.baseDn = baseDnOf(domain);
    fs.writeFileSync(this.paths.config, slapdConfig(this.baseDn, this.paths));
    this.writeScript({ groups: [], people: {} }, {});
    this.server = spawn(
      "bash",
      ["-c", slapdScripts(this.paths, this.baseDn).start, "psf-openldap"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    this.server.stdout!.on("data", (d) => (this.log += d));
    this.server.stderr!.on("data", (d) => (this.log += d));
  }

  /** Resolves once the health check passes (the start script provisioned the base tree). */
  async ready(): Promise<void> {
    for (let i = 0; !this.healthy(); i++) {
      if (i > 100 || this.server.exitCode !== null)
        throw new Error(`slapd did not become healthy:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  healthy(): boolean {
    return spawnSync("sh", ["-c", slapdScripts(this.paths, this.baseDn).health]).status === 0;
  }

  private writeScript(users: Users, requests: Record<string, LdapRequest>): void {
    const { people, apps } = this.passwords;
    for (const p of Object.keys(users.people)) people[p] ??= randomBytes(12).toString("base64url");
    for (const r of Object.keys(requests)) apps[r] ??= randomBytes(16).toString("hex");
    const d = directory(this.domain, users, requests, this.passwords);
    fs.writeFileSync(this.paths.provisionFile, provisionScript(d, this.paths), { mode: 0o600 });
  }

  /** Runs the provider's reload command; its output (the changes it made). */
  reprovision(): string {
    return execFileSync("sh", ["-c", slapdScripts(this.paths, this.baseDn).reload], {
      encoding: "utf8",
    });
  }

  provision(users: Users, requests: Record<string, LdapRequest>): Provisioned {
    this.writeScript(users, requests);
    this.lastOutput = this.reprovision();
    const server = { address: "127.0.0.1", port: this.paths.port };
    return {
      results: Object.fromEntries(
        Object.keys(requests).map((r) => [
          r,
          ldapResult(this.domain, r, server, this.passwords.apps[r]) as LdapResult,
        ]),
      ),
      accounts: Object.fromEntries(
        Object.keys(users.people).map((p): [string, Account] => [
          p,
          { username: p, password: this.passwords.people[p] },
        ]),
      ),
    };
  }

  /** ldap-utils as the directory's manager (SASL EXTERNAL over the socket). */
  manage(tool: string, args: string[], input = ""): string {
    return execFileSync(tool, ["-H", ldapiUrl(this.paths), "-Y", "EXTERNAL", "-Q", ...args], {
      input,
      encoding: "utf8",
    });
  }

  snapshot(): string {
    return this.manage("ldapsearch", ["-LLL", "-o", "ldif-wrap=no", "-b", this.baseDn, "*", "+"]);
  }

  /** Whether the start script has exited (within 5 s). */
  async exited(): Promise<boolean> {
    for (let i = 0; i < 50 && this.server.exitCode === null; i++)
      await new Promise((r) => setTimeout(r, 100));
    return this.server.exitCode !== null;
  }

  stop(): void {
    if (this.server.exitCode === null) this.server.kill("SIGTERM");
    // The start script waits for slapd to shut down; give it a moment before removing its files.
    spawnSync("sh", [
      "-c",
      `for i in $(seq 50); do [ -e "$1" ] || exit 0; sleep 0.1; done`,
      "sh",
      `${this.paths.runDir}/slapd.pid`,
    ]);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts the provider's slapd on a free loopback port and waits until it is healthy. */
export async function startSlapd(domain: string): Promise<LocalSlapd> {
  const s = new LocalSlapd(domain, await freePort());
  await s.ready();
  return s;
}
