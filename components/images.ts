import type { StackSettings } from "./config";
import type { Plan, PlannedProvider } from "./plan";
import { hasKey } from "./validate/schema";

/** `psf:images[key]` when the stack sets it, else `fallback`: the override rule of every image. */
export function imageOverride(stack: StackSettings, key: string, fallback: string): string {
  return hasKey(stack.images, key) ? stack.images[key] : fallback;
}

/**
 * Every image the stack's workloads run, each with the `psf:images` keys whose workloads run it
 * (service names, providers' image keys), read from the validated plan alone: what `psf up`
 * makes available before the engine starts, without evaluating the program. On Docker it is
 * exactly the set of images the program pulls (test/unit/stack-images.test.ts holds it to that).
 */
export function stackImages(plan: Plan): Map<string, string[]> {
  const images = new Map<string, string[]>();
  const use = (ref: string, key: string) => {
    const users = images.get(ref) ?? [];
    if (!users.includes(key)) users.push(key);
    images.set(ref, users);
  };
  for (const p of plan.providers)
    for (const [key, ref] of Object.entries(providerImages(p, plan.stack))) use(ref, key);
  for (const [name, svc] of Object.entries(plan.stack.services))
    use(imageOverride(plan.stack, name, svc.image), name);
  return images;
}

/** The images one planned provider runs, by key, after `psf:images` overrides. */
function providerImages(p: PlannedProvider, stack: StackSettings): Record<string, string> {
  if (p.definition.workloadsPerRequest && Object.keys(p.requests).length === 0) return {};
  const declared = p.definition.images?.(p.settings) ?? {};
  return Object.fromEntries(
    Object.entries(declared).map(([key, ref]) => [key, imageOverride(stack, key, ref)]),
  );
}
