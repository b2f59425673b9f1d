import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { PlannedResource, evaluate, mask } from "../../cli/mock-engine";
import { RawConfig, StackSettings } from "../../components/config";
import { runProgram, validateConfig } from "../../components/program";
import { ProviderDefinition, ProviderInstance } from "../../components/provider";
import { PsfStack } from "../../components/stack";
import { Target } from "../../components/targets/target";
import { Workload } from "../../components/workload";
import { registry } from "../../providers";

/** A Docker target that keeps each workload it is given and each command it is asked to exec. */
function recordingTarget(address: string) {
  const workloads: Workload[] = [];
  const execs: Array<{ cmd: string[]; stdin?: boolean }> = [];
  const target: Target = {
    kind: "docker",
    deploy: (w) => {
      workloads.push(w);
      return {
        address,
        resources: [],
        exec: (cmd, o) => (
          execs.push({ cmd, stdin: o?.stdin }),
          pulumi.output(`exec ${cmd.join(" ")}`)
        ),
      };
    },
    address: (n) => n,
    volume: () => {
      throw new Error("not used");
    },
  };
  return { target, workloads, execs };
}

/**
 * A provider built through its definition (which loads the class and declares the default
 * image) in the mocked engine, reading no other contract; the images it asked for, as
 * `key=default`, each served from `registry.local/`.
 */
async function createMocked<Req, Settings>(
  definition: ProviderDefinition<Req, Settings>,
  args: { settings: Settings; requests: Record<string, Req>; stack: StackSettings; target: Target },
): Promise<{ instance: ProviderInstance; images: string[] }> {
  const images: string[] = [];
  let instance: ProviderInstance | undefined;
  await evaluate(registry, {}, "test", () => {
    instance = definition.create(
      definition.name,
      {
        ...args,
        result: () => undefined,
        shared: () => undefined,
        publicUrl: (host) => `https://${host}`,
        configSecret: () => undefined,
        image: (key, fallback) => (images.push(`${key}=${fallback}`), `registry.local/${fallback}`),
      },
      {},
    );
  });
  return { instance: instance!, images };
}

/**
 * A server provider (one workload) built with these settings for what the stack config asks of
 * its contract, through a recording target: its workload, the commands it asked to exec, the
 * images it asked for, and the instance.
 */
export async function declareServer<Req, Settings>(
  definition: ProviderDefinition<Req, Settings>,
  raw: RawConfig,
  settings: Settings,
) {
  const { target, workloads, execs } = recordingTarget("db.internal");
  const { instance, images } = await createMocked(definition, {
    ...requestsIn<Req>(raw, definition.contract),
    target,
    settings,
  });
  assert.equal(workloads.length, 1, "one server");
  return { workload: workloads[0], execs, images, instance };
}

/** What a stack config asks of a contract's provider: its requests, and the stack. */
function requestsIn<Req>(
  raw: RawConfig,
  contract: string,
): { requests: Record<string, Req>; stack: StackSettings } {
  const plan = validateConfig(raw, "test", registry).plan!;
  const provider = plan.providers.find((p) => p.contract === contract)!;
  return { requests: provider.requests as Record<string, Req>, stack: plan.stack };
}

/** The whole program on a stack config in the mocked engine: what it declares, and the stack. */
export async function planStack(
  raw: RawConfig,
): Promise<{ declared: PlannedResource[]; stack: any }> {
  let stack: any;
  const declared = await evaluate(
    registry,
    raw,
    "test",
    (r, stackName) => (stack = runProgram(registry, { raw: r, stackName })),
  );
  return { declared, stack: stack! };
}

/** The Docker container the program declared under that name; fails listing what it declared. */
export function declaredContainer(declared: PlannedResource[], name: string): PlannedResource {
  const container = declared.find(
    (r) => r.type === "docker:index/container:Container" && r.name === name,
  );
  assert.ok(container, declared.map((r) => `${r.type} ${r.name}`).join("\n"));
  return container;
}

/** Fails naming the first declared resource whose plain inputs (secrets masked) match. */
export function assertNoneInPlainInputs(declared: PlannedResource[], pattern: RegExp): void {
  for (const r of declared)
    assert.doesNotMatch(JSON.stringify(mask(r.inputs)), pattern, `${r.type} ${r.name}`);
}
