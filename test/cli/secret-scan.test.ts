import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const root = path.join(__dirname, "..", "..");
const stacks = fs
  .readdirSync(path.join(root, "stacks"))
  .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
  .filter((s): s is string => !!s);

function plan(stack: string, ...flags: string[]): string {
  const r = spawnSync(
    process.execPath,
    [path.join(root, "bin", "psf.js"), "plan", "--json", "--stack", stack, ...flags],
    {
      encoding: "utf8",
      cwd: root,
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  assert.equal(r.status, 0, `psf plan --stack ${stack} exited ${r.status}:\n${r.stderr}`);
  return r.stdout;
}

/**
 * Strings that are secrets in their own right: the leaves that read "[secret]" in the masked
 * plan and a string when revealed. (A list wrapped whole because one element is secret hides
 * plain neighbours too, such as file paths; those are not secrets and are not collected.)
 */
function hiddenValues(
  masked: unknown,
  revealed: unknown,
  out: Set<string> = new Set(),
): Set<string> {
  if (masked === "[secret]") {
    if (typeof revealed === "string") out.add(revealed);
  } else if (masked && typeof masked === "object" && revealed && typeof revealed === "object")
    for (const k of Object.keys(masked))
      hiddenValues((masked as any)[k], (revealed as any)[k], out);
  return out;
}

/** Generated secrets as the offline engine makes them (cli/mock-outputs.ts): passwords and private keys. */
const GENERATED = [/mock-password-[\w-]+/g, /-----BEGIN (RSA |EC )?PRIVATE KEY-----\\n[^"]*/g];

describe("no secret in psf plan --json", () => {
  for (const stack of stacks) {
    describe(`stacks/Pulumi.${stack}.yaml`, () => {
      let masked = "";
      let revealed = "";
      before(function () {
        this.timeout(300_000);
        masked = plan(stack);
        revealed = plan(stack, "--show-secrets");
      });

      it("shows no generated password or private key, which --show-secrets does reveal", () => {
        for (const re of GENERATED) {
          const shown = revealed.match(re) ?? [];
          assert.deepEqual(masked.match(re) ?? [], [], `${re} leaks in the masked plan`);
          if (re === GENERATED[0])
            assert.ok(
              shown.length > 0,
              "the stack generates passwords (else this test proves nothing)",
            );
        }
      });

      it("shows no hidden value anywhere else in the plan", () => {
        // A secret embedded into a plain input (an env var, a URL, a config file) would show up here.
        const hidden = [...hiddenValues(JSON.parse(masked), JSON.parse(revealed))].filter(
          (s) => s.length >= 12,
        );
        assert.ok(hidden.length > 0);
        const leaks = hidden.filter((s) => masked.includes(JSON.stringify(s).slice(1, -1)));
        assert.deepEqual(leaks, []);
      });
    });
  }
});
