import { usePlanPlaceholders } from "../components/plan-placeholders";
import { runProgram } from "../components/program";
import { registry } from "../providers";
import { EXIT_INVALID, reportIssues } from "./output";
import { ProgramFailure, evaluate, mask } from "./mock-engine";
import { SourceOptions, checkSource } from "./source";

/** `psf plan`: evaluates the program offline and prints the resources it would declare. */
export async function planCommand(
  opts: SourceOptions & { json?: boolean; showSecrets?: boolean },
): Promise<number> {
  const { src, plan, issues } = checkSource(opts);
  if (issues.length || !plan) {
    reportIssues(issues, !!opts.json);
    return EXIT_INVALID;
  }
  // Mock passwords need no key stretching: derived digests are placeholders (masked anyway).
  // Only for this evaluation: a process that runs psf plan in-process (the tests) goes on
  // computing real values afterwards.
  usePlanPlaceholders(true);
  const declared = await evaluate(registry, src.raw, src.stackName, (raw, stackName) =>
    runProgram(registry, { raw, stackName, plan }),
  )
    .catch((e: unknown) => {
      if (!(e instanceof ProgramFailure)) throw e;
      process.stderr.write(`error: the program failed while planning: ${e.message}\n`);
      return undefined;
    })
    .finally(() => usePlanPlaceholders(false));
  if (!declared) return 1;
  const resources = declared.map((r) => ({
    type: r.type,
    name: r.name,
    parent: r.parent ?? null,
    inputs: mask(r.inputs, !!opts.showSecrets) as Record<string, unknown>,
  }));
  if (opts.json) {
    process.stdout.write(JSON.stringify({ stack: src.stackName, resources }, null, 2) + "\n");
    return 0;
  }
  const byParent = new Map<string | null, typeof resources>();
  for (const r of resources) {
    const siblings = byParent.get(r.parent);
    if (siblings) siblings.push(r);
    else byParent.set(r.parent, [r]);
  }
  const lines: string[] = [];
  const walk = (parent: string | null, depth: number) => {
    for (const r of byParent.get(parent) ?? []) {
      lines.push(`${"  ".repeat(depth)}+ ${r.type}  ${r.name}`);
      if (r.name !== parent && depth < 12) walk(r.name, depth + 1);
    }
  };
  walk(null, 0);
  process.stdout.write(
    `Stack ${src.stackName}: ${resources.length} resources\n${lines.join("\n")}\n`,
  );
  return 0;
}
