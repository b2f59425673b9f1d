import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";

const root = path.join(__dirname, "..", "..");
const workflows = path.join(root, ".github", "workflows");
const workflowFile = path.join(workflows, "preview.yml");
const toolchainBin = path.join(
  process.env.PSF_TOOLCHAIN_DIR ?? path.join(os.homedir(), ".cache", "psf", "toolchain"),
  "bin",
);
const actionlint = path.join(toolchainBin, "actionlint");

type Step = { uses?: string; run?: string; id?: string; with?: Record<string, unknown> };
type Job = { if?: string; strategy?: { matrix?: { stack?: string[] } }; steps: Step[] };

function lint(...files: string[]) {
  return spawnSync(actionlint, files, { cwd: root, encoding: "utf8" });
}

describe("the pull-request workflow", () => {
  const wf = YAML.parse(fs.readFileSync(workflowFile, "utf8")) as {
    on: Record<string, unknown>;
    jobs: Record<string, Job>;
  };
  const pulumiStep = (job: Job) => job.steps.find((s) => s.uses?.startsWith("pulumi/actions@"));

  it("previews every stack with a diff commented on the PR, with the CLI of package-lock.json", () => {
    const preview = wf.jobs.preview;
    assert.match(preview.if ?? "", /github\.event_name == 'pull_request'/);
    const stacks = preview.strategy?.matrix?.stack ?? [];
    assert.deepEqual([...stacks].sort(), ["dev", "prod", "staging"]);
    for (const s of stacks)
      assert.ok(
        fs.existsSync(path.join(root, "stacks", `Pulumi.${s}.yaml`)),
        `stacks/Pulumi.${s}.yaml`,
      );
    const step = pulumiStep(preview);
    assert.ok(step, "a pulumi/actions step");
    assert.equal(step.with?.command, "preview");
    assert.equal(step.with?.diff, true);
    assert.equal(step.with?.["comment-on-pr"], true);
    assert.equal(step.with?.["stack-name"], "${{ matrix.stack }}");
    const versions = preview.steps.find((s) => s.id === "versions");
    assert.match(versions?.run ?? "", /package-lock\.json.*node_modules\/@pulumi\/pulumi/);
    assert.equal(step.with?.["pulumi-version"], "${{ steps.versions.outputs.pulumi }}");
  });

  it("brings the default branch up through psf, which validates the stack first", () => {
    assert.deepEqual((wf.on.push as { branches: string[] }).branches, ["main"]);
    const up = wf.jobs.up;
    assert.match(up.if ?? "", /github\.event_name == 'push'/);
    assert.ok(pulumiStep(up), "the CLI comes from pulumi/actions");
    assert.ok(up.steps.some((s) => /node bin\/psf\.js up --stack "\$STACK"/.test(s.run ?? "")));
  });

  describe("preview environments (preview-env.yml)", () => {
    const pe = YAML.parse(fs.readFileSync(path.join(workflows, "preview-env.yml"), "utf8")) as {
      on: { pull_request: { types: string[] }; schedule?: unknown[] };
      jobs: Record<string, Job & { permissions?: Record<string, string> }>;
      concurrency: { group: string; "cancel-in-progress": boolean };
    };
    const runs = (job: Job) => job.steps.map((s) => s.run ?? "").join("\n");

    it("runs on pull requests opened, synchronized, reopened and closed, one run per PR at a time", () => {
      assert.deepEqual([...pe.on.pull_request.types].sort(), [
        "closed",
        "opened",
        "reopened",
        "synchronize",
      ]);
      assert.match(pe.concurrency.group, /github\.event\.pull_request\.number/);
      assert.equal(pe.concurrency["cancel-in-progress"], false);
    });

    it("brings the PR's preview up and comments its URLs on the PR", () => {
      const up = pe.jobs.up;
      assert.match(up.if ?? "", /github\.event\.action != 'closed'/);
      assert.match(
        runs(up),
        /psf\.js preview-env up --pr "\$PR" --from "\$TEMPLATE" --json > preview-env\.json/,
      );
      const comment = up.steps.find((s) => s.uses?.startsWith("actions/github-script@"));
      const script = String(comment?.with?.script ?? "");
      assert.match(script, /preview-env\.json/);
      assert.match(script, /createComment/);
      assert.match(script, /updateComment/);
      assert.equal(up.permissions?.["pull-requests"], "write");
    });

    it("takes the preview down when the PR closes, and prunes daily by open PRs and age", () => {
      const down = pe.jobs.down;
      assert.match(down.if ?? "", /github\.event\.action == 'closed'/);
      assert.match(runs(down), /psf\.js preview-env down --pr "\$PR"/);
      assert.ok(pe.on.schedule?.length);
      assert.match(runs(pe.jobs.prune), /psf\.js preview-env prune --older-than 7d/);
    });
  });

  describe("actionlint", () => {
    before(function () {
      this.timeout(600_000);
      // scripts/actionlint.sh builds actionlint from the Go module proxy on first use.
      const built = spawnSync("bash", [path.join(root, "scripts", "actionlint.sh"), "-version"], {
        encoding: "utf8",
      });
      if (built.status === 0 && fs.existsSync(actionlint)) return;
      const why = `actionlint could not be built (needs go and the Go module proxy): ${(built.stderr || built.error?.message || "").trim().split("\n").pop()}`;
      if (process.env.PSF_REQUIRE_REAL === "1") throw new Error(why);
      console.warn(`  skipped: ${why}`);
      this.skip();
    });

    it("passes on every workflow", () => {
      const files = fs
        .readdirSync(workflows)
        .filter((f) => /\.ya?ml$/.test(f))
        .map((f) => path.join(workflows, f));
      assert.ok(files.length > 0);
      const r = lint(...files);
      assert.equal(r.status, 0, r.stdout + r.stderr);
    });

    it("rejects an input pulumi/actions does not have, and a step output that does not exist", () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-wf-"));
      try {
        const text = fs.readFileSync(workflowFile, "utf8");
        const badInput = path.join(dir, "bad-input.yml");
        fs.writeFileSync(
          badInput,
          text.replace("comment-on-pr: true", "comment-on-pull-request: true"),
        );
        const r1 = lint(badInput);
        assert.equal(r1.status, 1, r1.stdout + r1.stderr);
        assert.match(
          r1.stdout,
          /input "comment-on-pull-request" is not defined in action "pulumi\/actions@v6"/,
        );
        const badOutput = path.join(dir, "bad-output.yml");
        fs.writeFileSync(
          badOutput,
          text.replace(/steps\.versions\.outputs/g, "steps.version.outputs"),
        );
        const r2 = lint(badOutput);
        assert.equal(r2.status, 1, r2.stdout + r2.stderr);
        assert.match(r2.stdout, /property "version" is not defined/);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
