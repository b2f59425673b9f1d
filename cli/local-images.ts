import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { RawConfig } from "../components/config";
import { runProgram } from "../components/program";
import { registry } from "../providers";
import { evaluate } from "./mock-engine";
import { PROJECT_ROOT } from "./source";

/**
 * PSF's own images (`psf/<name>:<tag>`, e.g. the borg and restic runners) are not on any
 * registry: they are built from Debian packages by scripts/build-images.sh. Before the engine
 * runs, build the ones the stack uses and the local Docker engine lacks.
 */
export async function ensureLocalImages(raw: RawConfig, stackName: string): Promise<void> {
  const declared = await evaluate(registry, raw, stackName, (r, s) =>
    runProgram(registry, { raw: r, stackName: s }),
  );
  const names = new Set<string>();
  for (const r of declared) {
    if (r.type !== "docker:index/remoteImage:RemoteImage") continue;
    const m = /^psf\/([a-z0-9-]+):/.exec(String(r.inputs.name));
    if (!m || !fs.existsSync(path.join(PROJECT_ROOT, "images", m[1]))) continue;
    if (
      spawnSync("docker", ["image", "inspect", String(r.inputs.name)], { stdio: "ignore" })
        .status !== 0
    )
      names.add(m[1]);
  }
  if (!names.size) return;
  process.stderr.write(
    `psf: building local images from Debian packages: ${[...names].join(", ")}\n`,
  );
  const r = spawnSync("bash", [path.join(PROJECT_ROOT, "scripts", "build-images.sh"), ...names], {
    stdio: "inherit",
  });
  if (r.status !== 0)
    throw new Error(
      "building the local images failed (see above); scripts/build-images.sh retries",
    );
}
