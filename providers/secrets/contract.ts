import { defineSpec, Infer } from "../../components/validate/infer";
import { ContractDefinition } from "../../components/contract";

export interface SecretsResult {
  /** Secret. */
  value: string;
}

export const secretsRequestSpec = defineSpec({
  type: "object",
  fields: {
    name: { type: "string", format: "name", doc: "the secret's name; default: the service name" },
    length: {
      type: "int",
      min: 8,
      max: 4096,
      default: 32,
      doc: "characters of a generated secret",
    },
  },
});

/** A named secret value; `defaults()` fills `name`. */
export type SecretsRequest = Infer<typeof secretsRequestSpec> & { name: string };

export const secretsContract: ContractDefinition<SecretsRequest, SecretsResult> = {
  name: "secrets",
  description: "a secret value (generated, from encrypted config, or hardcoded in development)",
  request: secretsRequestSpec,
  resultFields: ["value"],
  secretFields: ["value"],
  defaults: (req, ctx) => ({ ...req, name: req.name ?? ctx.requester.replace(/[^a-z0-9-]/g, "-") }),
};
