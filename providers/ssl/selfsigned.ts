import { defineSpec, Infer } from "../../components/validate/infer";
import { withComponent } from "../../components/provider";
import { SslRequest } from "./contract";

export const selfsignedSettingsSpec = defineSpec({
  type: "object",
  fields: {
    organization: {
      type: "string",
      minLength: 1,
      maxLength: 64,
      default: "PSF",
      doc: "subject organisation; the CA is `<organization> CA`",
    },
    validityHours: {
      type: "int",
      min: 24,
      max: 24 * 3650,
      default: 24 * 365,
      doc: "certificate lifetime in hours; the CA lives twice as long",
    },
    earlyRenewalHours: {
      type: "int",
      min: 0,
      max: 24 * 365,
      default: 24 * 30,
      doc: "within this many hours of expiry, the next `pulumi up` renews",
    },
    wildcard: {
      type: "bool",
      default: true,
      doc: "one `*.<domain>` certificate for every service one label under the stack domain; `false` issues one per request",
    },
  },
});

export type SelfSignedSettings = Infer<typeof selfsignedSettingsSpec>;

export const selfsigned = withComponent<SslRequest, SelfSignedSettings>(
  {
    contract: "ssl",
    name: "selfsigned",
    description: "a stack CA and certificates signed by it (@pulumi/tls)",
    settings: selfsignedSettingsSpec,
  },
  () => (require("./selfsigned-component") as typeof import("./selfsigned-component")).SelfSigned,
);
