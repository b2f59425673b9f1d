import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { imagesInPlan } from "../../cli/local-images";
import type { PlannedResource } from "../../cli/mock-engine";
import { readStackFile } from "../../components/stack-file";
import { stackImages } from "../../components/images";
import { validateConfig } from "../../components/validate-config";
import { registry } from "../../providers";

const ROOT = path.join(__dirname, "..", "..");
const stackFile = (stack: string) => path.join(ROOT, "stacks", `Pulumi.${stack}.yaml`);

/** Image → sorted users, sorted by image: the two lists compared without their order. */
const sorted = (images: Map<string, string[]>) =>
  [...images].map(([ref, users]) => [ref, [...users].sort()]).sort(([a], [b]) => (a < b ? -1 : 1));

/** The images a stack file declares, read from its validated config alone. */
function declared(file: string, stackName: string): Map<string, string[]> {
  const { plan, issues } = validateConfig(readStackFile(file).raw, stackName, registry);
  assert.deepEqual(issues, []);
  return stackImages(plan!);
}

/** The images the program pulls: its RemoteImages under `psf plan --json`, with their users. */
function pulled(args: string[]): Map<string, string[]> {
  const r = spawnSync(
    process.execPath,
    [path.join(ROOT, "bin", "psf.js"), "plan", "--json", ...args],
    {
      cwd: ROOT,
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  assert.equal(r.status, 0, r.stderr);
  return imagesInPlan(JSON.parse(r.stdout).resources as PlannedResource[]);
}

describe("stack images: declared by providers, not found by running the program", () => {
  for (const stack of ["dev", "ci", "staging", "prod"])
    it(`lists exactly the images psf plan pulls for the ${stack} stack, with who runs each`, () => {
      const expected = pulled(["--stack", stack]);
      assert.ok(expected.size >= 3, "the plan pulls images");
      assert.deepEqual(sorted(declared(stackFile(stack), stack)), sorted(expected));
    });

  it("follows psf:images overrides and leaves out a backup provider no service asks for", () => {
    const doc = YAML.parse(fs.readFileSync(stackFile("dev"), "utf8"));
    const config = doc.config;
    config["psf:images"] = { postgres: "registry.example.org/pg:15", miniflux: "mirror/mf:1" };
    for (const svc of Object.values(config["psf:services"]) as Array<{ needs: object }>)
      delete (svc.needs as Record<string, unknown>).backup;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "psf-images-"));
    const file = path.join(dir, "Pulumi.images.yaml");
    try {
      fs.writeFileSync(file, YAML.stringify(doc));
      const expected = pulled(["--config", file]);
      const images = declared(file, "images");
      assert.deepEqual(sorted(images), sorted(expected));
      assert.deepEqual(images.get("registry.example.org/pg:15"), ["postgres"]);
      assert.deepEqual(images.get("mirror/mf:1"), ["miniflux"]);
      assert.ok(![...images.keys()].some((ref) => ref.startsWith("psf/borg")), "no backup job");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
