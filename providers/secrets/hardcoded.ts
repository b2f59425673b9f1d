import { withComponent } from "../../components/provider";
import { SecretsRequest } from "./contract";

export interface HardcodedSettings {
  /** Fixed values by secret name; others are derived from the name (deterministic). */
  values: Record<string, string>;
}

export const hardcoded = withComponent<SecretsRequest, HardcodedSettings>(
  {
    contract: "secrets",
    name: "hardcoded",
    description: "fixed development values; refused outside development",
    environments: ["development"],
    settings: {
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
    },
  },
  () =>
    (require("./hardcoded-component") as typeof import("./hardcoded-component")).HardcodedSecrets,
);
