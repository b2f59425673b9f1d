import type * as automation from "@pulumi/pulumi/automation";

/**
 * Whether a destroy must run the program: only when the state holds a resource with hooks
 * (a stateful container's pre-change snapshot), which the engine refuses to delete without it
 * (pulumi/pulumi#19933). Otherwise the program is not run: for resources the state lacks (a
 * stack already destroyed, or never brought up) it would see no outputs and fail
 * (pulumi/pulumi#23921), so a second `psf destroy` would crash instead of doing nothing.
 */
export async function destroyNeedsProgram(stack: automation.Stack): Promise<boolean> {
  const state = await stack.exportStack();
  const resources = (state.deployment?.resources ?? []) as Array<Record<string, unknown>>;
  return resources.some((r) => Object.keys((r.resourceHooks as object | undefined) ?? {}).length);
}
