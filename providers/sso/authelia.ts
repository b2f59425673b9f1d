import { defineSpec, Infer } from "../../components/validate/infer";
import { Issue, joinPath } from "../../components/errors";
import { ProviderNeed, withComponent } from "../../components/provider";
import { ssoPortalNeed } from "../proxy/contract";
import { SsoRequest } from "./contract";

/** Authelia's release the config is written for (its 4.38 schema). */
export const AUTHELIA_IMAGE = "authelia/authelia:4.38.17";
/** Where Authelia listens, and the workload other workloads reach it by. */
export const PORT = 9091;
export const WORKLOAD = "authelia";
/** Scopes Authelia 4.38 grants; anything else fails its config validation. */
export const AUTHELIA_SCOPES = ["openid", "offline_access", "groups", "email", "profile"] as const;

export const autheliaSettingsSpec = defineSpec({
  type: "object",
  fields: {
    subdomain: {
      type: "string",
      format: "label",
      default: "auth",
      doc: "the portal's host, `<subdomain>.<domain>`; routed by the proxy like a service",
    },
    theme: {
      type: "string",
      enum: ["light", "dark", "grey", "auto"],
      default: "auto",
      doc: "the portal's colours",
    },
    logLevel: {
      type: "string",
      enum: ["error", "warn", "info", "debug"],
      default: "info",
      doc: "Authelia's log level",
    },
    redis: {
      type: "object",
      required: ["host"],
      fields: {
        host: { type: "string", format: "dns" },
        port: { type: "int", min: 1, max: 65535, default: 6379 },
      },
      doc: "an existing Redis for sessions (no password or TLS: keep it on the stack's private network); unset, sessions are in memory (a restart signs everyone out, one replica only)",
    },
    smtp: {
      type: "object",
      required: ["address", "sender"],
      doc: "mail for password reset and enrolment; unset, mail is written to `/config/notification.txt` in the container",
      fields: {
        address: {
          type: "string",
          minLength: 1,
          maxLength: 255,
          doc: "the mail server, e.g. `submission://mail.example.org:587`",
        },
        sender: { type: "string", format: "email", doc: "the From address" },
        username: {
          type: "string",
          minLength: 1,
          maxLength: 255,
          doc: "login at the mail server",
        },
        passwordSecret: {
          type: "string",
          format: "name",
          doc: "name of the `psf:secrets` value holding the mail password",
        },
      },
    },
  },
});

export type AutheliaSettings = Infer<typeof autheliaSettingsSpec>;

export const authelia = withComponent<SsoRequest, AutheliaSettings>(
  {
    contract: "sso",
    name: "authelia",
    description: "Authelia 4.38: OIDC clients with generated secrets, forward auth, default deny",
    images: () => ({ authelia: AUTHELIA_IMAGE }),
    settings: autheliaSettingsSpec,
    checkRequest: (req, path) =>
      req.scopes
        .map((scope, i) => ({ scope, i }))
        .filter(({ scope }) => !(AUTHELIA_SCOPES as readonly string[]).includes(scope))
        .map(({ scope, i }) => ({
          path: joinPath(joinPath(path, "scopes"), i),
          message: `authelia does not grant the scope "${scope}"`,
          hint: `authelia grants: ${AUTHELIA_SCOPES.join(", ")}`,
        })),
    checkStack: (settings, stack, _requests, path) => {
      const issues: Issue[] = [];
      const secret = settings.smtp?.passwordSecret;
      if (secret && !stack.secretNames.includes(secret))
        issues.push({
          path: joinPath(joinPath(path, "smtp"), "passwordSecret"),
          message: `secret "${secret}" is not set in the stack config (psf:secrets.${secret})`,
          hint: `run: pulumi config set --secret --path 'psf:secrets.${secret}' <value> --stack ${stack.stackName}`,
        });
      if (stack.domain.split(".").length < 2)
        issues.push({
          path: "domain",
          message: "authelia's session cookie needs a domain with at least two labels",
          hint: "use e.g. home.arpa or example.org, not a bare name",
        });
      return issues;
    },
    needs: (settings, stack) => {
      const needs: ProviderNeed[] = [
        {
          contract: "database",
          requester: "authelia",
          request: { name: "authelia", extensions: [] },
        },
        ssoPortalNeed("authelia", { host: WORKLOAD, port: PORT }, settings.subdomain ?? "auth"),
      ];
      if (stack.providers && typeof stack.providers === "object" && "ldap" in stack.providers)
        needs.push({ contract: "ldap", requester: "authelia", request: { groups: [] } });
      return needs;
    },
  },
  () => (require("./authelia-component") as typeof import("./authelia-component")).Authelia,
);
