import { defineSpec, Infer } from "../../components/validate/infer";
import type { StackSettings } from "../../components/config";
import { Issue, joinPath } from "../../components/errors";
import { ProviderNeed, withComponent } from "../../components/provider";
import { ssoPortalNeed } from "../proxy/contract";
import { SsoRequest } from "./contract";

/** oauth2-proxy's release the config is written for (its alpha config schema). */
export const OAUTH2_PROXY_IMAGE = "quay.io/oauth2-proxy/oauth2-proxy:v7.15.6";
/** Where oauth2-proxy listens, and the workload nginx reaches it by. */
export const PORT = 4180;
export const WORKLOAD = "oauth2-proxy";

export const oidcSettingsSpec = defineSpec({
  type: "object",
  required: ["issuerUrl"],
  fields: {
    issuerUrl: {
      type: "string",
      format: "url",
      doc: "the identity provider's issuer, exactly as its ID tokens say (`iss`), e.g. `https://id.example.org`; https",
    },
    issuerCaPem: {
      type: "string",
      minLength: 1,
      maxLength: 65536,
      doc: "PEM certificate(s) of the CA that signed the issuer's TLS certificate, when no public CA did",
    },
    authorizationEndpoint: {
      type: "string",
      format: "url",
      doc: "unset: read from the issuer's discovery document when the stack is deployed (`psf plan` and `psf validate` stay offline)",
    },
    tokenEndpoint: {
      type: "string",
      format: "url",
      doc: "unset: from the discovery document, as `authorizationEndpoint`",
    },
    userinfoEndpoint: {
      type: "string",
      format: "url",
      doc: "unset: from the discovery document, as `authorizationEndpoint`",
    },
    clientSecrets: {
      type: "map",
      keyFormat: "name",
      values: { type: "string", format: "name" },
      default: {},
      doc: "client id → name of the `psf:secrets` value holding the secret the identity provider issued for it; default name: `oidc-<client id>`",
    },
    forwardAuthClientId: {
      type: "string",
      format: "name",
      default: "psf-forward-auth",
      doc: "the client oauth2-proxy signs people in as (forward auth for routes with `auth`); register it at the identity provider with the redirect `https://<forwardAuthSubdomain>.<domain>/oauth2/callback`",
    },
    forwardAuthSubdomain: {
      type: "string",
      format: "label",
      default: "oauth2",
      doc: "oauth2-proxy's host, `<subdomain>.<domain>`; routed by the proxy like a service",
    },
    userClaim: {
      type: "string",
      minLength: 1,
      maxLength: 64,
      default: "preferred_username",
      doc: "the ID token claim forward auth passes on as `Remote-User`",
    },
    groupsClaim: {
      type: "string",
      minLength: 1,
      maxLength: 64,
      default: "groups",
      doc: "the ID token claim listing the person's groups (`allowedGroups`, `Remote-Groups`)",
    },
  },
});

export type OidcSettings = Infer<typeof oidcSettingsSpec>;

/** Does any service ask the proxy for sign-in (forward auth)? Then oauth2-proxy runs. */
export function forwardAuthServices(stack: StackSettings): string[] {
  return Object.entries(stack.services)
    .filter(([, svc]) => {
      const auth = (svc.needs?.proxy as { auth?: string } | undefined)?.auth;
      return auth === "one_factor" || auth === "two_factor";
    })
    .map(([name]) => name)
    .sort();
}

/** The `psf:secrets` name holding a client's secret. */
export const secretNameOf = (settings: OidcSettings, clientId: string): string =>
  settings.clientSecrets[clientId] ?? `oidc-${clientId}`;

export const oidc = withComponent<SsoRequest, OidcSettings>(
  {
    contract: "sso",
    name: "oidc",
    description:
      "an identity provider you already run (OIDC issuer); clients registered there, forward auth through oauth2-proxy",
    images: () => ({ "oauth2-proxy": OAUTH2_PROXY_IMAGE }),
    settings: oidcSettingsSpec,
    checkStack: (settings, stack, requests, path) => {
      const issues: Issue[] = [];
      if (!settings.issuerUrl.startsWith("https://"))
        issues.push({
          path: joinPath(path, "issuerUrl"),
          message: "the issuer must be an https URL",
          hint: "e.g. https://id.example.org (OIDC requires TLS for the issuer)",
        });
      if (settings.issuerCaPem && !settings.issuerCaPem.includes("-----BEGIN CERTIFICATE-----"))
        issues.push({
          path: joinPath(path, "issuerCaPem"),
          message: "is not a PEM certificate",
          hint: "paste the CA certificate, from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----",
        });

      // Every client that needs a secret, where the user would look for it.
      const clients: Array<{ clientId: string; at: string }> = [];
      for (const [requester, req] of Object.entries(requests)) {
        if (req.public) continue;
        const at = stack.services[requester]
          ? joinPath(joinPath(joinPath("services", requester), "needs"), "sso")
          : path;
        clients.push({ clientId: req.clientId, at });
      }
      const forwardAuth = forwardAuthServices(stack);
      if (forwardAuth.length > 0)
        clients.push({
          clientId: settings.forwardAuthClientId,
          at: joinPath(path, "forwardAuthClientId"),
        });
      const seen = new Set<string>();
      for (const { clientId, at } of clients) {
        const name = secretNameOf(settings, clientId);
        if (seen.has(name) || stack.secretNames.includes(name)) continue;
        seen.add(name);
        issues.push({
          path: settings.clientSecrets[clientId]
            ? joinPath(joinPath(path, "clientSecrets"), clientId)
            : at,
          message: `the secret of OIDC client "${clientId}" is not set in the stack config (psf:secrets.${name})`,
          hint: `register the client at the identity provider, then run: pulumi config set --secret --path 'psf:secrets.${name}' <value> --stack ${stack.stackName}`,
        });
      }
      const known = new Set(clients.map((c) => c.clientId));
      for (const id of Object.keys(settings.clientSecrets))
        if (!known.has(id))
          issues.push({
            path: joinPath(joinPath(path, "clientSecrets"), id),
            message: `no confidential client "${id}" in this stack`,
            hint: `known: ${[...known].sort().join(", ") || "none"}`,
          });

      // oauth2-proxy requires every restriction given (groups AND emails), unlike Authelia's "any of".
      for (const service of forwardAuth) {
        const req = requests[service];
        if (req && req.allowedGroups.length > 0 && req.allowedUsers.length > 0)
          issues.push({
            path: joinPath(
              joinPath(joinPath(joinPath("services", service), "needs"), "sso"),
              "allowedUsers",
            ),
            message:
              "oidc forward auth restricts a route by groups or by people, not both (oauth2-proxy would require both)",
            hint: "put those people in one of the allowedGroups, or list people only",
          });
      }
      return issues;
    },
    needs: (settings, stack) => {
      if (forwardAuthServices(stack).length === 0) return [];
      // oauth2-proxy's sign-in and callback.
      const needs: ProviderNeed[] = [
        ssoPortalNeed(
          "oidc",
          { host: WORKLOAD, port: PORT },
          settings.forwardAuthSubdomain ?? "oauth2",
        ),
      ];
      return needs;
    },
  },
  () => (require("./oidc-component") as typeof import("./oidc-component")).Oidc,
);
