import * as path from "path";
import { borg } from "../../providers/backup/borg";
import { borgScripts } from "../../providers/backup/borg-script";
import { JobScripts, ScriptPaths } from "../../providers/backup/job";
import { restic } from "../../providers/backup/restic";
import { resticScripts } from "../../providers/backup/restic-script";
import { settingsWith } from "./settings";

/** A backup tool as the real-program tests drive it: its job scripts and a throwaway repository. */
export interface BackupTool {
  name: string;
  programs: string[];
  scripts(job: Parameters<typeof borgScripts>[0], paths: ScriptPaths): JobScripts;
  /** The repository under `dir`, its passphrase and the tool's cache, out of the tester's home. */
  repositoryEnv(dir: string): Record<string, string>;
}

export const BORG: BackupTool = {
  name: "borg",
  programs: ["borg"],
  scripts: (job, paths) => borgScripts(job, settingsWith(borg), paths),
  repositoryEnv: (dir) => ({
    BORG_REPO: path.join(dir, "repo"),
    BORG_PASSPHRASE: "correct horse battery staple",
    BORG_BASE_DIR: path.join(dir, "borg-home"),
  }),
};

export const RESTIC: BackupTool = {
  name: "restic",
  programs: ["restic"],
  scripts: (job, paths) => resticScripts(job, settingsWith(restic), paths),
  repositoryEnv: (dir) => ({
    RESTIC_REPOSITORY: path.join(dir, "repo"),
    RESTIC_PASSWORD: "correct horse battery staple",
    RESTIC_CACHE_DIR: path.join(dir, "restic-cache"),
  }),
};
