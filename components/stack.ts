import * as pulumi from "@pulumi/pulumi";
import { App } from "./app";
import { ContractName, ContractResult } from "./contract";
import { StackSettings } from "./config";
import { ProviderInstance } from "./provider";
import { Plan, Registry, publicUrlOf } from "./resolver";
import { createTarget } from "./targets";
import { Target } from "./targets/target";

export interface PsfStackArgs {
  plan: Plan;
  registry: Registry;
  /** `psf:secrets` values, already Pulumi secrets. */
  secrets: Record<string, pulumi.Output<string>>;
  /** Whether `psf:services` was encrypted as a whole (then every env value is secret). */
  servicesSecret: boolean;
  /** Values of `secure:` env entries: service → env name → secret. */
  secureEnv: Record<string, Record<string, pulumi.Output<string>>>;
}

/**
 * The whole self-hosted stack: a target, the providers in dependency order, then the apps
 * wired to their contract results.
 */
export class PsfStack extends pulumi.ComponentResource {
  readonly target: Target;
  readonly providers: Partial<Record<ContractName, ProviderInstance>> = {};
  readonly apps: Record<string, App> = {};
  /** Per service: public URL and backup commands, for `pulumi stack output`. */
  readonly services: pulumi.Output<Record<string, Record<string, unknown>>>;
  /** People's initial credentials from the ldap or SSO provider (secret); empty without one. */
  readonly accounts: pulumi.Output<unknown>;
  /** The stack's private CA, when its certificates come from one: for browsers and clients to trust. */
  readonly caPem?: pulumi.Output<string>;
  /** Where people sign in and who they are (no password): for `psf up`'s closing lines. */
  readonly signIn: pulumi.Output<{ portal?: string; people: string[] }>;

  constructor(name: string, args: PsfStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("psf:index:Stack", name, {}, opts);
    const { plan, registry } = args;
    const stack: StackSettings = plan.stack;
    this.target = createTarget(stack, this);
    const image = (key: string, fallback: string) => stack.images[key] ?? fallback;
    const proxy = plan.providers.find((p) => p.contract === "proxy");
    const publicUrl = (host: string) => publicUrlOf(proxy, host);

    for (const p of plan.providers) {
      const instance = p.definition.create(
        p.definition.name,
        {
          settings: p.settings,
          requests: p.requests,
          stack,
          target: this.target,
          result: (contract, requester) => this.providers[contract]?.results[requester],
          shared: (contract) => this.providers[contract]?.shared,
          image,
          publicUrl,
          configSecret: (secret) => args.secrets[secret],
        },
        { parent: this },
      );
      this.providers[p.contract] = instance;
    }

    // A private CA (self-signed certificates): every app trusts it, to reach public URLs.
    const trustedCaPem = this.providers.ssl?.shared?.caPem;
    const secretFields = Object.fromEntries(
      Object.entries(registry.contracts).map(([c, d]) => [c, d.secretFields]),
    );
    for (const [name, svc] of Object.entries(stack.services)) {
      const results: Partial<Record<ContractName, ContractResult>> = {};
      for (const c of plan.services[name]?.needs ?? []) {
        const r = this.providers[c]?.results[name];
        if (r) results[c] = r;
      }
      this.apps[name] = new App(
        name,
        {
          service: svc,
          image: image(name, svc.image),
          results,
          target: this.target,
          trustedCaPem,
          secretFields,
          secureEnv: args.secureEnv[name],
          allEnvSecret: args.servicesSecret,
          // Start after the servers of what it needs (its database, its SSO), as each contract says.
          dependsOn: waitsFor(plan.services[name]?.needs ?? [], registry).flatMap(
            (c) => this.providers[c]?.ready ?? [],
          ),
        },
        { parent: this },
      );
    }

    this.services = pulumi.output(
      Object.fromEntries(
        Object.keys(stack.services).map((name) => {
          const backup = this.providers.backup?.results[name];
          return [
            name,
            {
              url: this.providers.proxy?.results[name]?.url,
              backupCommand: backup?.backupCommand,
              restoreCommand: backup?.restoreCommand,
              listCommand: backup?.listCommand,
            },
          ];
        }),
      ),
    ) as unknown as pulumi.Output<Record<string, Record<string, unknown>>>;
    // People live in the directory when the stack has one, else in the SSO's own user store.
    const accounts = this.providers.ldap?.accounts ?? this.providers.sso?.accounts ?? {};
    this.accounts = pulumi.secret(accounts);
    // Names and the portal URL are plain config; only the passwords beside them are secret.
    this.signIn = pulumi.unsecret(
      pulumi.all([accounts, this.providers.sso?.shared?.portalUrl]).apply(([a, portalUrl]) => {
        const people = Object.keys((a ?? {}) as Record<string, unknown>);
        const first = (a as Record<string, { login?: string }>)[people[0]];
        return { portal: first?.login ?? portalUrl, people };
      }),
    );
    this.caPem = trustedCaPem;
    this.registerOutputs({
      services: this.services,
      accounts: this.accounts,
      signIn: this.signIn,
      caPem: this.caPem,
    });
  }
}

/** The needs whose providers a service waits for before it starts. */
function waitsFor(needs: readonly ContractName[], registry: Registry): ContractName[] {
  return needs.filter((c) => registry.contracts[c].requesterWaits?.(needs) ?? true);
}
