import { ContractDefinition, ContractName, ExpandContext, RequestContext } from "./contract";
import type { StackSettings } from "./config";
import {
  Chosen,
  chooseProviders,
  configured,
  missingNeedIssue,
  missingProvider,
} from "./choose-providers";
import { Issue, joinPath } from "./errors";
import { Plan, PlannedProvider, providerPath } from "./plan";
import { checkEnvRefs, checkHostPorts, topoSort } from "./plan-checks";
import { publicUrlOf } from "./public-url";
import { Registry, contractNames, isContract } from "./registry";
import { check } from "./validate/schema";

/**
 * Resolves a validated stack: picks a provider per contract, checks every request against
 * its contract and provider, lets the contract expand it into what the provider serves, adds
 * the providers' own needs, orders the providers, and reports every problem found (missing
 * providers, cycles, port and host conflicts, bad template references) in one list.
 */
export function resolve(stack: StackSettings, registry: Registry): { plan: Plan; issues: Issue[] } {
  const issues: Issue[] = [];
  // Providers whose settings failed their checks: reported at their paths, so their stack-wide
  // checks (which read the settings) and host ports are not checked again.
  const unsettled = new Set<ContractName>();
  const chosen: Chosen = chooseProviders(stack, registry, issues, unsettled);
  const planned = new Map<ContractName, PlannedProvider>();
  for (const [contract, { definition, settings }] of chosen)
    planned.set(contract, { contract, definition, settings, requests: {}, dependsOn: [] });
  const publicUrl = (host: string) => publicUrlOf(planned.values(), host);

  // Service requests.
  const services: Plan["services"] = {};
  for (const [name, svc] of Object.entries(stack.services)) {
    services[name] = { needs: [] };
    for (const [contractKey, rawReq] of Object.entries(svc.needs)) {
      if (!isContract(registry, contractKey)) continue; // reported by parseStack
      const path = joinPath(joinPath(joinPath("services", name), "needs"), contractKey);
      const target = planned.get(contractKey);
      if (!target) {
        // A configured but broken provider entry is reported at its own path already.
        if (!configured(stack, contractKey))
          issues.push(missingProvider(contractKey, path, registry));
        continue;
      }
      const ctx = { requester: name, service: svc, stack, path, publicUrl };
      const req = checkRequest(registry.contracts[contractKey], target, rawReq ?? {}, ctx, issues);
      if (req === undefined) continue;
      target.requests[name] = expand(registry.contracts[contractKey], req, ctx);
      services[name].needs.push(contractKey);
    }
    checkEnvRefs(name, stack, registry, issues);
  }

  // Providers' own needs, to a fixed point (a need can add a request that adds a need).
  const edges = new Map<ContractName, Set<ContractName>>();
  const seenNeeds = new Set<string>();
  for (let round = 0; round <= contractNames(registry).length + 1; round++) {
    let added = false;
    for (const p of planned.values()) {
      const deps = edges.get(p.contract) ?? new Set<ContractName>();
      edges.set(p.contract, deps);
      for (const c of p.definition.reads?.(p.settings, stack, p.requests) ?? []) {
        if (planned.has(c)) deps.add(c);
        // A configured but broken entry is reported at its own path already.
        else if (Object.values(p.requests).length > 0 && !configured(stack, c))
          reportOnce(issues, missingNeedIssue(p, c, registry));
      }
      for (const need of p.definition.needs?.(p.settings, stack, p.requests) ?? []) {
        const key = `${need.contract}/${need.requester}`;
        if (seenNeeds.has(key)) continue;
        seenNeeds.add(key);
        added = true;
        const dep = planned.get(need.contract);
        if (!dep) {
          if (!configured(stack, need.contract))
            reportOnce(issues, missingNeedIssue(p, need.contract, registry));
          continue;
        }
        if (need.consumes !== false) deps.add(need.contract);
        const path = providerPath(p.contract);
        const ctx = { requester: need.requester, stack, path, publicUrl, from: need.from };
        const contract = registry.contracts[need.contract];
        const req = checkRequest(contract, dep, need.request, ctx, issues);
        if (req === undefined) continue;
        if (need.requester in dep.requests) {
          // Requests are keyed by requester: a service of the same name would lose its request.
          const service = !!stack.services[need.requester];
          issues.push({
            path: service ? joinPath("services", need.requester) : path,
            message: `"${need.requester}" is also the name under which the ${p.definition.name} provider requests ${need.contract}`,
            hint: service
              ? "rename the service"
              : "two providers make requests under one name; choose other providers",
          });
          continue;
        }
        dep.requests[need.requester] = expand(contract, req, ctx);
      }
    }
    if (!added) break;
  }

  for (const p of planned.values()) {
    const path = providerPath(p.contract);
    if (!unsettled.has(p.contract))
      issues.push(...(p.definition.checkStack?.(p.settings, stack, p.requests, path) ?? []));
    p.dependsOn = [...(edges.get(p.contract) ?? [])].sort();
  }
  const order = topoSort(planned, contractNames(registry), issues);
  checkHostPorts(
    stack,
    [...planned.values()].filter((p) => !unsettled.has(p.contract)),
    issues,
  );
  for (const p of planned.values()) {
    const checkServed = registry.contracts[p.contract].checkServed;
    if (checkServed)
      issues.push(...checkServed(p.requests, { stack, path: providerPath(p.contract) }));
  }
  return { plan: { stack, providers: order, services }, issues };
}

function reportOnce(issues: Issue[], issue: Issue): void {
  if (!issues.some((i) => i.path === issue.path && i.message === issue.message)) issues.push(issue);
}

/** The request checked against its contract (spec, defaults, checks) and its provider. */
function checkRequest(
  contract: ContractDefinition,
  provider: PlannedProvider,
  raw: unknown,
  ctx: RequestContext,
  issues: Issue[],
): unknown {
  const before = issues.length;
  const checked = check(raw, contract.request, ctx.path, issues);
  if (checked === undefined || issues.length > before) return undefined;
  const req = contract.defaults ? contract.defaults(checked, ctx) : checked;
  issues.push(...(contract.check?.(req, ctx) ?? []));
  issues.push(...(provider.definition.checkRequest?.(req, ctx.path, provider.settings) ?? []));
  return issues.length > before ? undefined : req;
}

/** What the provider serves for a checked request: the contract's expansion, or the request. */
function expand(contract: ContractDefinition, req: unknown, ctx: ExpandContext): unknown {
  return contract.expand ? contract.expand(req, ctx) : req;
}
