import type { ContractName } from "./contract";
import type { StackSettings } from "./config";
import { joinPath } from "./errors";
import type { ProviderDefinition } from "./provider";

/** One provider to build: its settings and every request it serves. */
export interface PlannedProvider {
  contract: ContractName;
  definition: ProviderDefinition;
  settings: Record<string, unknown>;
  /** Requester → validated request (with defaults), as the contract's `expand` serves it. */
  requests: Record<string, any>;
  /** Contracts built before this one. */
  dependsOn: ContractName[];
}

/** The pure result of resolution: what to build, in which order. */
export interface Plan {
  stack: StackSettings;
  /** Providers in dependency order. */
  providers: PlannedProvider[];
  /** Per service: the contracts it needs. */
  services: Record<string, { needs: ContractName[] }>;
}

export const PROVIDER_PATH = "providers";

/** `providers.<contract>[.<key>]`: where a provider's entry is in the stack config. */
export function providerPath(contract: string, key?: string): string {
  const base = joinPath(PROVIDER_PATH, contract);
  return key ? joinPath(base, key) : base;
}
