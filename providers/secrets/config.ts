import { Issue } from "../../components/errors";
import { withComponent } from "../../components/provider";
import { SecretsRequest } from "./contract";

export const config = withComponent<SecretsRequest, Record<string, never>>(
  {
    contract: "secrets",
    name: "config",
    description: "values from encrypted stack config (psf:secrets.<name>)",
    settings: { type: "object", fields: {} },
    checkStack: (_settings, stack, requests) => {
      const issues: Issue[] = [];
      for (const [requester, req] of Object.entries(requests)) {
        if (stack.secretNames.includes(req.name)) continue;
        const path = stack.services[requester]
          ? `services.${requester}.needs.secrets.name`
          : "providers.secrets";
        issues.push({
          path,
          message: `secret "${req.name}" is not set in the stack config (psf:secrets.${req.name})`,
          hint: `run: pulumi config set --secret --path 'psf:secrets.${req.name}' <value> --stack ${stack.stackName}`,
        });
      }
      return issues;
    },
  },
  () => (require("./config-component") as typeof import("./config-component")).ConfigSecrets,
);
