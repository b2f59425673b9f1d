import * as pulumi from "@pulumi/pulumi";
import { Outputs } from "../../components/contract";
import { ProviderArgs, ProviderInstance } from "../../components/provider";
import { BackupRequest, BackupResult } from "./contract";
import { CommonSettings } from "./settings";
import { BackupEngine, deployBackupJobs, localRepository, passphrase } from "./jobs";

/** What a tool's component adds: its image, env, extra volumes and scripts (`BackupEngine`). */
export type ToolJobs = Omit<BackupEngine, "repository">;

/**
 * One encrypted repository per stack and a scheduled job per requester: the component every
 * backup tool's provider is. `tool` gives what differs, from the repository and its passphrase.
 */
export class BackupComponent<Settings extends CommonSettings>
  extends pulumi.ComponentResource
  implements ProviderInstance<BackupResult>
{
  readonly results: Record<string, Outputs<BackupResult>>;
  /** Where the repository is, as the jobs reach it. */
  readonly repository: string;

  constructor(
    type: string,
    name: string,
    args: ProviderArgs<BackupRequest, Settings>,
    opts: pulumi.ComponentResourceOptions | undefined,
    tool: (repo: { repository: string; passphrase: pulumi.Output<string> }) => ToolJobs,
  ) {
    super(type, name, {}, opts);
    const { repository, mounts } = localRepository(name, args.settings);
    this.repository = repository;
    const jobs = tool({ repository, passphrase: passphrase(this, name, args) });
    this.results = deployBackupJobs(this, name, args, {
      ...jobs,
      repository,
      mounts: [...mounts, ...jobs.mounts],
    });
    this.registerOutputs({ repository: this.repository });
  }
}
