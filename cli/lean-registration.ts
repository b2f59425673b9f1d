import * as pulumi from "@pulumi/pulumi";
import { Answered, lazyOutputs, registeredUrn } from "./lazy-outputs";
import { serializeInputs } from "./lean-serialize";

type RegisterResource = (
  res: pulumi.Resource,
  parent: pulumi.Resource | undefined,
  type: string,
  name: string,
  custom: boolean,
  remote: boolean,
  newDependency: unknown,
  props: Record<string, unknown>,
  opts: pulumi.ResourceOptions & { urn?: unknown },
  ...rest: unknown[]
) => void;

/** The answer of a monitor's registerResource, as the SDK reads it. */
interface Response {
  getUrn(): string;
  getId(): string | undefined;
  getObject(): { toJavaScript(): unknown };
}

/** A registration the monitor sees: the SDK's request, as far as a mock monitor reads it. */
interface Request {
  type: string;
  name: string;
  parentUrn?: string;
  wire: Record<string, unknown>;
}

/**
 * The SDK's `registerResource` (runtime/resource.ts) for an offline plan. The SDK's prepares a
 * request for an engine: it waits for explicit dependencies, providers and aliases, collects
 * the URNs every property depends on, builds protobuf messages, and chains every registration
 * behind the previous one; with the Outputs it makes for `urn`, `id` and every property, that
 * was half of a plan's time. An offline plan needs what the monitor records and what the
 * program observes: the inputs serialized as the SDK serializes them (lean-serialize.ts), the
 * parent, and the answer resolved into the resource's Outputs as the SDK resolves them
 * (lazy-outputs.ts). Remote components and resources read by URN keep the SDK's path.
 */
export function leanRegisterResource(sdk: RegisterResource): RegisterResource {
  const rpc = require("@pulumi/pulumi/runtime/rpc");
  const settings = require("@pulumi/pulumi/runtime/settings");
  return function registerResource(this: unknown, ...args) {
    const [res, parent, type, name, custom, remote, , props, opts] = args;
    if (remote || opts.urn !== undefined) return sdk.apply(this, args);
    const label = `resource:${name}[${type}]`;
    const done: () => void = settings.rpcKeepAlive();
    const answer = lazyOutputs(res, label, custom, props);
    const settle = (response: Response | { err: Error }): void | Promise<void> => {
      if ("err" in response) return answer(response);
      const answered: Answered = {
        urn: response.getUrn(),
        id: response.getId() || undefined,
        outputs: response.getObject().toJavaScript() as Record<string, unknown>,
      };
      if (settings.isDryRun() && !settings.isLegacyApplyEnabled()) return answer(answered);
      // As the SDK's resolveOutputs: outside a preview, inputs the answer lacks keep their value.
      return (async () => {
        for (const key of Object.keys(props)) {
          if (key === "id" || key === "urn" || answered.outputs[key] !== undefined) continue;
          const input = await rpc.serializeProperty(label, props[key], new Set(), {
            keepOutputValues: false,
          });
          if (input !== undefined) answered.outputs = { ...answered.outputs, [key]: input };
        }
        answer(answered);
      })();
    };
    // Each step waits only when it must: a resource whose inputs are plain and whose parent
    // has its URN registers at once, without a promise (most of them: volumes, images,
    // passwords, components).
    const register = () =>
      then(serializeInputs(label, props), (wire) =>
        then(parent ? urnSoFar(parent) : undefined, (parentUrn) =>
          then(ask(settings.getMonitor(), { type, name, parentUrn, wire }), settle),
        ),
      );
    let registered: void | Promise<void>;
    try {
      registered = register();
    } catch (err) {
      registered = Promise.reject(err);
    }
    // As the SDK's: a failure is the program's, reported as an unhandled rejection.
    if (registered instanceof Promise)
      registered.then(done, (err) => {
        done();
        throw err;
      });
    else done();
  };
}

/** `f(x)`, at once for a value, when it resolves for a promise. */
function then<T, U>(x: T | Promise<T>, f: (v: T) => U | Promise<U>): U | Promise<U> {
  return x instanceof Promise ? x.then(f) : f(x);
}

/** The parent's URN: known when its registration was answered here, else awaited as the SDK does. */
function urnSoFar(parent: pulumi.Resource): string | Promise<string> {
  return registeredUrn(parent) ?? urnOf(parent);
}

/** `promise()` is the SDK's internal way to await an Output, as its own registerResource does. */
function urnOf(r: pulumi.Resource): Promise<string> {
  return (r.urn as unknown as { promise(): Promise<string> }).promise();
}

/**
 * Sends a registration to the monitor in the shape of the SDK's request. The answer comes at
 * once when the monitor calls back at once (the plan's does), else as a promise.
 */
function ask(
  monitor: { registerResource(req: unknown, cb: (err: unknown, res?: Response) => void): void },
  r: Request,
): Response | { err: Error } | Promise<Response | { err: Error }> {
  const request = {
    getType: () => r.type,
    getName: () => r.name,
    getParent: () => r.parentUrn ?? "",
    // Keys already sorted, as the protobuf round trip would deliver them (lean-serialize.ts).
    getObject: () => ({ toJavaScript: () => r.wire }),
  };
  let now: Response | { err: Error } | undefined;
  let later: ((a: Response | { err: Error }) => void) | undefined;
  monitor.registerResource(request, (err, response) => {
    const a = err ? { err: err as Error } : response!;
    if (later) later(a);
    else now = a;
  });
  return now ?? new Promise((resolve) => (later = resolve));
}
