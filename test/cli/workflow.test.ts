import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const root = path.join(__dirname, "..", "..");
const actionlint = path.join(process.env.PSF_TOOLCHAIN_DIR ?? path.join(os.homedir(), ".cache", "psf", "toolchain"), "bin", "actionlint");

describe("the pull-request workflow", () => {
  before(function () {
    this.timeout(300_000);
    // scripts/actionlint.sh builds actionlint from the Go module proxy on first use.
    const built = spawnSync("bash", [path.join(root, "scripts", "actionlint.sh"), "-version"], { encoding: "utf8" });
    if (built.status !== 0 || !fs.existsSync(actionlint)) {
      if (process.env.PSF_REQUIRE_REAL === "1") throw new Error(`actionlint could not be built: ${built.stderr}`);
      this.skip();
    }
  });

  it("passes actionlint", () => {
    const r = spawnSync(actionlint, [".github/workflows/preview.yml"], { cwd: root, encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  it("previews every stack on pull requests with a PR comment, and runs up on the default branch", () => {
    const text = fs.readFileSync(path.join(root, ".github", "workflows", "preview.yml"), "utf8");
    assert.match(text, /stack: \[dev, staging, prod\]/);
    assert.match(text, /command: preview[\s\S]*diff: true[\s\S]*comment-on-pr: true/);
    assert.match(text, /command: up\s+stack-name: dev/);
  });

  it("and actionlint does catch a broken workflow", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-wf-"));
    const broken = fs.readFileSync(path.join(root, ".github", "workflows", "preview.yml"), "utf8").replace("runs-on: ubuntu-latest", "runs-on: ubuntu-latest\n    steps: {}");
    fs.writeFileSync(path.join(dir, "broken.yml"), broken);
    const r = spawnSync(actionlint, [path.join(dir, "broken.yml")], { encoding: "utf8" });
    fs.rmSync(dir, { recursive: true, force: true });
    assert.notEqual(r.status, 0, "a duplicate key must fail");
  });
});
