import { withComponent } from "../../components/provider";
import { SecretsRequest } from "./contract";

export interface GeneratedSecretsSettings {
  /** Include punctuation; off by default so values are safe in URLs and shells. */
  special: boolean;
}

export const generated = withComponent<SecretsRequest, GeneratedSecretsSettings>(
  {
    contract: "secrets",
    name: "generated",
    description: "random values from @pulumi/random, kept encrypted in state",
    settings: {
      type: "object",
      fields: {
        special: { type: "bool", default: false, doc: "add `-_.~` to the letters and digits" },
      },
    },
  },
  () =>
    (require("./generated-component") as typeof import("./generated-component")).GeneratedSecrets,
);
