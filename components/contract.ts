import type * as pulumi from "@pulumi/pulumi";
import { Issue } from "./errors";
import { ObjectSpec } from "./validate/schema";
import type { ServiceConfig, StackSettings } from "./config";

export const CONTRACT_NAMES = [
  "ssl",
  "secrets",
  "database",
  "ldap",
  "sso",
  "proxy",
  "backup",
] as const;
export type ContractName = (typeof CONTRACT_NAMES)[number];

/** A contract result as apps see it: every field an Output; secret fields are Pulumi secrets. */
export type ContractResult = Record<string, pulumi.Output<any>>;

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

/** A contract: typed request → typed result, and the checks every provider relies on. */
export interface ContractDefinition<Req = any> {
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
}
