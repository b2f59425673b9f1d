/** `psf backup <action>`: kept apart so the CLI's parser does not load the engine's modules. */
export const BACKUP_ACTIONS = ["run", "list", "restore", "verify"] as const;
export type BackupAction = (typeof BACKUP_ACTIONS)[number];
