/** Exit code of `psf up|preview|refresh|destroy` when a prerequisite is missing (SPEC §4). */
export const EXIT_PREREQUISITE = 3;

/**
 * A prerequisite that psf could not set up (no Docker engine, no Pulumi CLI, an image no
 * registry or recipe provides): printed as an error with the command that fixes it, exit 3.
 */
export class PrerequisiteError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = "PrerequisiteError";
  }
}
