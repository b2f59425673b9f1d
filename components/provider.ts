// Type-only imports: definitions are read by validation, which must not load Pulumi (its
// classes load on demand through `withComponent`); test/unit/validate-without-pulumi.test.ts.
import type * as pulumi from "@pulumi/pulumi";
import type { ContractDefinition, ContractName, Outputs } from "./contract";
import type { StackSettings } from "./config";
import type { Issue } from "./errors";
import type { Target } from "./targets/target";
import { type ObjectSpec, hasKey } from "./validate/schema";

/** A request a provider makes of another contract, under its own requester name. */
export interface ProviderNeed {
  contract: ContractName;
  /** `<provider>` or `<provider>:<purpose>`, e.g. `authelia`, `nginx:whoami`. */
  requester: string;
  request: Record<string, unknown>;
  /**
   * Whether the provider reads the result (an ordering edge). A provider that only
   * registers itself (authelia asking the proxy for its portal route) does not.
   */
  consumes?: boolean;
  /**
   * What the contract's `expand` needs to know of the requester beyond its request, where a
   * service's config would tell it (a proxy route: the upstream and the subdomain).
   */
  from?: unknown;
}

/** What the resolver hands a provider: everything it serves, already validated. */
export interface ProviderArgs<Req = any, Settings = any> {
  settings: Settings;
  /** Requester → request, in a stable order. Service requests and other providers' needs. */
  requests: Record<string, Req>;
  stack: StackSettings;
  target: Target;
  /** The result of a contract this provider reads, for a requester, typed by the contract. */
  result<Result>(
    contract: ContractDefinition<any, Result>,
    requester: string,
  ): Outputs<Result> | undefined;
  /** Provider-level facts of another contract's provider (e.g. the SSO's forward-auth URL). */
  shared(contract: ContractName): Record<string, pulumi.Output<string>> | undefined;
  /** A `psf:secrets.<name>` value from encrypted stack config (a Pulumi secret). */
  configSecret(name: string): pulumi.Output<string> | undefined;
  /**
   * The image a workload runs: `psf:images[key]`, else `fallback`. A component passes only the
   * key; `withComponent` fills in the image its definition declares under that key (`images`).
   */
  image(key: string, fallback?: string): string;
  /** The public URL of a host as the stack's proxy serves it (`https://auth.example.org:8443`). */
  publicUrl(host: string): string;
}

/** A built provider: a ComponentResource with a result per requester. */
export interface ProviderInstance<Result = Record<string, unknown>>
  extends pulumi.ComponentResource {
  readonly results: Record<string, Outputs<Result>>;
  /** Facts other providers read, e.g. `{forwardAuthUrl, portalUrl}` of an SSO. */
  readonly shared?: Record<string, pulumi.Output<string>>;
  /**
   * What a consumer waits for before it starts: the provider's server, healthy. An app that
   * reads its SSO's discovery document once at start (Miniflux) must not start before it.
   */
  readonly ready?: pulumi.Resource[];
}

/** Static description of a provider: settings, checks, needs, and how to build it. */
/** A port a provider publishes on the host, and the setting that chose it. */
export interface HostPort {
  port: number;
  address: string;
  /** What listens there (`http`, `https`, `api`): named in a clash's error. */
  what: string;
  setting: string;
}

export interface ProviderDefinition<Req = any, Settings = any> {
  contract: ContractName;
  /** The `use:` value, e.g. `postgres`. */
  name: string;
  description: string;
  /** Settings beside `use` in `psf:providers.<contract>`. */
  settings: ObjectSpec;
  /**
   * The images its workloads run, by `psf:images` key, with their defaults (postgres:
   * `{postgres: "postgres:<version>-bookworm"}`): what `args.image(key)` resolves, and what
   * `psf up` makes available before the engine starts (components/images.ts).
   */
  images?(settings: Settings): Record<string, string>;
  /** Its workloads are one per request (backup jobs): with no request it runs no image. */
  workloadsPerRequest?: boolean;
  /** Environments it may run in; `hardcoded` secrets are development-only. */
  environments?: readonly StackSettings["environment"][];
  /** Provider-specific checks of one request (postgres: known extensions). */
  checkRequest?(req: Req, path: string, settings: Settings): Issue[];
  /** Checks that need the whole stack (config secret present, LDAP configured...). */
  checkStack?(
    settings: Settings,
    stack: StackSettings,
    requests: Record<string, Req>,
    path: string,
  ): Issue[];
  /** Contracts this provider needs, computed from config alone. */
  needs?(settings: Settings, stack: StackSettings, requests: Record<string, Req>): ProviderNeed[];
  /**
   * Contracts whose results (for other requesters) it reads: backup reads database dumps.
   * `requests` lets it depend on them (nginx reads `sso` only when a route has auth).
   */
  reads?(settings: Settings, stack: StackSettings, requests: Record<string, Req>): ContractName[];
  /** Proxy providers: the public URL of a host they serve (port included when not 443). */
  publicUrl?(settings: Settings, host: string): string;
  /**
   * Host ports it publishes, for conflict checks; `setting` names the setting that chooses the
   * port (a preview stack moves it, cli/preview-env/preview-config.ts).
   */
  hostPorts?(settings: Settings): HostPort[];
  create(
    name: string,
    args: ProviderArgs<Req, Settings>,
    opts: pulumi.ComponentResourceOptions,
  ): ProviderInstance;
}

/** A provider's ComponentResource class, as its definition's `create` builds it. */
export type ProviderComponent<Req, Settings> = new (
  name: string,
  args: ProviderArgs<Req, Settings>,
  opts?: pulumi.ComponentResourceOptions,
) => ProviderInstance;

/**
 * A definition whose ComponentResource class sits in a module of its own, required only when
 * `create` runs: `psf validate` and `psf graph` read definitions without loading Pulumi. The
 * class's `args.image(key)` defaults to the image the definition declares under `key`.
 */
export function withComponent<Req, Settings>(
  definition: Omit<ProviderDefinition<Req, Settings>, "create">,
  load: () => ProviderComponent<Req, Settings>,
): ProviderDefinition<Req, Settings> {
  return {
    ...definition,
    create(name, args, opts) {
      const declared = definition.images?.(args.settings) ?? {};
      const image = (key: string) => {
        if (!hasKey(declared, key))
          throw new Error(`bug: ${definition.name} declares no image "${key}"`);
        return args.image(key, declared[key]);
      };
      const Component = load();
      return new Component(name, { ...args, image }, opts);
    },
  };
}
