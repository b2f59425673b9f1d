import { defineSpec, Infer } from "../../components/validate/infer";
import { withComponent } from "../../components/provider";
import { SecretsRequest } from "./contract";

export const hardcodedSettingsSpec = defineSpec({
  type: "object",
  fields: {
    values: {
      type: "map",
      keyFormat: "name",
      values: { type: "string", minLength: 1 },
      default: {},
      doc: "secret name → value; a name not listed gets a value derived from it",
    },
  },
});

export type HardcodedSettings = Infer<typeof hardcodedSettingsSpec>;

export const hardcoded = withComponent<SecretsRequest, HardcodedSettings>(
  {
    contract: "secrets",
    name: "hardcoded",
    description: "fixed development values; refused outside development",
    environments: ["development"],
    settings: hardcodedSettingsSpec,
  },
  () =>
    (require("./hardcoded-component") as typeof import("./hardcoded-component")).HardcodedSecrets,
);
