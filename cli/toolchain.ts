import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** Where scripts/toolchain.sh installs the air-gapped Pulumi toolchain. */
export function toolchainDir(): string {
  return process.env.PSF_TOOLCHAIN_DIR ?? path.join(os.homedir(), ".cache", "psf", "toolchain");
}

/**
 * The air-gapped toolchain (scripts/toolchain.sh), when built, comes first on PATH, and its
 * plugin cache (home/plugins) is the engine's unless PULUMI_HOME is set.
 */
export function toolchainEnv(): Record<string, string> {
  const dir = toolchainDir();
  const bin = path.join(dir, "bin");
  if (!fs.existsSync(path.join(bin, "pulumi"))) return {};
  const home = path.join(dir, "home");
  const useHome = !process.env.PULUMI_HOME && fs.existsSync(path.join(home, "plugins"));
  return { PATH: `${bin}:${process.env.PATH ?? ""}`, ...(useHome ? { PULUMI_HOME: home } : {}) };
}
