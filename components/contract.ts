import type * as pulumi from "@pulumi/pulumi";
import type { ServiceConfig, StackSettings } from "./config";
import type { Issue } from "./errors";
import type { ProviderInstance } from "./provider";
import type { ObjectSpec } from "./validate/schema";

/** A contract's name: a key of the registry's `contracts` (providers/index.ts). */
export type ContractName = string;

/** A contract result as the framework handles it: every field an Output; secret fields are Pulumi secrets. */
export type ContractResult = Record<string, pulumi.Output<any>>;

/** A result type written with plain field types, as providers hand it over: each field an Output. */
export type Outputs<T> = { [K in keyof T]: pulumi.Output<T[K]> };

/** What a contract knows about the service making a request, for cross-field checks. */
export interface RequestContext {
  /** Requester: a service name, or `<provider>:<purpose>` for a provider's own request. */
  requester: string;
  /** The requesting service, when the requester is a service. */
  service?: ServiceConfig;
  stack: StackSettings;
  /** Config path of the request, e.g. `services.notes.needs.database`. */
  path: string;
}

/** What a contract's `expand` sees: the request's origin and how the stack is served. */
export interface ExpandContext<From = unknown> extends RequestContext {
  /** What a requesting provider said beside its request (`ProviderNeed.from`); absent for a service. */
  from?: From;
  /** The public URL of a host as the stack's proxy serves it (`https://auth.example.org:8443`). */
  publicUrl(host: string): string;
}

/** What a contract's stack-wide check sees. */
export interface PlannedContext {
  stack: StackSettings;
  /** Config path of the contract's provider, `providers.<contract>`. */
  path: string;
}

/**
 * A contract: typed request → typed result, the checks every provider relies on, and its
 * hooks into the framework (how a request reaches the provider, what it adds to the stack's
 * outputs). The framework calls hooks by contract, never by a contract's name.
 */
export interface ContractDefinition<
  Req = any,
  Result = any,
  Served = any,
  Instance extends ProviderInstance = ProviderInstance,
> {
  name: ContractName;
  /** One line: what a service gets from this contract. */
  description: string;
  request: ObjectSpec;
  /** Fields every provider's result carries. Providers may add, never remove. */
  resultFields: readonly string[];
  /** Result fields that are Pulumi secrets end to end. */
  secretFields: readonly string[];
  /**
   * Whether a requester's containers start only once this contract's provider is ready
   * (default: yes). `needs` are all the requester's needs: a provider may be in the way only
   * together with another contract.
   */
  requesterWaits?(needs: readonly ContractName[]): boolean;
  /** Fills defaults that depend on the requester (e.g. `database.name` = service name). */
  defaults?(req: Req, ctx: RequestContext): Req;
  /** Cross-field checks (e.g. backup volumes must be volumes the service declares). */
  check?(req: Req, ctx: RequestContext): Issue[];
  /**
   * Checks of a service's own fields that naming this contract under `needs` requires (proxy:
   * a port to forward to), made whether or not a provider is configured. `field` reads the raw
   * config (a field already reported as invalid is not also missing); `path` is the service's.
   */
  checkService?(field: (key: string) => unknown, path: string): Issue[];
  /**
   * What the provider serves for a checked request (proxy: the route with its public host and
   * upstream; sso: redirect URIs made absolute). Without it the provider gets the request.
   */
  expand?(req: Req, ctx: ExpandContext): Served;
  /** Checks across every request the provider serves (proxy: one route per host). */
  checkServed?(served: Record<string, Served>, ctx: PlannedContext): Issue[];
  /** What a service's result adds to its entry in the `services` stack output (proxy: `url`). */
  serviceOutputs?(
    result: Outputs<Result> | undefined,
  ): Record<string, pulumi.Output<unknown> | undefined>;
  /**
   * What the contract adds to the stack's outputs (sso: `accounts`, `signIn`), called with its
   * provider or, when none is configured, without: an output the stack always has stays.
   * Contracts that add the same map-valued output (people's `accounts`) are merged key by key.
   */
  stackOutputs?(provider: Instance | undefined): Record<string, pulumi.Output<unknown> | undefined>;
  /** A CA every app trusts, to reach public URLs (ssl: the private CA of self-signed certificates). */
  trustedCaPem?(provider: Instance | undefined): pulumi.Output<string> | undefined;
}
