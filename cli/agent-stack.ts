import { openDeployedStack } from "./deployed-stack";
import { stackSecretValues } from "./stack-secrets";

/** What the agent needs decrypted from the stack: the webhook secret and every value to mask. */
export interface AgentSecrets {
  webhookSecret?: string;
  /** Every secret value the stack holds (config, state, outputs). */
  values: string[];
}

/**
 * Opens the stack with psf's backend and passphrase and reads its secrets: `psf:agent`'s
 * webhook secret from the encrypted config, and every secret in config, state and outputs
 * for the log mask. Read again after each deployment, which may generate new ones.
 */
export async function readAgentSecrets(
  stackName: string,
): Promise<AgentSecrets | { error: string; hint: string }> {
  const opened = await openDeployedStack(stackName);
  if ("error" in opened)
    return {
      error: opened.error,
      hint: `create the stack and set its webhook secret: pulumi stack init ${stackName}; pulumi config set --secret --path psf:agent.webhookSecret <secret> --stack ${stackName}`,
    };
  const config = await opened.stack.getAllConfig();
  const agent = config["psf:agent"];
  let webhookSecret: string | undefined;
  let plain: string[] = [];
  if (agent) {
    try {
      const v = JSON.parse(agent.value) as Record<string, unknown>;
      if (typeof v.webhookSecret === "string") webhookSecret = v.webhookSecret;
      plain = Object.entries(v)
        .filter(([k, x]) => k !== "webhookSecret" && typeof x === "string")
        .map(([, x]) => x as string);
    } catch {
      // Not an object: validation reports it at psf:agent.
    }
  }
  // Pulumi marks `psf:agent` secret as a whole for its one encrypted field; its plain
  // settings (the branch: "main") are not secrets, and masking them would garble every line.
  const values = (await stackSecretValues(opened.stack, opened.outputs)).filter(
    (v) => !plain.includes(v),
  );
  if (webhookSecret) values.push(webhookSecret);
  return { webhookSecret, values };
}
