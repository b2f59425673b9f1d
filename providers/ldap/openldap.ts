import { dataVolumeFields } from "../../components/validate/data-volume";
import { defineSpec, Infer } from "../../components/validate/infer";
import { withComponent } from "../../components/provider";
import { LdapRequest } from "./contract";

/** Debian bookworm's slapd 2.5 and ldap-utils (images/openldap; see docs/providers/openldap.md). */
export const OPENLDAP_IMAGE = "psf/openldap:2.5-bookworm";
export const LOG_LEVELS = ["none", "stats", "acl", "any"] as const;

export const openldapSettingsSpec = defineSpec({
  type: "object",
  fields: {
    port: {
      type: "int",
      min: 1,
      max: 65535,
      default: 389,
      doc: "port slapd listens on inside the network (not published on the host)",
    },
    logLevel: {
      type: "string",
      enum: [...LOG_LEVELS],
      default: "stats",
      doc: "slapd's `-d` level: `stats` logs a line per connection and operation",
    },
    ...dataVolumeFields("openldap", "1Gi"),
  },
});

export type OpenldapSettings = Infer<typeof openldapSettingsSpec>;

export const openldap = withComponent<LdapRequest, OpenldapSettings>(
  {
    contract: "ldap",
    name: "openldap",
    description:
      "OpenLDAP slapd: psf:users as people and groups under the domain's base DN, a read-only bind account per app",
    images: () => ({ openldap: OPENLDAP_IMAGE }),
    settings: openldapSettingsSpec,
  },
  () => (require("./openldap-component") as typeof import("./openldap-component")).Openldap,
);
