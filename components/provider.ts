import * as pulumi from "@pulumi/pulumi";
import { ContractName, ContractResult } from "./contract";
import { StackSettings } from "./config";
import { Issue } from "./errors";
import { Target } from "./targets/target";
import { ObjectSpec } from "./validate/schema";

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
  /** For proxy needs: where the route forwards to. */
  upstream?: { host: string; port: number; scheme?: "http" | "https" };
  /** For proxy needs: the public subdomain. */
  subdomain?: string;
}

/** What the resolver hands a provider: everything it serves, already validated. */
export interface ProviderArgs<Req = any, Settings = any> {
  settings: Settings;
  /** Requester → request, in a stable order. Service requests and other providers' needs. */
  requests: Record<string, Req>;
  stack: StackSettings;
  target: Target;
  /** Results of contracts this provider depends on, by requester. */
  result(contract: ContractName, requester: string): ContractResult | undefined;
  /** Provider-level facts of another contract's provider (e.g. the SSO's forward-auth URL). */
  shared(contract: ContractName): Record<string, pulumi.Output<string>> | undefined;
  /** A `psf:secrets.<name>` value from encrypted stack config (a Pulumi secret). */
  configSecret(name: string): pulumi.Output<string> | undefined;
  /** Resolves an image: `psf:images[key]` override, else the pinned default. */
  image(key: string, fallback: string): string;
  /** The public URL of a host as the stack's proxy serves it (`https://auth.example.org:8443`). */
  publicUrl(host: string): string;
}

/** A built provider: a ComponentResource with a result per requester. */
export interface ProviderInstance extends pulumi.ComponentResource {
  readonly results: Record<string, ContractResult>;
  /** Facts other providers read, e.g. `{forwardAuthUrl, portalUrl}` of an SSO. */
  readonly shared?: Record<string, pulumi.Output<string>>;
  /** People's initial credentials (secret), exported as the stack output `accounts`. */
  readonly accounts?: pulumi.Output<Record<string, unknown>>;
  /**
   * What a consumer waits for before it starts: the provider's server, healthy. An app that
   * reads its SSO's discovery document once at start (Miniflux) must not start before it.
   */
  readonly ready?: pulumi.Resource[];
}

/** Static description of a provider: settings, checks, needs, and how to build it. */
export interface ProviderDefinition<Req = any, Settings = any> {
  contract: ContractName;
  /** The `use:` value, e.g. `postgres`. */
  name: string;
  description: string;
  /** Settings beside `use` in `psf:providers.<contract>`. */
  settings: ObjectSpec;
  /** `psf:images` keys it reads through `args.image` (default: its own name). */
  images?: readonly string[];
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
  /** Host ports it publishes, for conflict checks. */
  hostPorts?(settings: Settings): Array<{ port: number; address: string; what: string }>;
  create(
    name: string,
    args: ProviderArgs<Req, Settings>,
    opts: pulumi.ComponentResourceOptions,
  ): ProviderInstance;
}
