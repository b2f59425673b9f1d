import { defineSpec, Infer } from "../../components/validate/infer";
import { withComponent } from "../../components/provider";
import { SecretsRequest } from "./contract";

export const generatedSettingsSpec = defineSpec({
  type: "object",
  fields: {
    special: { type: "bool", default: false, doc: "add `-_.~` to the letters and digits" },
  },
});

export type GeneratedSecretsSettings = Infer<typeof generatedSettingsSpec>;

export const generated = withComponent<SecretsRequest, GeneratedSecretsSettings>(
  {
    contract: "secrets",
    name: "generated",
    description: "random values from @pulumi/random, kept encrypted in state",
    settings: generatedSettingsSpec,
  },
  () =>
    (require("./generated-component") as typeof import("./generated-component")).GeneratedSecrets,
);
