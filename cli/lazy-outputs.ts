import * as pulumi from "@pulumi/pulumi";
import { OutputState, attempt, leanOutput, settle } from "./lean-output";

/** What the monitor answered for a resource: its URN, id and state (in wire form). */
export interface Answered {
  urn: string;
  id: string | undefined;
  outputs: Record<string, unknown>;
}

/** The answer, or why the registration failed. */
export type Answer = Answered | { err: Error };

/** A resource's registration: its properties, and the answer once there. */
interface Registration {
  props: Record<string, unknown>;
  custom: boolean;
  answer?: Answer;
  /** Made only when an Output is read before the answer (most are read after, if at all). */
  awaited?: { promise: Promise<Answer>; resolve(a: Answer): void };
}

const REGISTRATION = Symbol("psf.registration");
type Registered = pulumi.Resource & { [REGISTRATION]?: Registration };
const rpc = require("@pulumi/pulumi/runtime/rpc");
const settings = require("@pulumi/pulumi/runtime/settings");
const accessors = new Map<string, PropertyDescriptor>();

/**
 * Gives a resource its `urn`, its `id` (custom resources) and an Output per property, as the
 * SDK's registerResource and transferProperties do, except that each Output is made when first
 * read, from the one answer of the registration. A Docker container has some 70 properties and
 * the program reads two or three; the SDK made all of them at once, each of four promises with
 * their resolvers, and resolved all of them on the answer. The rules are the SDK's
 * (runtime/rpc.ts resolveProperties): a property the answer holds is known (secret when it is
 * one); one it lacks is undefined and, in a preview, unknown. Returns what settles them.
 *
 * The accessors live on the resource's class, once per property name: one per instance was a
 * tenth of a plan's time. They answer only for instances registered here; on any other object
 * they act as if absent (a read is undefined, a write makes an own property, as it would).
 */
export function lazyOutputs(
  res: pulumi.Resource,
  label: string,
  custom: boolean,
  props: Record<string, unknown>,
): (a: Answer) => void {
  const registration: Registration = { props, custom };
  (res as Registered)[REGISTRATION] = registration;
  const answer = (a: Answer) => {
    registration.answer = a;
    registration.awaited?.resolve(a);
  };
  const proto = Object.getPrototypeOf(res);
  // As the SDK: urn and id are its own; a property already on the instance is an error.
  const keys = custom ? Object.keys(props).filter((k) => k !== "id" && k !== "urn") : [];
  for (const key of keys)
    if (Object.prototype.hasOwnProperty.call(res, key))
      throw new Error(`Property '${key}' is already initialized on target '${label}`);
  let ready = prepared.get(proto);
  if (!ready) prepared.set(proto, (ready = new Set()));
  for (const key of custom ? ["urn", "id", ...keys] : ["urn"]) {
    if (ready.has(key)) continue;
    const a = accessor(key);
    const found = descriptorOf(proto, key);
    if (found?.get === a.get) ready.add(key);
    // A member of that name already (a method, say): this instance gets its own accessor.
    else if (found) Object.defineProperty(res, key, a);
    else {
      Object.defineProperty(proto, key, a);
      ready.add(key);
    }
  }
  return answer;
}

/** Per class: the property names whose accessor it has (directly or inherited). */
const prepared = new WeakMap<object, Set<string>>();

/** The descriptor `key` has on the prototype chain from `proto`, if any. */
function descriptorOf(proto: object | null, key: string): PropertyDescriptor | undefined {
  for (let o = proto; o; o = Object.getPrototypeOf(o)) {
    const d = Object.getOwnPropertyDescriptor(o, key);
    if (d) return d;
  }
  return undefined;
}

/** The URN of a resource registered here, once its registration was answered. */
export function registeredUrn(res: pulumi.Resource): string | undefined {
  const answer = (res as Registered)[REGISTRATION]?.answer;
  return answer && !("err" in answer) ? answer.urn : undefined;
}

/** The registration's answer: at once when there, else when it comes. */
function answerOf(reg: Registration): Promise<Answer> {
  if (reg.answer) return Promise.resolve(reg.answer);
  if (!reg.awaited) {
    let resolve!: (a: Answer) => void;
    const promise = new Promise<Answer>((r) => (resolve = r));
    reg.awaited = { promise, resolve };
  }
  return reg.awaited.promise;
}

/** Whether `key` is one of the Outputs registered for this instance. */
function registered(res: Registered, key: string): Registration | undefined {
  const reg = res[REGISTRATION];
  if (!reg) return undefined;
  if (key === "urn" || (key === "id" && reg.custom)) return reg;
  return reg.custom && Object.prototype.hasOwnProperty.call(reg.props, key) ? reg : undefined;
}

function accessor(key: string): PropertyDescriptor {
  let a = accessors.get(key);
  if (!a) {
    a = {
      enumerable: true,
      configurable: true,
      get(this: Registered) {
        const reg = registered(this, key);
        if (!reg) return undefined;
        // As the SDK's `new Output(resource, ...)` of the resolved property.
        const own = new Set<pulumi.Resource>([this]);
        // Answered already (most are: the plan's monitor answers at once): settled now.
        const answered = reg.answer;
        const output = leanOutput(
          own,
          answered
            ? attempt(() => settle(own, stateOf(answered, key)))
            : answerOf(reg).then((answer) => settle(own, stateOf(answer, key))),
        );
        define(this, key, output);
        return output;
      },
      set(this: object, value: unknown) {
        define(this, key, value);
      },
    };
    accessors.set(key, a);
  }
  return a;
}

function define(onto: object, key: string, value: unknown): void {
  Object.defineProperty(onto, key, { value, writable: true, enumerable: true, configurable: true });
}

/** One property's state from the answer, as the SDK resolves it. */
function stateOf(a: Answer, key: string): OutputState {
  if ("err" in a) throw a.err;
  const allResources = new Set<pulumi.Resource>();
  if (key === "urn") return { allResources, value: a.urn, isKnown: true, isSecret: false };
  if (key === "id")
    return { allResources, value: a.id, isKnown: a.id !== undefined, isSecret: false };
  const wire = a.outputs[key];
  if (wire === undefined || !Object.prototype.hasOwnProperty.call(a.outputs, key))
    return { allResources, value: undefined, isKnown: !settings.isDryRun(), isSecret: false };
  const value = rpc.deserializeProperty(wire, false);
  return {
    allResources,
    value: rpc.unwrapRpcSecret(value),
    isKnown: true,
    // As the SDK: whatever isRpcSecret says, falsy or not.
    isSecret: rpc.isRpcSecret(value),
  };
}
