import * as fs from "fs";
import * as path from "path";
import { RawConfig } from "../components/config";
import { readStackFile } from "../components/stack-file";
import { Issue, notWithin } from "../components/errors";
import type { Plan } from "../components/plan";
import { validateConfig } from "../components/validate-config";
import { registry } from "../providers";

/** The project root: the nearest directory above this file holding Pulumi.yaml (sources run from `cli/` or `bin-build/cli/`). */
export const PROJECT_ROOT = ((): string => {
  for (let dir = path.resolve(__dirname, ".."); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(__dirname, "..");
  }
})();

export interface SourceOptions {
  stack?: string;
  config?: string;
}

/** Where a command's stack config comes from: `--stack S` (stacks/Pulumi.S.yaml) or `--config FILE`. */
export function loadSource(opts: SourceOptions): {
  raw: RawConfig;
  stackName: string;
  file: string;
  issues: Issue[];
  /** Nothing could be read; otherwise `issues` are problems of single keys, and `raw` the rest. */
  fatal: boolean;
} {
  if (opts.stack && opts.config)
    return {
      raw: {},
      stackName: "",
      file: "",
      fatal: true,
      issues: [
        {
          path: "--config",
          message: "give --stack or --config, not both",
          hint: "psf validate --stack dev",
        },
      ],
    };
  const file = opts.config
    ? path.resolve(opts.config)
    : path.join(PROJECT_ROOT, "stacks", `Pulumi.${opts.stack ?? "dev"}.yaml`);
  const stackName = opts.config
    ? (/^Pulumi\.(.+)\.ya?ml$/.exec(path.basename(file))?.[1] ?? "cli")
    : (opts.stack ?? "dev");
  if (!opts.config && !fs.existsSync(file)) {
    const known = fs.existsSync(path.join(PROJECT_ROOT, "stacks"))
      ? fs
          .readdirSync(path.join(PROJECT_ROOT, "stacks"))
          .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
          .filter(Boolean)
      : [];
    return {
      raw: {},
      stackName,
      file,
      fatal: true,
      issues: [
        {
          path: `--stack ${stackName}`,
          message: `no stack file ${path.relative(process.cwd(), file)}`,
          hint: `stacks: ${known.join(", ") || "none"}`,
        },
      ],
    };
  }
  const { raw, issues, fatal } = readStackFile(file);
  return { raw, stackName, file, issues, fatal };
}

/**
 * The one validation every command runs before anything else (validate, plan, graph; up and
 * preview through cli/engine.ts): the stack file as read, then the config as validated. A
 * problem of the file (a key set twice, an unknown tag) is reported once, at its path.
 */
export function checkSource(opts: SourceOptions): {
  src: ReturnType<typeof loadSource>;
  plan?: Plan;
  issues: Issue[];
} {
  const src = loadSource(opts);
  if (src.fatal) return { src, issues: src.issues };
  const { plan, issues } = validateConfig(src.raw, src.stackName, registry);
  if (src.issues.length === 0) return { src, plan, issues };
  return { src, issues: [...src.issues, ...notWithin(src.issues, issues)] };
}
