import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { probeBinaryPath } from "../components/targets/probe";
import { PROJECT_ROOT } from "./source";

/** The probe's sources: their hash names the build, so an edit rebuilds it. */
function sourceHash(dir: string): string {
  const h = crypto.createHash("sha256");
  for (const f of fs.readdirSync(dir).sort())
    if (f === "go.mod" || (f.endsWith(".go") && !f.endsWith("_test.go")))
      h.update(f).update(fs.readFileSync(path.join(dir, f)));
  return h.digest("hex").slice(0, 16);
}

/**
 * Builds scripts/probe (a static Go binary, stdlib only, a few seconds) into the cache unless
 * the same sources are built already. Returns the binary, or why it could not be built.
 */
export function ensureProbe(): { path?: string; built: boolean; reason?: string } {
  const src = path.join(PROJECT_ROOT, "scripts", "probe");
  const out = probeBinaryPath();
  const stamp = `${out}.stamp`;
  const want = sourceHash(src);
  if (fs.existsSync(out) && fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === want)
    return { path: out, built: false };
  if (spawnSync("go", ["version"], { stdio: "ignore" }).status !== 0)
    return { built: false, reason: "go is not installed (apt-get install golang-go)" };
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const r = spawnSync(
    "go",
    ["build", "-trimpath", "-ldflags", "-s -w -buildid=", "-o", `${out}.new`, "."],
    {
      cwd: src,
      encoding: "utf8",
      env: { ...process.env, CGO_ENABLED: "0", GOFLAGS: "-mod=mod", GOTOOLCHAIN: "local" },
    },
  );
  if (r.status !== 0) return { built: false, reason: `go build failed: ${r.stderr.trim()}` };
  fs.renameSync(`${out}.new`, out);
  fs.writeFileSync(stamp, want);
  return { path: out, built: true };
}
