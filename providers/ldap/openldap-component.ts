import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { Outputs } from "../../components/contract";
import { ProviderArgs } from "../../components/provider";
import { provisionedServerWorkload } from "../../components/provisioned-server";
import { LdapProvider, LdapRequest, LdapResult } from "./contract";
import type { OpenldapSettings } from "./openldap";
import { baseDnOf, directory, ldapResult, personDn } from "./openldap-directory";
import {
  SERVER_PATHS,
  ServerPaths,
  provisionScript,
  slapdConfig,
  slapdScripts,
} from "./openldap-server";

const SERVER = "openldap";

/** A random password kept in (encrypted) state. */
const generated = (name: string, length: number, parent: pulumi.Resource) =>
  pulumi.secret(new random.RandomPassword(name, { length, special: false }, { parent }).result);

/**
 * One slapd for the stack: `psf:users` as people and groups under the domain's base DN, each
 * person with a generated initial password (the stack output `accounts`), and a read-only bind
 * account with its own generated password per requesting app.
 */
export class Openldap extends pulumi.ComponentResource implements LdapProvider {
  readonly results: Record<string, Outputs<LdapResult>> = {};
  readonly ready: pulumi.Resource[];
  readonly accounts: pulumi.Output<Record<string, unknown>>;

  constructor(
    name: string,
    args: ProviderArgs<LdapRequest, OpenldapSettings>,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("psf:ldap:Openldap", name, {}, opts);
    const { settings, stack } = args;
    const paths: ServerPaths = {
      ...SERVER_PATHS,
      port: settings.port,
      logLevel: settings.logLevel,
    };
    const baseDn = baseDnOf(stack.domain);
    const people = Object.keys(stack.users.people);
    const requesters = Object.keys(args.requests);
    const personPw = Object.fromEntries(
      people.map((p) => [p, generated(`${name}-person-${p}`, 24, this)]),
    );
    const appPw = Object.fromEntries(
      requesters.map((r) => [r, generated(`${name}-bind-${r}`, 32, this)]),
    );
    const script = pulumi.secret(
      pulumi
        .all([pulumi.all(personPw), pulumi.all(appPw)])
        .apply(([p, a]) =>
          provisionScript(
            directory(stack.domain, stack.users, args.requests, { people: p, apps: a }),
            paths,
          ),
        ),
    );
    const config = slapdConfig(baseDn, paths);

    const deployed = args.target.deploy(
      provisionedServerWorkload({
        name: SERVER,
        component: "ldap",
        partOf: name,
        image: args.image("openldap"),
        scripts: slapdScripts(paths, baseDn),
        // slapd reads its config only at start: a changed config replaces the container, while a
        // changed directory is provisioned into the running one (the reload command).
        env: { PSF_SLAPD_CONF_SHA256: createHash("sha256").update(config).digest("hex") },
        files: [
          { path: paths.config, content: config, mode: 0o644 },
          { path: paths.provisionFile, content: script, secret: true, mode: 0o600 },
        ],
        data: { volume: settings.dataVolume, mountPath: paths.dataDir, size: settings.dataSize },
        port: { name: "ldap", containerPort: settings.port },
      }),
      { parent: this },
    );
    this.ready = deployed.resources;

    const server = { address: deployed.address, port: settings.port };
    for (const requester of requesters) {
      const plain = ldapResult(stack.domain, requester, server, "");
      this.results[requester] = {
        ...(Object.fromEntries(
          Object.entries(plain).map(([k, v]) => [k, pulumi.output(v)]),
        ) as Outputs<LdapResult>),
        bindPassword: appPw[requester],
      };
    }
    this.accounts = pulumi.secret(
      pulumi
        .all(personPw)
        .apply((pw) =>
          Object.fromEntries(
            people.map((p) => [p, { username: p, dn: personDn(baseDn, p), password: pw[p] }]),
          ),
        ),
    );
    this.registerOutputs({ address: deployed.address });
  }
}
