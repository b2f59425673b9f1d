import type { ObjectSpec } from "../../components/validate/schema";

/**
 * The security headers a proxy sends on every route, as settings: the same meaning and
 * defaults whichever proxy sends them (nginx, caddy).
 */
export const securityHeaderFields = {
  hstsMaxAge: {
    type: "int",
    min: 0,
    max: 63072000,
    default: 31536000,
    doc: "`Strict-Transport-Security` max-age in seconds; `0` sends none",
  },
  hstsIncludeSubdomains: {
    type: "bool",
    default: false,
    doc: "add `includeSubDomains` (only if every subdomain has HTTPS)",
  },
  frameOptions: {
    type: "string",
    enum: ["SAMEORIGIN", "DENY", "off"],
    default: "SAMEORIGIN",
    doc: "`X-Frame-Options`",
  },
  referrerPolicy: {
    type: "string",
    enum: [
      "no-referrer",
      "no-referrer-when-downgrade",
      "origin",
      "origin-when-cross-origin",
      "same-origin",
      "strict-origin",
      "strict-origin-when-cross-origin",
      "unsafe-url",
    ],
    default: "strict-origin-when-cross-origin",
    doc: "`Referrer-Policy`",
  },
  contentSecurityPolicy: {
    type: "string",
    minLength: 0,
    maxLength: 4096,
    default: "",
    doc: "`Content-Security-Policy`, sent on every route when not empty",
  },
} as const satisfies ObjectSpec["fields"];
