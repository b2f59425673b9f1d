import { RawConfig, parseStack } from "./config";
import { plainConfig } from "./plain-config";
import { Issue } from "./errors";
import type { Plan } from "./plan";
import { imageKeyIssues } from "./plan-checks";
import type { Registry } from "./registry";
import { resolve } from "./resolver";

/**
 * Validates a raw config end to end: every problem, or a plan. Pulumi-free, like everything
 * it reads, so `psf validate` and `psf graph` start without loading the SDK.
 */
export function validateConfig(
  raw: RawConfig,
  stackName: string,
  registry: Registry,
  project = "psf",
): { plan?: Plan; issues: Issue[] } {
  // Plain data within the limits first (the engine's JSON config has had neither check).
  const plain = plainConfig(raw);
  if (plain.issue) return { issues: [plain.issue] };
  const { settings, issues } = parseStack(plain.raw, stackName, registry, project);
  const resolved = resolve(settings, registry);
  // Image keys name services: only checkable when the services parsed.
  const images = issues.some((i) => i.path === "services")
    ? []
    : imageKeyIssues(settings, resolved.plan.providers);
  const all = [...issues, ...resolved.issues, ...images];
  return all.length ? { issues: all } : { plan: resolved.plan, issues: [] };
}
