import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";

const root = path.join(__dirname, "..", "..");
const fixture = (name: string) => path.join(__dirname, "fixtures", `Pulumi.${name}.yaml`);

function psf(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(root, "bin", "psf.js"), ...args], {
    encoding: "utf8",
    cwd: root,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A JavaScript stack frame line, which must never reach a user. */
const STACK_FRAME = /^\s+at .+\(.+:\d+:\d+\)$/m;

describe("psf CLI", () => {
  describe("validate", () => {
    it("exits 0 for a valid stack file", () => {
      const r = psf("validate", "--config", fixture("basic"));
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /basic: valid/);
    });

    it("exits 2 and reports every problem with its path and a hint, without a stack trace", () => {
      const r = psf("validate", "--config", fixture("broken"));
      assert.equal(r.code, 2);
      for (const p of [
        "domian",
        "providers.secrets.use",
        "services.notes.image",
        "services.notes.port",
      ])
        assert.match(
          r.stderr,
          new RegExp(`^error: ${p.replace(/\./g, "\\.")}: `, "m"),
          `missing ${p} in:\n${r.stderr}`,
        );
      assert.match(r.stderr, /hint: did you mean "domain"\?/);
      assert.match(r.stderr, /not allowed in production/);
      assert.doesNotMatch(r.stderr, STACK_FRAME);
    });

    it("prints the SPEC's JSON shape with --json", () => {
      const r = psf("validate", "--config", fixture("broken"), "--json");
      assert.equal(r.code, 2);
      const out = JSON.parse(r.stdout);
      assert.equal(out.valid, false);
      assert.ok(out.errors.length >= 4);
      for (const e of out.errors) {
        assert.equal(typeof e.path, "string");
        assert.equal(typeof e.message, "string");
      }
      assert.deepEqual(JSON.parse(psf("validate", "--config", fixture("basic"), "--json").stdout), {
        valid: true,
        errors: [],
      });
    });

    it("names the missing file instead of crashing", () => {
      const r = psf("validate", "--config", path.join(__dirname, "fixtures", "Pulumi.absent.yaml"));
      assert.equal(r.code, 2);
      assert.match(r.stderr, /file not found/);
      assert.doesNotMatch(r.stderr, STACK_FRAME);
    });

    it("rejects --stack and --config together", () => {
      const r = psf("validate", "--stack", "dev", "--config", fixture("basic"));
      assert.equal(r.code, 2);
    });
  });

  describe("plan", () => {
    it("lists the resources with their parents and masks every secret input", () => {
      const r = psf("plan", "--config", fixture("basic"), "--json");
      assert.equal(r.code, 0, r.stderr);
      const plan = JSON.parse(r.stdout);
      const types = plan.resources.map((x: { type: string }) => x.type);
      assert.ok(types.includes("docker:index/container:Container"), types.join(", "));
      assert.ok(types.includes("psf:app:App"));
      const container = plan.resources.find(
        (x: { type: string }) => x.type === "docker:index/container:Container",
      );
      assert.equal(container.parent, "notes");
      // The hardcoded secret and the secure: ciphertexts must not be printed.
      assert.doesNotMatch(r.stdout, /hardcoded-dev-token-0123456789/);
      assert.doesNotMatch(r.stdout, /c210cGNpcGhlcnRleHQ=|c2VjcmV0Y2lwaGVydGV4dA==/);
      assert.match(r.stdout, /"\[secret\]"/);
    });

    it("shows secret inputs only with --show-secrets", () => {
      const r = psf("plan", "--config", fixture("basic"), "--json", "--show-secrets");
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /API_TOKEN=hardcoded-dev-token-0123456789/);
    });

    it("puts a placeholder where up stretches a generated (here: mock) password: SCRAM verifiers, Authelia digests", () => {
      const r = psf("plan", "--stack", "dev", "--json", "--show-secrets");
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        /LOGIN PASSWORD %L', 'whoami', '<SCRAM-SHA-256 verifier: computed by up>'/,
      );
      assert.match(r.stdout, /<pbkdf2-sha512 digest: computed by up>/);
      assert.doesNotMatch(r.stdout, /SCRAM-SHA-256\$4096:|\$pbkdf2-sha512\$/);
    });

    it("exits 2 on invalid config, as validate does", () => {
      const r = psf("plan", "--config", fixture("broken"));
      assert.equal(r.code, 2);
      assert.doesNotMatch(r.stderr, STACK_FRAME);
    });
  });

  describe("graph", () => {
    it("renders service → contract → provider edges as mermaid", () => {
      const r = psf("graph", "--config", fixture("basic"), "--format", "mermaid");
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^flowchart LR/);
      assert.match(r.stdout, /svc_notes --> contract_secrets/);
      assert.match(r.stdout, /contract_secrets -- fulfilled by --> provider_hardcoded/);
    });

    it("renders dot and rejects unknown formats", () => {
      assert.match(
        psf("graph", "--config", fixture("basic"), "--format", "dot").stdout,
        /^digraph psf \{/,
      );
      assert.equal(psf("graph", "--config", fixture("basic"), "--format", "svg").code, 2);
    });
  });
});
