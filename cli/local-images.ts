import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { Plan } from "../components/plan";
import { stackImages } from "../components/images";
import type { PlannedResource } from "./mock-engine";
import { PrerequisiteError } from "./prerequisite-error";
import { PROJECT_ROOT } from "./source";
import { RetryPolicy, withRetries } from "./retry";
import { transientPullCause } from "./transient-failures";

/** A pull that failed for a transient reason (a reset, a 503, a rate limit) is tried again: 2, 6, 18 s apart. */
export const PULL_RETRY: RetryPolicy = {
  attempts: 4,
  firstDelayMs: 2_000,
  factor: 3,
  maxDelayMs: 30_000,
};

/**
 * Images the stack runs that the Docker engine lacks, before the engine starts. Each one is
 * pulled when a registry answers; else, when a recipe in images/ stands in for it (its
 * `upstream` file names the reference, or it is PSF's own `psf/<recipe>:<tag>`), built locally
 * by scripts/build-images.sh and tagged with the reference, so the stack config runs unchanged.
 * One line per such image; an image nothing provides is a PrerequisiteError (exit 3).
 */

/** A recipe in images/: how it is built and the references it stands in for. */
export interface Recipe {
  name: string;
  kind: "debian" | "go";
  /** `upstream` lines: exact references, or prefixes ending in `*`. */
  upstream: string[];
}

/** What became of one image the stack uses. */
export interface ImageResult {
  ref: string;
  /** The services and providers whose containers run it (`psf:images` keys). */
  usedBy: string[];
  /** present: already in the engine (nothing printed); pulled; built: from `recipe`. */
  outcome: "present" | "pulled" | "built";
  recipe?: string;
  /** Why no registry provided it, for a built image (e.g. "no registry answered"). */
  pullFailure?: string;
  seconds: number;
  /** The image's id in the engine (`sha256:...`), when it is there. */
  id?: string;
  /** The line printed for it (none when present). */
  line?: string;
}

export interface LocalImagesOptions {
  /** Where the lines go; default: stderr, `psf: ` first. */
  log?: (line: string) => void;
  /** How long a pull may wait for a registry's first answer (default 30 s). */
  pullTimeoutSeconds?: number;
  /** The Docker engine (`psf:target.host`); default: the docker CLI's. */
  dockerHost?: string;
  /** The recipes; default: those in images/. */
  recipes?: Recipe[];
  /** Retries of a pull that failed for a transient reason; default PULL_RETRY. */
  pullRetry?: RetryPolicy;
}

const KIND_LABEL: Record<Recipe["kind"], string> = {
  debian: "Debian packages",
  go: "Go modules",
};

/** Reads images/<name>/: a recipe has `changes` and `packages` (Debian) or `go-build` (Go). */
export function readRecipes(dir = path.join(PROJECT_ROOT, "images")): Recipe[] {
  if (!fs.existsSync(dir)) return [];
  const recipes: Recipe[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    const at = (f: string) => path.join(dir, name, f);
    if (!fs.existsSync(at("changes"))) continue;
    const kind = fs.existsSync(at("go-build"))
      ? "go"
      : fs.existsSync(at("packages"))
        ? "debian"
        : undefined;
    if (!kind) continue;
    const upstream = fs.existsSync(at("upstream"))
      ? fs
          .readFileSync(at("upstream"), "utf8")
          .split("\n")
          .map((l) => l.replace(/#.*/, "").trim())
          .filter(Boolean)
      : [];
    recipes.push({ name, kind, upstream });
  }
  return recipes;
}

/**
 * The fully qualified form of an image reference, as the engine resolves it:
 * `postgres:15` → `docker.io/library/postgres:15`; no tag means `latest` (unless `tagless`, for
 * the prefix of a `*` pattern). Undefined for a digest reference: no recipe rebuilds a digest.
 */
export function normalizeReference(ref: string, tagless = false): string | undefined {
  if (ref.includes("@")) return undefined;
  let rest = ref.trim();
  let domain = "docker.io";
  const slash = rest.indexOf("/");
  if (slash > 0) {
    const first = rest.slice(0, slash);
    if (first.includes(".") || first.includes(":") || first === "localhost") {
      domain = first === "index.docker.io" ? "docker.io" : first;
      rest = rest.slice(slash + 1);
    }
  }
  if (domain === "docker.io" && !rest.includes("/")) rest = `library/${rest}`;
  const hasTag = rest.lastIndexOf(":") > rest.lastIndexOf("/");
  return `${domain}/${rest}${hasTag || tagless ? "" : ":latest"}`;
}

/**
 * The recipe that stands in for a reference: PSF's own `psf/<recipe>:<any tag>`, or a recipe
 * whose `upstream` names it (same image once normalized, or a `prefix*` it starts with).
 */
export function recipeFor(ref: string, recipes: Recipe[]): Recipe | undefined {
  const want = normalizeReference(ref);
  if (!want) return undefined;
  const own = /^docker\.io\/psf\/([a-z0-9._-]+):/.exec(want);
  const byName = own && recipes.find((r) => r.name === own[1]);
  if (byName) return byName;
  return recipes.find((r) =>
    r.upstream.some((u) => {
      if (!u.endsWith("*")) return normalizeReference(u) === want;
      const prefix = normalizeReference(u.slice(0, -1), true);
      return !!prefix && want.startsWith(prefix);
    }),
  );
}

/** Whether `ref` is one the recipe's build tags by itself (an exact `upstream` line or its own). */
function taggedByBuild(ref: string, recipe: Recipe): boolean {
  const want = normalizeReference(ref);
  return (
    want === normalizeReference(`psf/${recipe.name}:ci`) ||
    recipe.upstream.some((u) => !u.endsWith("*") && normalizeReference(u) === want)
  );
}

/**
 * Why `docker pull` failed, from what it printed: `unreachable` when no registry answered
 * (DNS, connection, TLS, timeouts), `missing` when one answered that it has no such image (or
 * refuses to say without a login), `refused` for any other answer (rate limits, server errors).
 */
export function classifyPullFailure(output: string): "unreachable" | "missing" | "refused" {
  const o = output.toLowerCase();
  if (
    /no such host|dial tcp|connection refused|connection reset|network is unreachable|no route to host|i\/o timeout|tls handshake timeout|timeout exceeded|context deadline exceeded|server misbehaving|temporary failure in name resolution|eof$/m.test(
      o,
    )
  )
    return "unreachable";
  if (
    /manifest unknown|not found|repository does not exist|pull access denied|name unknown|no matching manifest/.test(
      o,
    )
  )
    return "missing";
  return "refused";
}

/**
 * The references the RemoteImages of an evaluated program name, each with the workloads'
 * `psf.part-of`: what `stackImages` must agree with (test/unit/stack-images.test.ts).
 */
export function imagesInPlan(declared: PlannedResource[]): Map<string, string[]> {
  const images = new Map<string, string[]>();
  const byResource = new Map<string, string>();
  for (const r of declared) {
    if (r.type !== "docker:index/remoteImage:RemoteImage") continue;
    if (typeof r.inputs.name !== "string") continue;
    const ref = r.inputs.name;
    if (!images.has(ref)) images.set(ref, []);
    byResource.set(`sha256:mock-${r.name}`, ref);
  }
  for (const r of declared) {
    if (r.type !== "docker:index/container:Container") continue;
    const ref = byResource.get(String(r.inputs.image));
    const labels = (r.inputs.labels ?? []) as Array<{ label?: string; value?: unknown }>;
    const partOf = labels.find((l) => l.label === "psf.part-of")?.value;
    if (!ref || typeof partOf !== "string") continue;
    const users = images.get(ref)!;
    if (!users.includes(partOf)) users.push(partOf);
  }
  return images;
}

/**
 * Makes every image the stack runs available in the local Docker engine (see the top of this
 * file). The images come from the validated config (components/images.ts), so the program is
 * not evaluated before the engine evaluates it. Returns what became of each image; throws a
 * PrerequisiteError naming every image nothing could provide.
 */
export async function ensureLocalImages(
  plan: Plan,
  opts: LocalImagesOptions = {},
): Promise<ImageResult[]> {
  const target = plan.stack.target;
  const host = opts.dockerHost ?? (target.kind === "docker" ? target.host : undefined);
  return provideImages(stackImages(plan), { ...opts, dockerHost: host });
}

/** Each reference's image id in the engine, asked in parallel; missing ones are left out. */
async function imageIds(refs: string[], env: NodeJS.ProcessEnv): Promise<Map<string, string>> {
  const ids = await Promise.all(
    refs.map(
      (ref) =>
        new Promise<string | undefined>((resolve) => {
          let out = "";
          const p = spawn("docker", ["image", "inspect", "--format", "{{.Id}}", ref], {
            stdio: ["ignore", "pipe", "ignore"],
            env,
          });
          p.stdout.on("data", (d) => (out += d));
          p.on("error", () => resolve(undefined));
          p.on("close", (code) => resolve(code === 0 && out.trim() ? out.trim() : undefined));
        }),
    ),
  );
  return new Map(refs.flatMap((ref, i) => (ids[i] ? [[ref, ids[i]!] as const] : [])));
}

/** The images (reference → users) made available, as ensureLocalImages does after planning. */
export async function provideImages(
  images: Map<string, string[]>,
  opts: LocalImagesOptions = {},
): Promise<ImageResult[]> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`psf: ${line}\n`));
  const env = opts.dockerHost ? { ...process.env, DOCKER_HOST: opts.dockerHost } : process.env;
  const recipes = opts.recipes ?? readRecipes();
  const idOf = (ref: string) => {
    const r = spawnSync("docker", ["image", "inspect", "--format", "{{.Id}}", ref], {
      encoding: "utf8",
      env,
    });
    return r.status === 0 ? r.stdout.trim() || undefined : undefined;
  };
  const found = await imageIds([...images.keys()], env);
  const results: ImageResult[] = [];
  const problems: string[] = [];
  const keys = new Set<string>();
  const failedBuilds: string[] = [];
  const built = new Map<string, string>(); // recipe → the first reference it was built for

  for (const [ref, usedBy] of images) {
    const id = found.get(ref);
    if (id) {
      results.push({ ref, usedBy, outcome: "present", seconds: 0, id });
      continue;
    }
    const start = Date.now();
    const recipe = recipeFor(ref, recipes);
    // psf/ on a registry is not PSF's: its images come from recipes only.
    const own = /^(docker\.io\/)?psf\//.test(ref);
    let failure: string | undefined;
    if (!own) {
      const { result: pulled, exhausted } = await withRetries(
        `image ${ref}: pull`,
        opts.pullRetry ?? PULL_RETRY,
        async () => {
          const r = await pull(ref, (opts.pullTimeoutSeconds ?? 30) * 1000, env);
          return r.ok ? { ok: true as const, value: undefined } : r;
        },
        { transient: transientPullCause, log },
      );
      if (pulled.ok) {
        const line = `image ${ref}: pulled in ${seconds(start)} s`;
        log(line);
        results.push({
          ref,
          usedBy,
          outcome: "pulled",
          seconds: seconds(start),
          line,
          id: idOf(ref),
        });
        continue;
      }
      failure = exhausted
        ? `${pulled.why}, after ${(opts.pullRetry ?? PULL_RETRY).attempts} attempts`
        : pulled.why;
    }
    const users = usedBy.length ? ` (used by ${usedBy.join(", ")})` : "";
    if (!recipe) {
      problems.push(
        `image ${ref}${users}: ${failure ? `${failure}, and no` : "no"} recipe in images/ stands in for it`,
      );
      for (const u of usedBy) keys.add(u);
      continue;
    }
    const already = built.get(recipe.name);
    let note = "";
    if (!already) {
      const how = await buildRecipe(recipe.name, env, log);
      if (!how) {
        problems.push(
          `image ${ref}${users}: ${failure ? `${failure}; ` : ""}building it from images/${recipe.name} failed (see above; its log: ~/.cache/psf/images/${recipe.name}.log)`,
        );
        failedBuilds.push(recipe.name);
        for (const u of usedBy) keys.add(u);
        continue;
      }
      built.set(recipe.name, ref);
      note = how === "built" ? "" : `; ${how}`;
    }
    if (!taggedByBuild(ref, recipe))
      spawnSync("docker", ["tag", `psf/${recipe.name}:ci`, ref], { stdio: "ignore", env });
    const builtId = idOf(ref);
    if (!builtId) {
      problems.push(
        `image ${ref}${users}: images/${recipe.name} was built but the engine has no ${ref} (another image of that name?)`,
      );
      continue;
    }
    const from = already
      ? `images/${recipe.name} (the build made for ${already})`
      : `images/${recipe.name} (${KIND_LABEL[recipe.kind]}${note}) in ${seconds(start)} s`;
    const line = `image ${ref}: ${failure ? `${failure}; ` : ""}built locally from ${from}`;
    log(line);
    results.push({
      ref,
      usedBy,
      outcome: "built",
      id: builtId,
      recipe: recipe.name,
      pullFailure: failure,
      seconds: seconds(start),
      line,
    });
  }
  if (problems.length) {
    const settings = [...keys].map((k) => `psf:images.${k}`).join(", ");
    const hints = [
      ...(failedBuilds.length
        ? [`scripts/build-images.sh ${failedBuilds.join(" ")} retries the build`]
        : []),
      `set ${settings || "psf:images.<service or provider>"} to an image a reachable registry serves or one in the local engine (docker image ls), or add a recipe images/<name>/ whose upstream file names it`,
    ];
    throw new PrerequisiteError(
      problems.length === 1
        ? problems[0]
        : `${problems.length} images are missing:\n  ${problems.join("\n  ")}`,
      hints.join("; or "),
    );
  }
  return results;
}

const seconds = (since: number) => Math.round((Date.now() - since) / 1000);

/**
 * `docker pull`, bounded: it gives up when no registry has answered within `firstAnswerMs`
 * (and when a started pull prints nothing for ten times that), at once on a DNS or connection
 * error. `why` says what failed, in words for the line printed.
 */
function pull(
  ref: string,
  firstAnswerMs: number,
  env: NodeJS.ProcessEnv,
): Promise<{ ok: true } | { ok: false; why: string; output: string }> {
  return new Promise((resolve) => {
    const child = spawn("docker", ["pull", ref], { stdio: ["ignore", "pipe", "pipe"], env });
    let output = "";
    let answered = false;
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = (ms: number) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        child.kill();
      }, ms);
    };
    arm(firstAnswerMs);
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
      answered = true;
      arm(firstAnswerMs * 10);
    });
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const finish = (code: number | null, err?: Error) => {
      clearTimeout(timer);
      if (code === 0 && !timedOut) return resolve({ ok: true });
      const detail = (err ? String(err) : output).trim().split("\n").pop() ?? "";
      if (timedOut)
        return resolve({
          ok: false,
          output: "",
          why: answered
            ? `the pull stalled for ${(firstAnswerMs * 10) / 1000} s`
            : `no registry answered within ${firstAnswerMs / 1000} s`,
        });
      const kind = err ? "refused" : classifyPullFailure(output);
      resolve({
        ok: false,
        output,
        why:
          kind === "unreachable"
            ? "no registry answered"
            : kind === "missing"
              ? `the registry has no such image (${detail.replace(/^Error response from daemon: /, "")})`
              : `the pull failed (${detail.replace(/^Error response from daemon: /, "")})`,
      });
    };
    child.on("error", (err) => finish(null, err));
    child.on("close", (code) => finish(code));
  });
}

/**
 * scripts/build-images.sh for one recipe. Its progress lines (what a cold build does and about
 * how long it takes) and errors pass through; its summary line is replaced by the caller's.
 * Resolves to what the build did ("built", "an earlier build", "re-imported from the cache"),
 * or undefined when it failed.
 */
function buildRecipe(
  name: string,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn("bash", [path.join(PROJECT_ROOT, "scripts", "build-images.sh"), name], {
      stdio: ["ignore", "pipe", "inherit"],
      env,
    });
    let pending = "";
    let how = "built";
    child.stdout.on("data", (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const l of lines) {
        if (/ is up to date/.test(l)) how = "an earlier build";
        else if (/ from the cache in \d+ s/.test(l)) how = "re-imported from the cache";
        else if (!/ built in \d+ s/.test(l) && l) log(l);
      }
    });
    child.on("error", () => resolve(undefined));
    child.on("close", (code) => resolve(code === 0 ? how : undefined));
  });
}
