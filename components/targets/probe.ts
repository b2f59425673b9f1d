import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** Where `psf up` builds the probe (cli/probe.ts); PSF_PROBE names another file. */
export function probeBinaryPath(): string {
  return (
    process.env.PSF_PROBE ||
    path.join(
      process.env.PSF_CACHE ?? path.join(os.homedir(), ".cache", "psf"),
      "probe",
      "psf-probe",
    )
  );
}

/**
 * The HTTP probe the Docker target copies into containers, when it has been built:
 * its path and content hash (the hash, not the bytes, goes into the state).
 */
export function locateProbe(): { path: string; sha256: string } | undefined {
  const file = probeBinaryPath();
  if (process.env.PSF_PROBE === "none" || !fs.existsSync(file)) return undefined;
  const sha256 = crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
  return { path: file, sha256 };
}
