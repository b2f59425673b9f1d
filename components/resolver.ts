import { CONTRACT_NAMES, ContractDefinition, ContractName, RequestContext } from "./contract";
import { StackSettings } from "./config";
import { Issue, joinPath } from "./errors";
import type { ProviderDefinition, ProviderNeed } from "./provider";
import { isContract, parseTemplate } from "./template";
import {
  ObjectSpec,
  SecureValue,
  check,
  describe,
  hasKey,
  suggest,
  unknownKeyIssue,
} from "./validate/schema";

/** Contracts and providers known to the resolver. */
export interface Registry {
  contracts: Record<ContractName, ContractDefinition>;
  providers: ProviderDefinition[];
}

/** One provider to build: its settings and every request it serves. */
export interface PlannedProvider {
  contract: ContractName;
  definition: ProviderDefinition;
  settings: Record<string, unknown>;
  /** Requester → validated request (with defaults). Services first, then providers' needs. */
  requests: Record<string, any>;
  /** Contracts built before this one. */
  dependsOn: ContractName[];
}

/** The pure result of resolution: what to build, in which order. */
export interface Plan {
  stack: StackSettings;
  /** Providers in dependency order. */
  providers: PlannedProvider[];
  /** Per service: contract → requester key of its request. */
  services: Record<string, { needs: ContractName[] }>;
}

export const PROVIDER_PATH = "providers";

function providerPath(contract: string, key?: string): string {
  const base = joinPath(PROVIDER_PATH, contract);
  return key ? joinPath(base, key) : base;
}

/** The public host of a service or provider route. */
export function hostFor(subdomain: string, domain: string): string {
  return `${subdomain}.${domain}`;
}

/**
 * Resolves a validated stack: picks a provider per contract, checks every request
 * against its contract and provider, adds the providers' own needs, orders the
 * providers, and reports every problem found (missing providers, cycles, port and
 * host conflicts, bad template references) in one list.
 */
export function resolve(stack: StackSettings, registry: Registry): { plan: Plan; issues: Issue[] } {
  const issues: Issue[] = [];
  // Providers whose settings failed their checks: reported at their paths, so their stack-wide
  // checks (which read the settings) and host ports are not checked again.
  const unsettled = new Set<ContractName>();
  const chosen = chooseProviders(stack, registry, issues, unsettled);
  const planned = new Map<ContractName, PlannedProvider>();
  for (const [contract, { definition, settings }] of chosen)
    planned.set(contract, { contract, definition, settings, requests: {}, dependsOn: [] });

  // Service requests.
  const services: Plan["services"] = {};
  for (const [name, svc] of Object.entries(stack.services)) {
    services[name] = { needs: [] };
    for (const [contractKey, rawReq] of Object.entries(svc.needs)) {
      if (!isContract(contractKey)) continue; // reported by parseStack
      const path = joinPath(joinPath(joinPath("services", name), "needs"), contractKey);
      const target = planned.get(contractKey);
      if (!target) {
        // A configured but broken provider entry is reported at its own path already.
        if (!configured(stack, contractKey))
          issues.push(missingProvider(contractKey, path, registry));
        continue;
      }
      const req = checkRequest(
        registry.contracts[contractKey],
        target,
        rawReq ?? {},
        { requester: name, service: svc, stack, path },
        issues,
      );
      if (req === undefined) continue;
      target.requests[name] =
        contractKey === "proxy"
          ? routeFor(req, name, svc.subdomain ?? name, svc.port ?? 0, stack)
          : req;
      services[name].needs.push(contractKey);
    }
    checkEnvRefs(name, stack, registry, issues);
  }
  addSsoRedirects(stack, planned);

  // Providers' own needs, to a fixed point (a need can add a request that adds a need).
  const edges = new Map<ContractName, Set<ContractName>>();
  const seenNeeds = new Set<string>();
  for (let round = 0; round <= CONTRACT_NAMES.length + 1; round++) {
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
        const req = checkRequest(
          registry.contracts[need.contract],
          dep,
          need.request,
          { requester: need.requester, stack, path },
          issues,
        );
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
        dep.requests[need.requester] =
          need.contract === "proxy" ? providerRoute(req, need, stack) : req;
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
  const order = topoSort(planned, issues);
  checkHostPorts(
    stack,
    [...planned.values()].filter((p) => !unsettled.has(p.contract)),
    issues,
  );
  checkHosts(stack, planned.get("proxy"), issues);
  return { plan: { stack, providers: order, services }, issues };
}

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

/** Whether the stack has an entry for `contract` in psf:providers, valid or not. */
function configured(stack: StackSettings, contract: ContractName): boolean {
  const providers = stack.providers as unknown;
  return (
    !!providers &&
    typeof providers === "object" &&
    !Array.isArray(providers) &&
    hasKey(providers, contract)
  );
}

function reportOnce(issues: Issue[], issue: Issue): void {
  if (!issues.some((i) => i.path === issue.path && i.message === issue.message)) issues.push(issue);
}

function chooseProviders(
  stack: StackSettings,
  registry: Registry,
  issues: Issue[],
  unsettled: Set<ContractName>,
) {
  const chosen = new Map<
    ContractName,
    { definition: ProviderDefinition; settings: Record<string, unknown> }
  >();
  const raw = stack.providers as unknown;
  if (raw === undefined || raw === null) return chosen;
  if (typeof raw !== "object" || Array.isArray(raw) || raw instanceof SecureValue) {
    issues.push({
      path: PROVIDER_PATH,
      message: `expected a map of contract → {use: provider, ...settings}, got ${Array.isArray(raw) ? "a list" : describe(raw)}`,
      hint: "e.g. providers: {database: {use: postgres}}",
    });
    return chosen;
  }
  for (const [contract, entry] of Object.entries(raw as Record<string, unknown>)) {
    if (!isContract(contract)) {
      issues.push(unknownKeyIssue(PROVIDER_PATH, contract, CONTRACT_NAMES, "contract"));
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

function missingProvider(contract: ContractName, path: string, registry: Registry): Issue {
  const names = registry.providers.filter((p) => p.contract === contract).map((p) => p.name);
  return {
    path,
    message: `needs a ${contract} provider, but psf:providers.${contract} is not set`,
    hint: `set providers.${contract}: {use: ${names[0] ?? "..."}} (choices: ${names.join(", ")})`,
  };
}

function missingNeedIssue(p: PlannedProvider, contract: ContractName, registry: Registry): Issue {
  const names = registry.providers.filter((d) => d.contract === contract).map((d) => d.name);
  return {
    path: providerPath(p.contract, "use"),
    message: `${p.definition.name} needs a ${contract} provider, but psf:providers.${contract} is not set`,
    hint: `set providers.${contract}: {use: ${names[0] ?? "..."}} (choices: ${names.join(", ")})`,
  };
}

function checkRequest(
  contract: ContractDefinition,
  provider: PlannedProvider,
  raw: unknown,
  ctx: RequestContext,
  issues: Issue[],
): any {
  const before = issues.length;
  const checked = check(raw, contract.request as ObjectSpec, ctx.path, issues);
  if (checked === undefined || issues.length > before) return undefined;
  const req = contract.defaults ? contract.defaults(checked, ctx) : checked;
  issues.push(...(contract.check?.(req, ctx) ?? []));
  issues.push(...(provider.definition.checkRequest?.(req, ctx.path, provider.settings) ?? []));
  return issues.length > before ? undefined : req;
}

function routeFor(
  req: any,
  requester: string,
  subdomain: string,
  port: number,
  stack: StackSettings,
) {
  return {
    ...req,
    host: hostFor(subdomain, stack.domain),
    upstream: { host: requester, port, scheme: "http" },
  };
}

function providerRoute(req: any, need: ProviderNeed, stack: StackSettings) {
  const sub = need.subdomain ?? need.requester.split(":")[0];
  return {
    ...req,
    host: hostFor(sub, stack.domain),
    upstream: { scheme: "http", ...need.upstream },
  };
}

/** The public URL of `host` as the planned proxy serves it; `https://host` without one. */
export function publicUrlOf(
  proxy: Pick<PlannedProvider, "definition" | "settings"> | undefined,
  host: string,
): string {
  return proxy?.definition.publicUrl?.(proxy.settings, host) ?? `https://${host}`;
}

/** Relative `redirectPaths` become absolute URIs on the service's public URL (its port included). */
function addSsoRedirects(stack: StackSettings, planned: Map<ContractName, PlannedProvider>): void {
  const sso = planned.get("sso");
  if (!sso) return;
  for (const [requester, req] of Object.entries(sso.requests)) {
    const svc = stack.services[requester];
    if (!svc) continue;
    const base = publicUrlOf(
      planned.get("proxy"),
      hostFor(svc.subdomain ?? requester, stack.domain),
    );
    const uris = (req.redirectPaths as string[]).map((p) => `${base}${p}`);
    req.redirectUris = [...new Set([...(req.redirectUris as string[]), ...uris])];
  }
}

function checkEnvRefs(
  name: string,
  stack: StackSettings,
  registry: Registry,
  issues: Issue[],
): void {
  const svc = stack.services[name];
  for (const [key, value] of Object.entries(svc.env)) {
    if (typeof value !== "string") continue;
    const path = joinPath(joinPath(joinPath("services", name), "env"), key);
    const { refs, error } = parseTemplate(value);
    if (error) {
      issues.push({
        path,
        message: error,
        hint: "write {{ database.url }} or {{ sso.clientSecret }}",
      });
      continue;
    }
    for (const ref of refs) {
      if (!isContract(ref.contract)) {
        const g = suggest(ref.contract, CONTRACT_NAMES);
        issues.push({
          path,
          message: `{{ ${ref.text} }} names no contract "${ref.contract}"`,
          hint: (g ? `did you mean "${g}"? ` : "") + `contracts: ${CONTRACT_NAMES.join(", ")}`,
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

/** Kahn's algorithm; a cycle is reported with its members, never thrown. */
function topoSort(planned: Map<ContractName, PlannedProvider>, issues: Issue[]): PlannedProvider[] {
  const remaining = new Map(
    [...planned].map(([c, p]) => [c, new Set(p.dependsOn.filter((d) => planned.has(d)))]),
  );
  const order: PlannedProvider[] = [];
  while (remaining.size > 0) {
    const ready = [...remaining].filter(([, deps]) => deps.size === 0).map(([c]) => c);
    if (ready.length === 0) {
      const cycle = findCycle(remaining);
      issues.push({
        path: PROVIDER_PATH,
        message: `providers depend on each other in a cycle: ${cycle.map((c) => `${c} (${planned.get(c)!.definition.name})`).join(" → ")}`,
        hint: "choose providers whose needs do not loop back, e.g. an external sso (oidc) instead of one that needs the proxy",
      });
      return order;
    }
    for (const c of CONTRACT_NAMES.filter((c) => ready.includes(c))) {
      order.push(planned.get(c)!);
      remaining.delete(c);
      for (const deps of remaining.values()) deps.delete(c);
    }
  }
  return order;
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

function checkHostPorts(stack: StackSettings, providers: PlannedProvider[], issues: Issue[]): void {
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

/** Two routes for one host: reported at a service's subdomain (which the user can change) when one is a service's. */
function checkHosts(
  stack: StackSettings,
  proxy: PlannedProvider | undefined,
  issues: Issue[],
): void {
  if (!proxy) return;
  const seen = new Map<string, string>();
  const isService = (requester: string) => !!stack.services[requester];
  const what = (requester: string) =>
    isService(requester) ? requester : `${requester} (a provider's route)`;
  for (const [requester, route] of Object.entries(proxy.requests)) {
    const other = seen.get(route.host);
    if (other === undefined) {
      seen.set(route.host, requester);
      continue;
    }
    const [at, against] =
      isService(requester) || !isService(other) ? [requester, other] : [other, requester];
    const path = isService(at)
      ? joinPath(joinPath("services", at), "subdomain")
      : providerPath("proxy");
    issues.push({
      path,
      message: `host ${route.host} is already routed to ${what(against)}`,
      hint: "give one of them another subdomain",
    });
  }
}
