import type { ContractName } from "./contract";
import type { StackSettings } from "./config";
import { Issue, joinPath } from "./errors";
import { PROVIDER_PATH, PlannedProvider, providerPath } from "./plan";
import { Registry, contractNames, exampleRefs, isContract } from "./registry";
import { parseTemplate } from "./template";
import { suggest, unknownKeyIssue } from "./validate/schema";

/** A `psf:images` key nothing reads is a typo that silently keeps the default image. */
export function imageKeyIssues(
  stack: StackSettings,
  providers: Array<Pick<PlannedProvider, "definition" | "settings">>,
): Issue[] {
  const issues: Issue[] = [];
  const known = new Set([
    ...Object.keys(stack.services),
    ...providers.flatMap((p) => Object.keys(p.definition.images?.(p.settings) ?? {})),
  ]);
  let sorted: string[] | undefined;
  for (const key of Object.keys(stack.images))
    if (!known.has(key)) {
      sorted ??= [...known].sort();
      const issue = unknownKeyIssue("images", key, sorted, "image key");
      issues.push({ ...issue, hint: `${issue.hint} (services and the providers in use)` });
    }
  return issues;
}

/** Each `{{ contract.field }}` in a service's env names a contract, a field of it, and a need. */
export function checkEnvRefs(
  name: string,
  stack: StackSettings,
  registry: Registry,
  issues: Issue[],
): void {
  const svc = stack.services[name];
  const names = contractNames(registry);
  for (const [key, value] of Object.entries(svc.env)) {
    if (typeof value !== "string") continue;
    const path = joinPath(joinPath(joinPath("services", name), "env"), key);
    const { refs, error } = parseTemplate(value);
    if (error) {
      issues.push({ path, message: error, hint: exampleRefs(registry) });
      continue;
    }
    for (const ref of refs) {
      if (!isContract(registry, ref.contract)) {
        const g = suggest(ref.contract, names);
        issues.push({
          path,
          message: `{{ ${ref.text} }} names no contract "${ref.contract}"`,
          hint: (g ? `did you mean "${g}"? ` : "") + `contracts: ${names.join(", ")}`,
        });
        continue;
      }
      const fields = registry.contracts[ref.contract].resultFields;
      if (!fields.includes(ref.field)) {
        const g = suggest(ref.field, fields);
        issues.push({
          path,
          message: `{{ ${ref.text} }}: ${ref.contract} has no result field "${ref.field}"`,
          hint: (g ? `did you mean "${g}"? ` : "") + `fields: ${fields.join(", ")}`,
        });
        continue;
      }
      if (!(ref.contract in svc.needs))
        issues.push({
          path,
          message: `{{ ${ref.text} }} needs a ${ref.contract} need`,
          hint: `add needs.${ref.contract} to service ${name}`,
        });
    }
  }
}

/** Kahn's algorithm, ties in registry order; a cycle is reported with its members, never thrown. */
export function topoSort(
  planned: Map<ContractName, PlannedProvider>,
  order: readonly ContractName[],
  issues: Issue[],
): PlannedProvider[] {
  const remaining = new Map(
    [...planned].map(([c, p]) => [c, new Set(p.dependsOn.filter((d) => planned.has(d)))]),
  );
  const sorted: PlannedProvider[] = [];
  while (remaining.size > 0) {
    const ready = [...remaining].filter(([, deps]) => deps.size === 0).map(([c]) => c);
    if (ready.length === 0) {
      const cycle = findCycle(remaining);
      issues.push({
        path: PROVIDER_PATH,
        message: `providers depend on each other in a cycle: ${cycle.map((c) => `${c} (${planned.get(c)!.definition.name})`).join(" → ")}`,
        hint: "choose, for one of these contracts, a provider whose needs do not loop back (e.g. one run outside the stack)",
      });
      return sorted;
    }
    for (const c of order.filter((c) => ready.includes(c))) {
      sorted.push(planned.get(c)!);
      remaining.delete(c);
      for (const deps of remaining.values()) deps.delete(c);
    }
  }
  return sorted;
}

function findCycle(graph: Map<ContractName, Set<ContractName>>): ContractName[] {
  const start = [...graph.keys()][0];
  const path: ContractName[] = [];
  let cur: ContractName | undefined = start;
  while (cur && !path.includes(cur)) {
    path.push(cur);
    cur = [...(graph.get(cur) ?? [])][0];
  }
  return cur ? [...path.slice(path.indexOf(cur)), cur] : path;
}

/** Two claims of one host port (providers' and services' published ports). */
export function checkHostPorts(
  stack: StackSettings,
  providers: PlannedProvider[],
  issues: Issue[],
): void {
  // Port → address → who; looked up by port, so a stack with many published ports stays linear.
  const taken = new Map<number, Map<string, string>>();
  const claim = (port: number, address: string, what: string, path: string) => {
    const wildcard = address === "0.0.0.0" || address === "";
    const onPort = taken.get(port) ?? new Map<string, string>();
    taken.set(port, onPort);
    const other = wildcard
      ? onPort.values().next().value
      : (onPort.get("0.0.0.0") ?? onPort.get(address));
    if (other !== undefined) {
      issues.push({
        path,
        message: `host port ${port} is already used by ${other}`,
        hint: "publish on another host port, or another address",
      });
      return;
    }
    onPort.set(address, what);
  };
  for (const p of providers)
    for (const hp of p.definition.hostPorts?.(p.settings) ?? [])
      claim(hp.port, hp.address, `${p.definition.name} (${hp.what})`, providerPath(p.contract));
  for (const [name, svc] of Object.entries(stack.services))
    svc.publish.forEach((pub, i) =>
      claim(pub.host, pub.address, `service ${name}`, `services.${name}.publish[${i}].host`),
    );
}
