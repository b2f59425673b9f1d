import { strict as assert } from "assert";
import { ContractName } from "../../components/contract";
import { formatIssues } from "../../components/errors";
import { runProgram, validateConfig } from "../../components/program";
import { registry } from "../../providers";
import { PlannedResource, evaluate } from "../../cli/mock-engine";
import { fixtureConfig, overlay, rawOf } from "./helpers";

/** JSON with object keys sorted, so equal values serialize equally. */
function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(",")}]`;
  if (v && typeof v === "object")
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v) ?? "undefined";
}

const key = (r: PlannedResource) => `${r.type}::${r.parent ?? ""}::${r.name}`;

/** Evaluates the program offline; each declared resource as one deterministic line. */
async function declare(config: Record<string, unknown>): Promise<Map<string, string>> {
  const raw = rawOf(config);
  const { issues } = validateConfig(raw, "dev", registry);
  assert.deepEqual(issues, [], formatIssues(issues));
  const resources = await evaluate(registry, raw, "dev", (r, s) =>
    runProgram(registry, { raw: r, stackName: s }),
  );
  const byKey = new Map<string, string>();
  for (const r of resources) {
    assert.ok(!byKey.has(key(r)), `declared twice: ${key(r)}`);
    byKey.set(key(r), stable(r.inputs));
  }
  return byKey;
}

/**
 * A stack using the first registered provider of every contract. A provider this generic
 * stack cannot satisfy (it needs settings of its own) is left out, with a note: its own
 * tests cover it.
 */
function everyContract(): Record<string, unknown> {
  const requests: Record<ContractName, unknown> = {
    secrets: { name: "api-token" },
    ssl: { domain: "notes.example.org" },
    database: { extensions: [] },
    ldap: {},
    sso: { redirectPaths: ["/oauth2/callback"] },
    proxy: {},
    backup: { volumes: ["data"] },
  };
  const providers: Record<string, unknown> = {};
  for (const p of registry.providers)
    if (!(p.contract in providers) && !p.environments) providers[p.contract] = { use: p.name };
  const build = () =>
    overlay(fixtureConfig("valid/Pulumi.secrets.yaml"), {
      "psf:providers": providers,
      "psf:secrets": { "api-token": "x".repeat(32) },
      "psf:services": {
        notes: {
          volumes: { data: "/data" },
          healthcheck: { http: "/health" },
          needs: Object.fromEntries(
            Object.keys(providers).map((c) => [c, requests[c as ContractName]]),
          ),
        },
        worker: { image: "ghcr.io/example/worker:1.0", command: ["work"], env: { MODE: "batch" } },
      },
    }) as Record<string, unknown>;
  for (let round = 0; round < 7; round++) {
    const { issues } = validateConfig(rawOf(build()), "dev", registry);
    const blamed = Object.keys(providers).filter(
      (c) =>
        !["secrets", "ssl"].includes(c) &&
        issues.some(
          (i) =>
            i.path.startsWith(`providers.${c}`) || i.path.startsWith(`services.notes.needs.${c}`),
        ),
    );
    if (blamed.length === 0) break;
    console.warn(
      `      left out: ${blamed.map((c) => `${c}/${(providers[c] as { use: string }).use}`).join(", ")}`,
    );
    for (const c of blamed) delete providers[c];
  }
  return build();
}

describe("idempotence", () => {
  it("declares identical resources when the same config is evaluated twice", async () => {
    const config = everyContract();
    const first = await declare(config);
    const second = await declare(config);
    assert.ok(first.size > 10, `a real stack (${first.size} resources)`);
    assert.deepEqual([...second.keys()].sort(), [...first.keys()].sort());
    for (const [k, inputs] of first)
      assert.equal(second.get(k), inputs, `inputs of ${k} differ between runs`);
  });

  it("changes only the affected resources when one service's image changes", async () => {
    const config = everyContract();
    const before = await declare(config);
    const after = await declare(
      overlay(config, {
        "psf:services": { worker: { image: "ghcr.io/example/worker:1.1" } },
      }) as Record<string, unknown>,
    );
    // The old image resource goes, the new one comes, the worker's container follows; nothing else is touched.
    const gone = [...before.keys()].filter((k) => !after.has(k));
    const added = [...after.keys()].filter((k) => !before.has(k));
    assert.deepEqual(gone, [
      "docker:index/remoteImage:RemoteImage::psf::image-ghcr.io/example/worker:1.0",
    ]);
    assert.deepEqual(added, [
      "docker:index/remoteImage:RemoteImage::psf::image-ghcr.io/example/worker:1.1",
    ]);
    const changed = [...before.keys()].filter(
      (k) => after.has(k) && before.get(k) !== after.get(k),
    );
    assert.deepEqual(changed, ["docker:index/container:Container::worker::worker"]);
  });
});
