import { withComponent } from "../../components/provider";
import { SslRequest } from "./contract";

export interface SelfSignedSettings {
  organization: string;
  /** Certificate lifetime; renewed (replaced) within `earlyRenewalHours` of expiry on `up`. */
  validityHours: number;
  earlyRenewalHours: number;
  /** Serve every `<name>.<stack domain>` request from one `*.<stack domain>` certificate. */
  wildcard: boolean;
}

export const selfsigned = withComponent<SslRequest, SelfSignedSettings>(
  {
    contract: "ssl",
    name: "selfsigned",
    description: "a stack CA and certificates signed by it (@pulumi/tls)",
    settings: {
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
    },
  },
  () => (require("./selfsigned-component") as typeof import("./selfsigned-component")).SelfSigned,
);
