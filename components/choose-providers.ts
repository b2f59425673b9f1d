import type { ContractName } from "./contract";
import type { StackSettings } from "./config";
import { Issue, joinPath } from "./errors";
import { PROVIDER_PATH, PlannedProvider, providerPath } from "./plan";
import type { ProviderDefinition } from "./provider";
import { Registry, contractNames, isContract } from "./registry";
import {
  ObjectSpec,
  SecureValue,
  check,
  describe,
  hasKey,
  suggest,
  unknownKeyIssue,
} from "./validate/schema";

export type Chosen = Map<
  ContractName,
  { definition: ProviderDefinition; settings: Record<string, unknown> }
>;

/**
 * The provider `psf:providers.<contract>.use` picks for each contract, with its checked
 * settings. A provider whose settings fail is still chosen (its requests are checked too),
 * with each failed setting at its default, and its contract is added to `unsettled`.
 */
export function chooseProviders(
  stack: StackSettings,
  registry: Registry,
  issues: Issue[],
  unsettled: Set<ContractName>,
): Chosen {
  const chosen: Chosen = new Map();
  const raw = stack.providers as unknown;
  if (raw === undefined || raw === null) return chosen;
  if (typeof raw !== "object" || Array.isArray(raw) || raw instanceof SecureValue) {
    const [contract] = contractNames(registry);
    const example = registry.providers.find((p) => p.contract === contract);
    issues.push({
      path: PROVIDER_PATH,
      message: `expected a map of contract → {use: provider, ...settings}, got ${Array.isArray(raw) ? "a list" : describe(raw)}`,
      hint: `e.g. providers: {${contract}: {use: ${example?.name ?? "..."}}}`,
    });
    return chosen;
  }
  for (const [contract, entry] of Object.entries(raw as Record<string, unknown>)) {
    if (!isContract(registry, contract)) {
      issues.push(unknownKeyIssue(PROVIDER_PATH, contract, contractNames(registry), "contract"));
      continue;
    }
    const path = providerPath(contract);
    const options = registry.providers.filter((p) => p.contract === contract);
    const names = options.map((p) => p.name);
    if (
      !entry ||
      typeof entry !== "object" ||
      Array.isArray(entry) ||
      entry instanceof SecureValue
    ) {
      issues.push({
        path,
        message: `expected {use: <provider>, ...settings}, got ${Array.isArray(entry) ? "a list" : describe(entry)}`,
        hint:
          typeof entry === "string" && names.includes(entry)
            ? `write ${contract}: {use: ${entry}}`
            : `providers for ${contract}: ${names.join(", ")}`,
      });
      continue;
    }
    const rest: Record<string, unknown> = Object.create(null);
    for (const [k, v] of Object.entries(entry as Record<string, unknown>))
      if (k !== "use") rest[k] = v;
    const use = hasKey(entry, "use") ? (entry as Record<string, unknown>).use : undefined;
    const definition = options.find((p) => p.name === use);
    if (!definition) {
      const guess = typeof use === "string" ? suggest(use, names) : undefined;
      issues.push({
        path: joinPath(path, "use"),
        message:
          use === undefined || use === null
            ? "is required"
            : typeof use === "string"
              ? `unknown ${contract} provider ${describe(use)}`
              : `expected a provider name, got ${describe(use)}`,
        hint:
          (guess ? `did you mean "${guess}"? ` : "") +
          `providers for ${contract}: ${names.join(", ")}`,
      });
      continue;
    }
    if (definition.environments && !definition.environments.includes(stack.environment)) {
      issues.push({
        path: joinPath(path, "use"),
        message: `provider "${definition.name}" is not allowed in ${stack.environment}`,
        hint: `it is for ${definition.environments.join(", ")} only; use one of: ${names.filter((n) => n !== definition.name).join(", ")}`,
      });
    }
    const before = issues.length;
    const settings = check(rest, definition.settings, path, issues) as
      Record<string, unknown> | undefined;
    if (settings === undefined || issues.length > before) {
      // Settings errors are reported; still register the provider so requests are checked,
      // with each failed setting at its default: nothing downstream reads a failed value.
      unsettled.add(contract);
      chosen.set(contract, {
        definition,
        settings: fallbackSettings(rest, definition.settings, path),
      });
      continue;
    }
    chosen.set(contract, { definition, settings });
  }
  return chosen;
}

/** Settings with every field that fails its check replaced by its default (or left out). */
function fallbackSettings(
  rest: Record<string, unknown>,
  spec: ObjectSpec,
  path: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, fieldSpec] of Object.entries(spec.fields)) {
    const given = hasKey(rest, key) ? rest[key] : undefined;
    const failed: Issue[] = [];
    let v = check(given, fieldSpec, joinPath(path, key), failed);
    if (failed.length > 0) v = check(undefined, fieldSpec, joinPath(path, key), []);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** Whether the stack has an entry for `contract` in psf:providers, valid or not. */
export function configured(stack: StackSettings, contract: ContractName): boolean {
  const providers = stack.providers as unknown;
  return (
    !!providers &&
    typeof providers === "object" &&
    !Array.isArray(providers) &&
    hasKey(providers, contract)
  );
}

export function missingProvider(contract: ContractName, path: string, registry: Registry): Issue {
  const names = registry.providers.filter((p) => p.contract === contract).map((p) => p.name);
  return {
    path,
    message: `needs a ${contract} provider, but psf:providers.${contract} is not set`,
    hint: `set providers.${contract}: {use: ${names[0] ?? "..."}} (choices: ${names.join(", ")})`,
  };
}

export function missingNeedIssue(
  p: PlannedProvider,
  contract: ContractName,
  registry: Registry,
): Issue {
  const names = registry.providers.filter((d) => d.contract === contract).map((d) => d.name);
  return {
    path: providerPath(p.contract, "use"),
    message: `${p.definition.name} needs a ${contract} provider, but psf:providers.${contract} is not set`,
    hint: `set providers.${contract}: {use: ${names[0] ?? "..."}} (choices: ${names.join(", ")})`,
  };
}
