import type { ContractDefinition, ContractName } from "./contract";
import type { ProviderDefinition } from "./provider";

/**
 * Contracts and providers the stack may use (providers/index.ts). The framework knows a
 * contract only through its entry here: its name is a key, its order the build order among
 * providers that do not depend on each other.
 */
export interface Registry {
  contracts: Record<ContractName, ContractDefinition>;
  providers: ProviderDefinition[];
}

/** The registry's contract names, in its order. */
export function contractNames(registry: Pick<Registry, "contracts">): ContractName[] {
  return Object.keys(registry.contracts);
}

/** Whether `name` is a contract of the registry (never a key inherited from Object). */
export function isContract(registry: Pick<Registry, "contracts">, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(registry.contracts, name);
}

/** Two `{{ contract.field }}` references for hints, from the first contracts that have fields. */
export function exampleRefs(registry: Pick<Registry, "contracts">): string {
  const refs = Object.values(registry.contracts)
    .filter((c) => c.resultFields.length > 0)
    .slice(0, 2)
    .map((c) => `{{ ${c.name}.${c.resultFields[0]} }}`);
  return refs.length ? `write ${refs.join(" or ")}` : "write {{ contract.field }}";
}
