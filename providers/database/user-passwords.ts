import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { DatabaseRequest } from "./contract";

/**
 * A generated password per database user (`<name>-password-<user>`, kept in state), secret;
 * two requests naming the same user share it.
 */
export function userPasswords(
  name: string,
  requests: DatabaseRequest[],
  parent: pulumi.Resource,
): Record<string, pulumi.Output<string>> {
  const passwords: Record<string, pulumi.Output<string>> = {};
  for (const r of requests)
    passwords[r.user] ??= pulumi.secret(
      new random.RandomPassword(
        `${name}-password-${r.user}`,
        { length: 32, special: false },
        { parent },
      ).result,
    );
  return passwords;
}
