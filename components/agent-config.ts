import { Issue, joinPath } from "./errors";
import { sizeBytes } from "./validate/formats";
import { ObjectSpec, SecureValue, check, hasKey } from "./validate/schema";

/** `psf:agent`: what `psf agent` reads beside its command-line options. */
export interface AgentSettings {
  /** The GitHub webhook's shared secret; webhooks are refused while it is unset. */
  webhookSecret?: SecureValue;
  /** Pushes to this branch deploy. */
  branch: string;
  /** Largest webhook body accepted, in bytes. */
  webhookMaxBodyBytes: number;
  /** Webhook requests accepted per minute, valid or not. */
  webhookRateLimit: number;
}

export const agentSpec: ObjectSpec = {
  type: "object",
  fields: {
    webhookSecret: {
      type: "string",
      secret: true,
      minLength: 16,
      doc: "the GitHub webhook secret (pulumi config set --secret --path psf:agent.webhookSecret ...)",
    },
    branch: { type: "string", minLength: 1, maxLength: 255, default: "main" },
    webhookMaxBody: { type: "string", format: "size", default: "1M" },
    webhookRateLimit: { type: "int", min: 1, max: 100_000, default: 60 },
  },
};

/** Validates `psf:agent` (undefined: the defaults); every problem goes to `issues`. */
export function checkAgent(raw: unknown, issues: Issue[]): AgentSettings {
  const v = (check(raw, agentSpec, "agent", issues) ?? {}) as Record<string, unknown>;
  const secret =
    raw && typeof raw === "object" && hasKey(raw, "webhookSecret")
      ? (raw as Record<string, unknown>).webhookSecret
      : undefined;
  // A shared secret written in plain text in a stack file is in every clone of the repository.
  if (typeof secret === "string")
    issues.push({
      path: joinPath("agent", "webhookSecret"),
      message: "must be an encrypted value, not plain text",
      hint: "pulumi config set --secret --path psf:agent.webhookSecret <secret> --stack <stack>",
    });
  return {
    webhookSecret: v.webhookSecret instanceof SecureValue ? v.webhookSecret : undefined,
    branch: typeof v.branch === "string" ? v.branch : "main",
    webhookMaxBodyBytes: sizeBytes(typeof v.webhookMaxBody === "string" ? v.webhookMaxBody : "1M"),
    webhookRateLimit: typeof v.webhookRateLimit === "number" ? v.webhookRateLimit : 60,
  };
}
