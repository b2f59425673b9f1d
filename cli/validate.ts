import { validateConfig } from "../components/program";
import { registry } from "../providers";
import { EXIT_INVALID, reportIssues } from "./output";
import { SourceOptions, loadSource } from "./source";

/** `psf validate`: checks the stack config without engine or network. */
export function validateCommand(opts: SourceOptions & { json?: boolean }): number {
  const src = loadSource(opts);
  const issues = src.issues.length
    ? src.issues
    : validateConfig(src.raw, src.stackName, registry).issues;
  if (issues.length) {
    reportIssues(issues, !!opts.json);
    return EXIT_INVALID;
  }
  if (opts.json) process.stdout.write(JSON.stringify({ valid: true, errors: [] }, null, 2) + "\n");
  else
    process.stdout.write(
      `${src.stackName}: valid (${Object.keys((src.raw.services ?? {}) as object).length} services)\n`,
    );
  return 0;
}
