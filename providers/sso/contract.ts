import { defineSpec, Infer } from "../../components/validate/infer";
import type * as pulumi from "@pulumi/pulumi";
import { ContractDefinition } from "../../components/contract";
import { Issue, joinPath } from "../../components/errors";
import type { ProviderInstance } from "../../components/provider";
import { hostFor } from "../../components/public-url";
import { sdk } from "../../components/sdk";

export const SSO_POLICIES = ["one_factor", "two_factor"] as const;

export interface SsoResult {
  issuerUrl: string;
  discoveryUrl: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  userinfoEndpoint: string;
  clientId: string;
  /** Secret. */
  clientSecret: string;
  forwardAuthUrl: string;
}

/**
 * The shared output under which an SSO provider may give one proxied service its own
 * forward-auth URL (per-route access, e.g. oauth2-proxy's `?allowed_groups=`); a proxy uses it
 * for that service's route instead of `forwardAuthUrl`. Authelia needs none: its rules match hosts.
 */
export const forwardAuthKey = (service: string): string => `forwardAuthUrl:${service}`;

/**
 * The shared output naming the SSO's session cookie. It is set for the whole domain, so the
 * browser sends it to every app: a proxy removes it from what it forwards to an app (which
 * could otherwise act as the person on every other app), and passes every other cookie.
 */
export const SESSION_COOKIE_KEY = "sessionCookie";

/**
 * The headers of a forward-auth answer that carry the signed-in person, which a proxy passes
 * on to the app (and clears from the client's request, so nobody can claim to be someone).
 */
export const SSO_IDENTITY_HEADERS = [
  "Remote-User",
  "Remote-Groups",
  "Remote-Email",
  "Remote-Name",
] as const;

/** A person's initial sign-in, as the `accounts` stack output shows it (secret). */
export interface Account {
  /** Where to sign in. */
  login?: string;
  [field: string]: unknown;
}

/** An SSO provider: its results, and the people's initial credentials it made. */
export interface SsoProvider extends ProviderInstance<SsoResult> {
  /** People's initial credentials (secret), exported as the stack output `accounts`. */
  readonly accounts?: pulumi.Output<Record<string, Account>>;
  /** Who can sign in (`psf:users`), wherever their passwords live (its own store, a directory). */
  readonly people?: string[];
}

export const ssoRequestSpec = defineSpec({
  type: "object",
  fields: {
    clientId: {
      type: "string",
      format: "name",
      doc: "the OIDC client id; default: the service name",
    },
    redirectPaths: {
      type: "list",
      items: { type: "string", format: "url-path" },
      unique: true,
      default: [],
      doc: "redirect URIs as paths of the service's public URL (needs `proxy`)",
    },
    redirectUris: {
      type: "list",
      items: { type: "string", format: "url" },
      unique: true,
      default: [],
      doc: "absolute redirect URIs; a client needs at least one redirect",
    },
    scopes: {
      type: "list",
      items: { type: "string", minLength: 1, maxLength: 64 },
      unique: true,
      default: ["openid", "profile", "email", "groups"],
      doc: "scopes the client may ask for",
    },
    policy: {
      type: "string",
      enum: SSO_POLICIES,
      default: "two_factor",
      doc: "the sign-in level the client requires",
    },
    allowedGroups: {
      type: "list",
      items: { type: "string", format: "name" },
      unique: true,
      default: [],
      doc: "groups allowed to sign in to the client; none listed (and no `allowedUsers`): anyone signed in",
    },
    allowedUsers: {
      type: "list",
      items: { type: "string", format: "name" },
      unique: true,
      default: [],
      doc: "people allowed to sign in to the client, beside `allowedGroups`",
    },
    public: { type: "bool", default: false, doc: "a public client (no secret, PKCE)" },
  },
});

/** An OIDC client registered with the stack's identity provider; `defaults()` fills `clientId`. */
export type SsoRequest = Infer<typeof ssoRequestSpec> & { clientId: string };

export const ssoContract: ContractDefinition<SsoRequest, SsoResult, SsoRequest, SsoProvider> = {
  name: "sso",
  description: "an OIDC client (id and generated secret) and the forward-auth endpoint",
  request: ssoRequestSpec,
  resultFields: [
    "issuerUrl",
    "discoveryUrl",
    "authorizationEndpoint",
    "tokenEndpoint",
    "userinfoEndpoint",
    "clientId",
    "clientSecret",
    "forwardAuthUrl",
  ],
  secretFields: ["clientSecret"],
  defaults: (req, ctx) => ({ ...req, clientId: req.clientId ?? ctx.requester }),
  check: (req, ctx) => {
    const issues: Issue[] = [];
    if (req.redirectPaths.length === 0 && req.redirectUris.length === 0)
      issues.push({
        path: joinPath(ctx.path, "redirectPaths"),
        message: "an OIDC client needs at least one redirect",
        hint: "add redirectPaths: [/oauth2/callback] or redirectUris: [https://...]",
      });
    if (req.redirectPaths.length > 0 && ctx.service && !ctx.service.needs?.proxy)
      issues.push({
        path: joinPath(ctx.path, "redirectPaths"),
        message: "redirectPaths are relative to the service's public URL, but it has no proxy need",
        hint: "add needs.proxy, or give absolute redirectUris",
      });
    const users = Object.keys(ctx.stack.users.people);
    req.allowedUsers.forEach((u, i) => {
      if (!users.includes(u))
        issues.push({
          path: joinPath(joinPath(ctx.path, "allowedUsers"), i),
          message: `unknown user "${u}"`,
          hint: `declare it under users.people (known: ${users.join(", ") || "none"})`,
        });
    });
    req.allowedGroups.forEach((g, i) => {
      if (!ctx.stack.users.groups.includes(g))
        issues.push({
          path: joinPath(joinPath(ctx.path, "allowedGroups"), i),
          message: `unknown group "${g}"`,
          hint: `declare it under users.groups (known: ${ctx.stack.users.groups.join(", ") || "none"})`,
        });
    });
    if (!req.scopes.includes("openid"))
      issues.push({
        path: joinPath(ctx.path, "scopes"),
        message: 'must include "openid"',
        hint: "add openid to scopes",
      });
    return issues;
  },
  // Relative `redirectPaths` become absolute URIs on the service's public URL (its port included).
  expand: (req, ctx) => {
    if (!ctx.service) return req;
    const base = ctx.publicUrl(hostFor(ctx.service.subdomain ?? ctx.requester, ctx.stack));
    const uris = req.redirectPaths.map((p) => `${base}${p}`);
    return { ...req, redirectUris: [...new Set([...req.redirectUris, ...uris])] };
  },
  stackOutputs: (provider) => {
    const pulumi = sdk();
    return {
      accounts: pulumi.secret(provider?.accounts ?? {}),
      // Names and the portal URL are plain config; only the passwords beside them are secret.
      signIn: pulumi.unsecret(
        pulumi.output({ portal: provider?.shared?.portalUrl, people: provider?.people ?? [] }),
      ),
    };
  },
};
