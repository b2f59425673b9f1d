import { Issue, joinPath } from "../../components/errors";
import { ProviderComponent, ProviderDefinition, withComponent } from "../../components/provider";
import type { StackSettings } from "../../components/config";
import type { ObjectSpec } from "../../components/validate/schema";
import { BackupRequest } from "./contract";
import { CommonSettings, checkCommonStack, commonSettingsFields } from "./settings";

/** What one backup tool (borg, restic) adds to the shape every backup provider shares. */
export interface BackupTool<Settings extends CommonSettings> {
  name: string;
  description: string;
  /** Its image: the `psf:images` key and the default. */
  image: { key: string; default: string };
  /** Settings beyond the common ones (`commonSettingsFields`). */
  settings: ObjectSpec["fields"];
  /**
   * A remote repository as the tool reaches it: whether `repository` is one, what would be, and
   * whether it is reached over ssh (then it needs `sshKey`).
   */
  remote(repository: string): { valid: boolean; hint: string; overSsh: boolean };
  /** The tool's own checks of its settings (compression, check subsets, backend env). */
  checkSettings?(settings: Settings, stack: StackSettings, path: string): Issue[];
  /** Its ComponentResource class, loaded when the provider is built. */
  load(): ProviderComponent<BackupRequest, Settings>;
}

/**
 * A backup provider: one encrypted repository (on a volume of the provider, or remote) and a
 * scheduled job per requester, reading the database contract when a request streams a dump.
 */
export function backupProvider<Settings extends CommonSettings>(
  tool: BackupTool<Settings>,
): ProviderDefinition<BackupRequest, Settings> {
  return withComponent<BackupRequest, Settings>(
    {
      contract: "backup",
      name: tool.name,
      description: tool.description,
      images: () => ({ [tool.image.key]: tool.image.default }),
      workloadsPerRequest: true,
      settings: { type: "object", fields: { ...commonSettingsFields, ...tool.settings } },
      reads: (_settings, _stack, requests) =>
        Object.values(requests).some((r) => r.database) ? ["database"] : [],
      checkStack: (settings, stack, requests, path) => [
        ...checkCommonStack(settings, stack.secretNames, requests, path, stack.stackName),
        ...(tool.checkSettings?.(settings, stack, path) ?? []),
        ...checkRepository(tool, settings, path),
      ],
    },
    tool.load,
  );
}

/** A remote repository the tool can reach, with the SSH key it needs. */
function checkRepository<Settings extends CommonSettings>(
  tool: BackupTool<Settings>,
  settings: Settings,
  path: string,
): Issue[] {
  const repository = settings.repository;
  if (repository === undefined) return [];
  const issues: Issue[] = [];
  const remote = tool.remote(repository);
  if (!remote.valid)
    issues.push({
      path: joinPath(path, "repository"),
      message: `"${repository}" is not a remote ${tool.name} repository`,
      hint: `${remote.hint}; leave it out to keep the repository on a volume`,
    });
  if (remote.overSsh && !settings.sshKey)
    issues.push({
      path: joinPath(path, "sshKey"),
      message: "a repository reached over ssh needs an SSH key",
      hint: "set sshKey to the name of a psf:secrets value holding the private key",
    });
  return issues;
}
