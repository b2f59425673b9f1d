import type * as automation from "@pulumi/pulumi/automation";
import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as YAML from "yaml";
import type { PreviewOrigin } from "../components/config";
import { Issue } from "../components/errors";
import { parseDuration } from "./duration";
import { engineCommand } from "./engine";
import { reportIssues } from "./output";
import { PrerequisiteError } from "./prerequisite-error";
import { ensurePulumi } from "./prerequisites";
import { checkSource } from "./source";
import { configKey, derivePreviewConfig, getAt, portClaims } from "./preview-env-config";
import { parseOpenList, parsePr, prOfStack, previewStackName } from "./preview-env-names";
import { freePorts, portBase, portsOfOtherStacks } from "./preview-env-ports";
import { PreviewStack, selectForPrune } from "./preview-env-prune";
import {
  STACKS_DIR,
  backendStacks,
  createOrSelect,
  hasState,
  removeStackEntirely,
  resourceCount,
  restoreStackFile,
  stackFile,
} from "./preview-env-stack";

/** `psf preview-env` exits 0 when done, 1 otherwise (SPEC §4). */
const FAILED = 1;

/** An engine or backend failure as one `psf:` line and exit 1, not a stack trace. */
async function guarded(run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (e) {
    process.stderr.write(`psf: preview-env: ${lastLine(e as Error)}\n`);
    return FAILED;
  }
}

/**
 * Runs `fn` and puts process.env back as it was: the engine leaves its stack's passphrase file
 * there (cli/engine.ts), which the next stack of a prune would otherwise take for its own.
 */
async function keepingEnv<T>(fn: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  try {
    return await fn();
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

/** The telling line of an Automation API error (its message ends with the CLI's stderr). */
function lastLine(e: Error): string {
  const lines = String(e?.message ?? e)
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.find((l) => l.startsWith("error:")) ?? lines[lines.length - 1] ?? "failed";
}

function fail(issues: Issue[]): number {
  reportIssues(issues, false);
  return FAILED;
}

export interface PreviewUpOptions {
  pr?: string;
  from: string;
  json?: boolean;
}

/**
 * `psf preview-env up --pr N [--from dev]`: writes stacks/Pulumi.pr-N.yaml from the template
 * (cli/preview-env-config.ts), gives each of its secrets a fresh random value, and brings it up.
 * Again for the same PR: the same file, ports and secrets, so the engine updates what changed.
 */
export function previewUp(o: PreviewUpOptions): Promise<number> {
  return guarded(() => up(o));
}

async function up(o: PreviewUpOptions): Promise<number> {
  const { pr, issue } = parsePr(o.pr);
  if (pr === undefined) return fail([issue!]);
  if (prOfStack(o.from) !== undefined)
    return fail([
      {
        path: "--from",
        message: `${o.from} is a preview stack itself`,
        hint: "derive previews from a stack of the repository, e.g. --from dev",
      },
    ]);
  const template = checkSource({ stack: o.from });
  if (!template.plan) return fail(template.issues);
  const stack = previewStackName(pr);
  const file = stackFile(stack);
  const log = o.json
    ? (s: string) => void process.stderr.write(s)
    : (s: string) => void process.stdout.write(s);
  let version: string | undefined;
  try {
    version = await ensurePulumi();
  } catch (e) {
    if (!(e instanceof PrerequisiteError)) throw e;
    process.stderr.write(`error: ${e.message}\n  hint: ${e.hint}\n`);
    return FAILED;
  }
  if (!fs.existsSync(file) && (await hasState(stack)))
    await restoreStackFile(stack).catch((e: Error) =>
      log(`psf: ${stack}: no stack file to restore (${lastLine(e)}); writing a new one\n`),
    );
  const previous = fs.existsSync(file)
    ? (YAML.parse(fs.readFileSync(file, "utf8")) as Record<string, any>)
    : undefined;
  const prevConfig = (previous?.config ?? undefined) as Record<string, unknown> | undefined;
  const createdAt = getAt(prevConfig, ["psf:preview", "createdAt"]);
  const origin: PreviewOrigin = {
    pr,
    from: o.from,
    createdAt: isoTime(createdAt) ?? new Date().toISOString(),
  };
  const templateDoc = YAML.parse(fs.readFileSync(template.src.file, "utf8")) as {
    config: Record<string, unknown>;
  };
  const taken = portsOfOtherStacks(STACKS_DIR, stack);
  const needed = portClaims(template.plan).length;
  const free = await freePorts(needed, portBase(pr), taken);
  const { config, generate, ports } = derivePreviewConfig(templateDoc.config, {
    origin,
    plan: template.plan,
    previous: prevConfig,
    choosePort: () => free.shift()!,
  });
  writeStackFile(file, config, previous?.encryptionsalt, origin);
  const engineStack = await createOrSelect(stack, version);
  for (const path of generate)
    await engineStack.setConfig(
      configKey(path),
      { value: crypto.randomBytes(24).toString("base64url"), secret: true },
      true,
    );
  if (generate.length) log(`psf: ${generate.length} secret(s) generated for ${stack}\n`);
  for (const p of ports) log(`psf: ${p.what}: host port ${p.port} (${p.address})\n`);
  let outputs: automation.OutputMap = {};
  const code = await engineCommand("up", {
    stack,
    out: log,
    onOutputs: (out) => (outputs = out),
  });
  if (code !== 0) return FAILED;
  const services = (outputs.services?.value ?? {}) as Record<string, { url?: string }>;
  const urls = Object.fromEntries(
    Object.entries(services).flatMap(([name, s]) => (s?.url ? [[name, s.url]] : [])),
  );
  if (o.json)
    process.stdout.write(
      JSON.stringify(
        {
          pr,
          stack,
          from: o.from,
          createdAt: origin.createdAt,
          urls,
          ports: ports.map((p) => ({ what: p.what, port: p.port, address: p.address })),
        },
        null,
        2,
      ) + "\n",
    );
  else process.stdout.write(`\nPreview of PR #${pr} (stack ${stack}) is up.\n`);
  return 0;
}

/** A recorded creation time as ISO 8601 (older files hold the engine's Go format), if readable. */
function isoTime(value: unknown): string | undefined {
  const t = typeof value === "string" ? Date.parse(value) : NaN;
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

function writeStackFile(
  file: string,
  config: Record<string, unknown>,
  salt: string | undefined,
  origin: PreviewOrigin,
): void {
  const doc = new YAML.Document({ ...(salt ? { encryptionsalt: salt } : {}), config });
  // Quoted: unquoted, the engine reads it as a YAML timestamp and writes it back in Go's format.
  const created = doc.getIn(["config", "psf:preview", "createdAt"], true);
  if (YAML.isScalar(created)) created.type = "QUOTE_DOUBLE";
  doc.commentBefore =
    ` Preview of pull request #${origin.pr}, derived from stacks/Pulumi.${origin.from}.yaml by\n` +
    ` \`psf preview-env up\` (rewritten on every up); \`psf preview-env down --pr ${origin.pr}\` removes it.`;
  fs.writeFileSync(file, doc.toString(), { mode: 0o644 });
}

export interface PreviewDownOptions {
  pr?: string;
  json?: boolean;
}

/**
 * `psf preview-env down --pr N`: destroys the stack's resources, removes the stack, its state
 * leftovers, its file and passphrase, and then checks that Docker holds nothing labelled with it.
 */
export function previewDown(o: PreviewDownOptions): Promise<number> {
  return guarded(() => down(o));
}

async function down(o: PreviewDownOptions): Promise<number> {
  const { pr, issue } = parsePr(o.pr);
  if (pr === undefined) return fail([issue!]);
  const result = await takeDown(pr, o.json);
  if (o.json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
  return result.ok ? 0 : FAILED;
}

interface DownResult {
  pr: number;
  stack: string;
  ok: boolean;
  removed: string[];
  /** Docker objects still labelled with the stack after the destroy. */
  remaining: string[];
  error?: string;
}

async function takeDown(pr: number, json?: boolean): Promise<DownResult> {
  const stack = previewStackName(pr);
  const file = stackFile(stack);
  const log = json
    ? (s: string) => void process.stderr.write(s)
    : (s: string) => void process.stdout.write(s);
  const result: DownResult = { pr, stack, ok: false, removed: [], remaining: [] };
  try {
    await ensurePulumi();
  } catch (e) {
    if (!(e instanceof PrerequisiteError)) throw e;
    result.error = `${e.message} (${e.hint})`;
    process.stderr.write(`error: ${e.message}\n  hint: ${e.hint}\n`);
    return result;
  }
  const withState = await hasState(stack);
  if (withState) {
    if (!fs.existsSync(file)) await restoreStackFile(stack);
    const host = dockerHostOf(file);
    // A stack whose first `up` stopped before any resource has nothing to destroy (and the
    // program would run against an empty state for nothing).
    const code =
      (await resourceCount(stack)) > 0 ? await engineCommand("destroy", { stack, out: log }) : 0;
    if (code !== 0) {
      result.error = `the engine could not destroy ${stack} (exit ${code}); nothing was removed, run down again`;
      process.stderr.write(`psf: ${result.error}\n`);
      return result;
    }
    result.removed = await removeStackEntirely(stack, true);
    result.remaining = dockerObjectsOf(stack, host);
  } else result.removed = await removeStackEntirely(stack, false);
  if (result.remaining.length) {
    result.error = `still on the Docker engine: ${result.remaining.join(", ")}`;
    process.stderr.write(
      `error: ${result.error}\n  hint: docker rm -f / docker network rm / docker volume rm them, by label psf.stack=${stack}\n`,
    );
    return result;
  }
  result.ok = true;
  log(
    withState || result.removed.length
      ? `psf: preview ${stack} removed (${result.removed.length} item(s)); nothing labelled psf.stack=${stack} remains\n`
      : `psf: no preview ${stack}: nothing to remove\n`,
  );
  return result;
}

/** The Docker host the stack file names (psf:target.host), if any. */
function dockerHostOf(file: string): string | undefined {
  if (!fs.existsSync(file)) return undefined;
  const host = getAt(YAML.parse(fs.readFileSync(file, "utf8")), ["config", "psf:target", "host"]);
  return typeof host === "string" ? host : undefined;
}

/** Containers, networks and volumes labelled `psf.stack=<stack>` (every object the stack makes). */
export function dockerObjectsOf(stack: string, host?: string): string[] {
  const found: string[] = [];
  const hostArgs = host ? ["-H", host] : [];
  for (const [kind, args] of [
    ["container", ["ps", "-a", "--format", "{{.Names}}"]],
    ["network", ["network", "ls", "--format", "{{.Name}}"]],
    ["volume", ["volume", "ls", "--format", "{{.Name}}"]],
  ] as const) {
    const r = spawnSync("docker", [...hostArgs, ...args, "--filter", `label=psf.stack=${stack}`], {
      encoding: "utf8",
    });
    if (r.status !== 0) continue;
    for (const name of r.stdout.split("\n").filter(Boolean)) found.push(`${kind} ${name}`);
  }
  return found;
}

export interface PruneOptions {
  olderThan?: string;
  open?: string;
  dryRun?: boolean;
  json?: boolean;
}

/**
 * `psf preview-env prune [--older-than 7d] [--open 3,14]`: takes down every preview whose PR is
 * not open or that is older than the bound. Without `--open`, the open PRs come from `gh pr
 * list` when `gh` and a token are there; without either, only age counts.
 */
export function previewPrune(o: PruneOptions): Promise<number> {
  return guarded(() => prune(o));
}

async function prune(o: PruneOptions): Promise<number> {
  const issues: Issue[] = [];
  const olderThanMs = o.olderThan === undefined ? undefined : parseDuration(o.olderThan);
  if (o.olderThan !== undefined && olderThanMs === undefined)
    issues.push({
      path: "--older-than",
      message: `"${o.olderThan}" is not a duration`,
      hint: "e.g. 7d, 36h or 90m",
    });
  let open: Set<number> | undefined;
  if (o.open !== undefined) {
    const parsed = parseOpenList(o.open);
    if (parsed.issue) issues.push(parsed.issue);
    open = parsed.open;
  } else {
    const fromGh = openPrsFromGitHub();
    if ("error" in fromGh)
      issues.push({ path: "--open", message: fromGh.error, hint: fromGh.hint });
    else open = fromGh.open;
  }
  if (!issues.length && open === undefined && olderThanMs === undefined)
    issues.push({
      path: "--older-than",
      message: "nothing to prune by: no age bound, and the open PRs are unknown",
      hint: "give --older-than 7d, or --open with the open PR numbers (or set GH_TOKEN for gh)",
    });
  if (issues.length) return fail(issues);
  const previews = await listPreviews();
  const chosen = selectForPrune(previews, { open, olderThanMs, now: new Date() });
  const log = o.json
    ? (s: string) => void process.stderr.write(s)
    : (s: string) => void process.stdout.write(s);
  log(
    `psf: ${previews.length} preview(s)${open ? `; open PRs: ${[...open].join(", ") || "none"}` : ""}; ` +
      `${chosen.length} to remove${o.dryRun ? " (dry run)" : ""}\n`,
  );
  const results: Array<{ pr: number; stack: string; reason: string; ok: boolean }> = [];
  for (const p of chosen) {
    log(`psf: ${p.stack}: ${p.reason}\n`);
    const ok = o.dryRun ? true : (await keepingEnv(() => takeDown(p.pr, o.json))).ok;
    results.push({ pr: p.pr, stack: p.stack, reason: p.reason, ok });
  }
  const kept = previews.filter((p) => !chosen.some((c) => c.stack === p.stack)).map((p) => p.stack);
  if (o.json)
    process.stdout.write(
      JSON.stringify({ dryRun: !!o.dryRun, removed: results, kept }, null, 2) + "\n",
    );
  return results.every((r) => r.ok) ? 0 : FAILED;
}

/** Every preview stack: its stack file, or only its state (a CI checkout lost the file). */
async function listPreviews(): Promise<PreviewStack[]> {
  const names = new Set<string>();
  for (const f of fs.existsSync(STACKS_DIR) ? fs.readdirSync(STACKS_DIR) : []) {
    const name = /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1];
    if (name && prOfStack(name) !== undefined) names.add(name);
  }
  for (const name of await backendStacks()) if (prOfStack(name) !== undefined) names.add(name);
  const out: PreviewStack[] = [];
  for (const stack of [...names].sort()) {
    const file = stackFile(stack);
    if (!fs.existsSync(file)) await restoreStackFile(stack).catch(() => undefined);
    const created = fs.existsSync(file)
      ? getAt(YAML.parse(fs.readFileSync(file, "utf8")), ["config", "psf:preview", "createdAt"])
      : undefined;
    const date = typeof created === "string" ? new Date(created) : undefined;
    out.push({
      stack,
      pr: prOfStack(stack)!,
      createdAt: date && !Number.isNaN(date.getTime()) ? date : undefined,
    });
  }
  return out;
}

/** The repository's open PRs through `gh` (GH_TOKEN or GITHUB_TOKEN), or undefined without it. */
function openPrsFromGitHub(): { open?: Set<number> } | { error: string; hint: string } {
  const token = process.env.GH_TOKEN || process.env.GITHUB_TOKEN;
  const gh = spawnSync("gh", ["--version"], { encoding: "utf8" });
  if (!token || gh.status !== 0) return {};
  try {
    const repo = process.env.GITHUB_REPOSITORY;
    const out = execFileSync(
      "gh",
      [
        "pr",
        "list",
        ...(repo ? ["--repo", repo] : []),
        "--state",
        "open",
        "--limit",
        "1000",
        "--json",
        "number",
        "--jq",
        ".[].number",
      ],
      {
        encoding: "utf8",
        env: { ...process.env, GH_TOKEN: token },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    return { open: new Set(out.split("\n").filter(Boolean).map(Number)) };
  } catch (e) {
    const err = e as { stderr?: string; message?: string };
    return {
      error: `gh pr list failed: ${(err.stderr || err.message || "").trim().split("\n").pop()}`,
      hint: "check GH_TOKEN and GITHUB_REPOSITORY, or pass the open PRs with --open",
    };
  }
}
