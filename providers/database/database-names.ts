import type { StackSettings } from "../../components/config";
import { Issue, joinPath } from "../../components/errors";
import { DatabaseRequest } from "./contract";

/** One server, one owner per database name: a second requester of a name is an error at its request. */
export function sharedDatabaseNames(
  stack: StackSettings,
  requests: Record<string, DatabaseRequest>,
  path: string,
): Issue[] {
  const issues: Issue[] = [];
  const owners = new Map<string, string>();
  for (const [requester, r] of Object.entries(requests)) {
    const other = owners.get(r.name);
    if (other === undefined) owners.set(r.name, requester);
    else
      issues.push({
        path: stack.services[requester]
          ? ["needs", "database", "name"].reduce(joinPath, joinPath("services", requester))
          : path,
        message: `database "${r.name}" is already requested by ${other}`,
        hint: "give each service its own database name",
      });
  }
  return issues;
}
