import { EXIT_INVALID, reportIssues } from "./output";
import { SourceOptions, checkSource } from "./source";

/** `psf validate`: checks the stack config without engine or network. */
export function validateCommand(opts: SourceOptions & { json?: boolean }): number {
  const { src, plan, issues } = checkSource(opts);
  if (issues.length || !plan) {
    reportIssues(issues, !!opts.json);
    return EXIT_INVALID;
  }
  if (opts.json) process.stdout.write(JSON.stringify({ valid: true, errors: [] }, null, 2) + "\n");
  else
    process.stdout.write(
      `${src.stackName}: valid (${Object.keys(plan.stack.services).length} services)\n`,
    );
  return 0;
}
