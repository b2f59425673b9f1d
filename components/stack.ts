import * as pulumi from "@pulumi/pulumi";
import { App } from "./app";
import { ContractName, ContractResult } from "./contract";
import { StackSettings } from "./config";
import type { Plan } from "./plan";
import { ProviderInstance } from "./provider";
import { publicUrlOf } from "./public-url";
import type { Registry } from "./registry";
import { createTarget } from "./targets";
import { Target } from "./targets/target";

export interface PsfStackArgs {
  plan: Plan;
  registry: Registry;
  /** `psf:secrets` values, already Pulumi secrets. */
  configSecrets: Record<string, pulumi.Output<string>>;
  /** Whether `psf:services` was encrypted as a whole (then every env value is secret). */
  servicesSecret: boolean;
  /** Values of `secure:` env entries: service → env name → secret. */
  secureEnv: Record<string, Record<string, pulumi.Output<string>>>;
}

/**
 * The whole self-hosted stack: a target, the providers in dependency order, then the apps
 * wired to their contract results. What each contract adds to the stack's outputs comes from
 * its definition's hooks (providers/<contract>/contract.ts).
 */
export class PsfStack extends pulumi.ComponentResource {
  readonly target: Target;
  /** The built provider of each contract in use. */
  readonly providers: Record<ContractName, ProviderInstance> = {};
  readonly apps: Record<string, App> = {};
  /** Per service: what its contracts add (public URL, backup commands), for `pulumi stack output`. */
  readonly services: pulumi.Output<Record<string, Record<string, unknown>>>;
  /** The stack's private CA, when its certificates come from one: for browsers and clients to trust. */
  readonly caPem?: pulumi.Output<string>;
  /**
   * Stack-wide outputs: what the contracts add (people's initial credentials as `accounts`,
   * where to sign in as `signIn`), and `caPem`. index.ts exports each.
   */
  readonly outputs: Record<string, pulumi.Output<unknown> | undefined>;

  constructor(name: string, args: PsfStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("psf:index:Stack", name, {}, opts);
    const { plan, registry } = args;
    const stack: StackSettings = plan.stack;
    const contracts = Object.values(registry.contracts);
    this.target = createTarget(stack, this);
    const image = (key: string, fallback: string) => stack.images[key] ?? fallback;
    const publicUrl = (host: string) => publicUrlOf(plan.providers, host);

    for (const p of plan.providers) {
      const instance = p.definition.create(
        p.definition.name,
        {
          settings: p.settings,
          requests: p.requests,
          stack,
          target: this.target,
          // The contract's result type is the caller's; the framework carries it untyped.
          result: (contract, requester) => this.providers[contract.name]?.results[requester] as any,
          shared: (contract) => this.providers[contract]?.shared,
          image,
          publicUrl,
          configSecret: (secret) => args.configSecrets[secret],
        },
        { parent: this },
      );
      this.providers[p.contract] = instance;
    }

    // A private CA (self-signed certificates): every app trusts it, to reach public URLs.
    const trustedCaPem = contracts
      .map((c) => c.trustedCaPem?.(this.providers[c.name]))
      .find((pem) => pem !== undefined);
    const secretFields = Object.fromEntries(
      Object.entries(registry.contracts).map(([c, d]) => [c, d.secretFields]),
    );
    const serviceOutputs: Record<string, Record<string, pulumi.Output<unknown> | undefined>> = {};
    for (const [name, svc] of Object.entries(stack.services)) {
      const results: Record<ContractName, ContractResult> = {};
      for (const c of plan.services[name]?.needs ?? []) {
        const r = this.providers[c]?.results[name];
        if (r) results[c] = r;
      }
      serviceOutputs[name] = Object.assign(
        {},
        ...contracts.map((c) => c.serviceOutputs?.(this.providers[c.name]?.results[name]) ?? {}),
      );
      this.apps[name] = new App(
        name,
        {
          service: svc,
          image: image(name, svc.image),
          results,
          url: serviceOutputs[name].url as pulumi.Output<string> | undefined,
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
      // `psf status` runs it for the health column.
      serviceOutputs[name].healthCommand = this.apps[name].deployed.healthCommand;
    }

    this.services = pulumi.output(serviceOutputs) as unknown as pulumi.Output<
      Record<string, Record<string, unknown>>
    >;
    this.caPem = trustedCaPem;
    this.outputs = {
      ...mergeOutputs(contracts.map((c) => c.stackOutputs?.(this.providers[c.name]) ?? {})),
      caPem: this.caPem,
    };
    this.registerOutputs({ services: this.services, ...this.outputs });
  }
}

/**
 * The contracts' stack-wide outputs by name. Two contracts giving the same output (each its
 * people's `accounts`) are merged key by key; secret when either is.
 */
function mergeOutputs(
  all: Array<Record<string, pulumi.Output<unknown> | undefined>>,
): Record<string, pulumi.Output<unknown> | undefined> {
  const merged: Record<string, pulumi.Output<unknown> | undefined> = {};
  for (const outputs of all)
    for (const [key, value] of Object.entries(outputs)) {
      const before = merged[key];
      merged[key] =
        before === undefined || value === undefined
          ? (value ?? before)
          : pulumi.all([before, value]).apply(([a, b]) => ({
              ...(a as Record<string, unknown>),
              ...(b as Record<string, unknown>),
            }));
    }
  return merged;
}

/** The needs whose providers a service waits for before it starts. */
function waitsFor(needs: readonly ContractName[], registry: Registry): ContractName[] {
  return needs.filter((c) => registry.contracts[c].requesterWaits?.(needs) ?? true);
}
