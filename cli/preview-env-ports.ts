import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { checkSource } from "./source";
import { portClaims } from "./preview-env-config";

/**
 * Host ports every other stack file in `stacksDir` publishes (the template's, other previews'),
 * whether it is up or not: a preview must not take a port its template needs when it comes up.
 * A stack file that does not validate claims nothing it could be held to.
 */
export function portsOfOtherStacks(stacksDir: string, except: string): Set<number> {
  const taken = new Set<number>();
  for (const f of fs.existsSync(stacksDir) ? fs.readdirSync(stacksDir) : []) {
    const name = /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1];
    if (!name || name === except) continue;
    const { plan } = checkSource({ config: path.join(stacksDir, f) });
    for (const c of plan ? portClaims(plan) : []) taken.add(c.port);
  }
  return taken;
}

/** Whether nothing listens on `port` on any address (binding 0.0.0.0 fails if any does). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: "0.0.0.0", exclusive: true }, () =>
      server.close(() => resolve(true)),
    );
  });
}

/** Where PR N's ports are looked for first: 20000 + 100 × (N mod 120), below Linux's ephemeral range. */
export function portBase(pr: number): number {
  return 20_000 + 100 * (pr % 120);
}

/** `count` ports from `base` up that no other stack claims and nothing listens on now. */
export async function freePorts(
  count: number,
  base: number,
  taken: ReadonlySet<number>,
  isFree: (port: number) => Promise<boolean> = portIsFree,
): Promise<number[]> {
  const found: number[] = [];
  for (let port = base; found.length < count && port <= 65535; port++)
    if (!taken.has(port) && (await isFree(port))) found.push(port);
  if (found.length < count) throw new Error(`no ${count} free host ports from ${base} up`);
  return found;
}
