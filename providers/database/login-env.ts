/**
 * The one database's login a backup job's dump and restore read, whatever the engine: the
 * requester's own user, never a superuser.
 */
export const DUMP_ENV = [
  "PSF_DB_HOST",
  "PSF_DB_PORT",
  "PSF_DB_NAME",
  "PSF_DB_USER",
  "PSF_DB_PASSWORD",
] as const;

/** The values of {@link DUMP_ENV} for one database. */
export function dumpEnvOf(login: {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
}): Record<string, string> {
  return {
    PSF_DB_HOST: login.host,
    PSF_DB_PORT: String(login.port),
    PSF_DB_NAME: login.database,
    PSF_DB_USER: login.user,
    PSF_DB_PASSWORD: login.password,
  };
}
