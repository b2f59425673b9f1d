import { ContractDefinition } from "../components/contract";
import { ProviderDefinition } from "../components/provider";
import { Registry } from "../components/registry";
import { borg } from "./backup/borg";
import { backupContract } from "./backup/contract";
import { restic } from "./backup/restic";
import { databaseContract } from "./database/contract";
import { mariadb } from "./database/mariadb";
import { postgres } from "./database/postgres";
import { ldapContract } from "./ldap/contract";
import { openldap } from "./ldap/openldap";
import { proxyContract } from "./proxy/contract";
import { caddy } from "./proxy/caddy";
import { traefik } from "./proxy/traefik";
import { ingress } from "./proxy/ingress";
import { nginx } from "./proxy/nginx";
import { config } from "./secrets/config";
import { secretsContract } from "./secrets/contract";
import { generated } from "./secrets/generated";
import { hardcoded } from "./secrets/hardcoded";
import { sslContract } from "./ssl/contract";
import { acme } from "./ssl/acme";
import { selfsigned } from "./ssl/selfsigned";
import { authelia } from "./sso/authelia";
import { ssoContract } from "./sso/contract";
import { oidc } from "./sso/oidc";

/** Every contract, in build order among providers that do not depend on each other. */
export const contracts: Record<string, ContractDefinition> = {
  ssl: sslContract,
  secrets: secretsContract,
  database: databaseContract,
  ldap: ldapContract,
  sso: ssoContract,
  proxy: proxyContract,
  backup: backupContract,
};

/** Every provider PSF ships; `psf:providers.<contract>.use` picks one per contract. */
export const providers: ProviderDefinition[] = [
  // ssl
  selfsigned,
  acme,
  // secrets
  generated,
  config,
  hardcoded,
  // database
  postgres,
  mariadb,
  // ldap
  openldap,
  // sso
  authelia,
  oidc,
  // proxy
  nginx,
  caddy,
  traefik,
  ingress,
  // backup
  borg,
  restic,
];

export const registry: Registry = { contracts, providers };
