import * as pulumi from "@pulumi/pulumi";

/**
 * The SDK's Output (output.ts), rebuilt on one promise per Output for an offline plan.
 *
 * The SDK's OutputImpl is made of some twenty-five promises and forty closures (a value, its
 * knownness, secretness and resources, each derived and lifted on its own), and an `apply`
 * makes another. A plan builds every Output of the program before any resolves, so all of them
 * are alive at once: on 500 services that was most of the plan's time, in garbage collection
 * and promise jobs (measured: 40,000 applies took 2.4 s and 530 MB; here, 0.3 s and 170 MB).
 * This class keeps the same state (value, isKnown, isSecret, resources) in a single promise and
 * follows the SDK's rules step by step: the constructor's knownness and inner-Output lifting,
 * `apply`'s handling of unknowns, the proxy that lifts property reads, and `output`/`all`'s
 * recursion through arrays, objects and promises. It reads other Outputs only through their
 * public members, so it mixes with the SDK's own; test/cli/lean-plan.test.ts compares whole
 * plans with the SDK's.
 */

/**
 * Resource sets. The SDK copies them for every Output; here they are never changed once made,
 * so Outputs share them, and only what leaves through `resources()`/`allResources()` is a copy.
 */
export type Resources = Set<pulumi.Resource>;

/** What an SDK Output resolves to (its `lifted` record). */
export interface OutputState {
  allResources: Resources;
  value: unknown;
  isKnown: boolean;
  isSecret: boolean;
}

/** The members of any Output (this one, the SDK's) that the SDK itself reads. */
export interface AnyOutput {
  resources(): Resources;
  allResources?(): Promise<Resources>;
  promise(withUnknowns?: boolean): Promise<unknown>;
  isKnown: Promise<boolean>;
  isSecret?: Promise<boolean>;
}

/** SDK helpers that stay as they are (read once: `require` per call costs). */
const sdk = require("@pulumi/pulumi/output") as {
  containsUnknowns(v: unknown): boolean;
  isUnknown(v: unknown): boolean;
  unknown: unknown;
};
const { isUnknown, unknown } = sdk;

/** The SDK's containsUnknowns, which makes a Set before it looks: a string holds none. */
export function containsUnknowns(v: unknown): boolean {
  return v !== null && typeof v === "object" && sdk.containsUnknowns(v);
}

/** The SDK's Output.isInstance (a `__pulumiOutput` member that is `true`), for any SDK copy. */
export function isOutput(v: unknown): v is AnyOutput {
  return (
    v !== undefined && v !== null && (v as { __pulumiOutput?: unknown }).__pulumiOutput === true
  );
}

export function copyResources(r: unknown): Resources {
  return Array.isArray(r) || r instanceof Set ? new Set(r) : new Set([r as pulumi.Resource]);
}

function union(a: Resources, b: Resources): Resources {
  if (b.size === 0 || b === a) return a;
  if (a.size === 0) return b;
  let all: Resources | undefined;
  for (const r of b) if (!a.has(r)) (all ??= new Set(a)).add(r);
  return all ?? a;
}

export type Maybe<T> = T | Promise<T>;

/**
 * The SDK's liftInnerOutput: a value that is itself an Output gives its own state. Without
 * one, or with one whose state is settled already, the state is ready at once (no promise,
 * no microtask).
 */
function lift(
  allResources: Resources,
  value: unknown,
  isKnown: boolean,
  isSecret: boolean,
): Maybe<OutputState> {
  if (!isOutput(value) && !(value instanceof Lifted))
    return { allResources, value, isKnown, isSecret };
  const inner = nowOf(value);
  const merge = (inner: OutputState): OutputState => ({
    allResources: union(allResources, inner.allResources),
    value: inner.value,
    isKnown: inner.isKnown,
    isSecret: isSecret || inner.isSecret,
  });
  return inner ? merge(inner) : stateOf(value).then(merge);
}

/**
 * `f()`, settled at once when it can be; what it throws rejects the state, as it would have
 * in the microtask the SDK runs it in.
 */
export function attempt(f: () => Maybe<OutputState>): Maybe<OutputState> {
  try {
    return f();
  } catch (e) {
    return Promise.reject(e);
  }
}

/** Marks our Outputs (read through the proxy: an inherited member). */
const LEAN = Symbol("psf.leanOutput");

/** Whether `v` is one of ours (its state at hand). */
export function isLeanOutput(v: unknown): v is LeanOutput {
  return isOutput(v) && (v as { [LEAN]?: unknown })[LEAN] === true;
}

/**
 * An Output's resources and state without the Output object: what `output`/`all` make of the
 * Outputs nested in their argument before they combine them (cli/lean-output-functions.ts).
 * `now` is the state when it is settled already, so combining needs no promise.
 */
export class Lifted {
  readonly now?: OutputState;
  private promise?: Promise<OutputState>;
  constructor(
    readonly resources: Resources,
    state: Maybe<OutputState>,
  ) {
    if (state instanceof Promise) this.promise = state;
    else this.now = state;
  }
  get state(): Promise<OutputState> {
    return (this.promise ??= Promise.resolve(this.now!));
  }
}

/**
 * The state of an Output (ours) or a Lifted when it is settled already. Settling at once
 * changes no value: only how many microtasks later the same state is seen.
 */
export function nowOf(o: unknown): OutputState | undefined {
  if (o instanceof Lifted) return o.now;
  return isLeanOutput(o) ? o.__now : undefined;
}

/** The state of any Output: ours directly, the SDK's through its members. */
export function stateOf(o: AnyOutput | Lifted): Promise<OutputState> {
  if (o instanceof Lifted) return o.state;
  if (isLeanOutput(o)) return o.__state;
  return Promise.all([
    o.promise(true),
    o.isKnown,
    // As the SDK's isSecretOutput: an `isSecret` lifted by an older SDK's proxy is no answer.
    isOutput(o.isSecret) ? Promise.resolve(false) : (o.isSecret ?? Promise.resolve(false)),
    o.allResources instanceof Function ? o.allResources() : Promise.resolve(o.resources()),
  ]).then(([value, isKnown, isSecret, allResources]) => ({
    // The SDK's own sets are its to change (its serialization adds to them): a copy.
    allResources: copyResources(allResources),
    value,
    isKnown,
    isSecret,
  }));
}

/** The SDK constructor's rule: known when said so and holding no unknown value; inner Outputs lifted. */
export function settle(resources: Resources, s: OutputState): Maybe<OutputState> {
  const isKnown = s.isKnown && !containsUnknowns(s.value);
  return lift(union(s.allResources, resources), s.value, isKnown, s.isSecret);
}

/** The SDK's applyHelperAsync, then its constructor's rule on the result. */
export function applied(
  resources: Resources,
  s: OutputState,
  func: (v: unknown) => unknown,
  runWithUnknowns: boolean,
): Maybe<OutputState> {
  if (!s.isKnown && !runWithUnknowns)
    return settle(resources, { ...s, value: undefined, isKnown: false });
  let value = s.value;
  if (!s.isKnown && runWithUnknowns && !containsUnknowns(value)) value = unknown;
  const transformed = func(value);
  // The SDK awaits the result: a promise (or any thenable) is waited for, anything else is not.
  const then = (t: unknown) => {
    const lifted = lift(s.allResources, t, true, s.isSecret);
    return lifted instanceof Promise
      ? lifted.then((l) => settle(resources, l))
      : settle(resources, lifted);
  };
  return isThenable(transformed) ? Promise.resolve(transformed).then(then) : then(transformed);
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    v !== null &&
    (typeof v === "object" || typeof v === "function") &&
    typeof (v as { then?: unknown }).then === "function"
  );
}

/** The SDK proxy's rule for a property read: own and inherited members, else a lifted `apply`. */
const lifting: ProxyHandler<LeanOutput> = {
  get(target, prop) {
    if (prop in target) return Reflect.get(target, prop);
    if (prop === "then" || typeof prop === "symbol") return undefined;
    if (prop.startsWith("__") || prop === "doNotCapture" || prop === "deploymentOnlyModule")
      return undefined;
    return target.apply((ob: unknown) => {
      if (ob === undefined || ob === null) return undefined;
      if (isUnknown(ob)) return unknown;
      return (ob as Record<string, unknown>)[prop];
    }, true);
  },
};

export class LeanOutput {
  readonly __pulumiOutput = true;
  readonly __resources!: Resources;
  /** The state once settled: what combines with this Output without waiting for it. */
  __now?: OutputState;
  private __promise?: Promise<OutputState>;
  private __known?: Promise<boolean>;
  private __secret?: Promise<boolean>;

  /** The SDK's constructor signature, for the SDK's own `new Output(...)`. */
  constructor(
    resources: unknown,
    promise: Promise<unknown>,
    isKnown: Promise<boolean>,
    isSecret: Promise<boolean>,
    allResources?: Promise<unknown>,
  ) {
    const own = copyResources(resources);
    const state = Promise.all([
      allResources || Promise.resolve([]),
      promise,
      isKnown,
      isSecret,
    ]).then(([r, value, known, secret]) =>
      settle(own, { allResources: copyResources(r), value, isKnown: known, isSecret: secret }),
    );
    return leanOutput(own, state) as unknown as LeanOutput;
  }

  static isInstance(o: unknown): boolean {
    return isOutput(o);
  }

  /** The state, as a promise (made when first asked for, when settled already). */
  get __state(): Promise<OutputState> {
    return (this.__promise ??= Promise.resolve(this.__now!));
  }

  static create(val: unknown): LeanOutput {
    // Loaded when used: the functions module builds on this one.
    return require("./lean-output-functions").output(val);
  }

  resources(): Resources {
    return new Set(this.__resources);
  }

  allResources(): Promise<Resources> {
    return this.__state.then((s) => new Set(s.allResources));
  }

  get isKnown(): Promise<boolean> {
    return (this.__known ??= this.__state.then((s) => s.isKnown));
  }

  get isSecret(): Promise<boolean> {
    return (this.__secret ??= this.__state.then((s) => s.isSecret));
  }

  promise(withUnknowns?: boolean): Promise<unknown> {
    return this.__state.then((s) =>
      !withUnknowns && containsUnknowns(s.value) ? undefined : s.value,
    );
  }

  apply(func: (v: unknown) => unknown, runWithUnknowns?: boolean): LeanOutput {
    const own = this.__resources;
    // The callback runs a microtask later, as the SDK's; what is made of the result after
    // that sees it settled.
    const result: LeanOutput = leanOutput(
      own,
      this.__state.then((s) => {
        const r = applied(own, s, func, !!runWithUnknowns);
        if (!(r instanceof Promise)) result.__now = r;
        return r;
      }),
    );
    return result;
  }

  get(): never {
    throw new Error(`Cannot call '.get' during update or preview.
To manipulate the value of this Output, use '.apply' instead.`);
  }
}

/** An Output of `resources` whose state is `state`, or what `state` settles. */
export function leanOutput(resources: Resources, state: Maybe<OutputState>): LeanOutput {
  const o = Object.create(LeanOutput.prototype) as LeanOutput;
  const settled = !(state instanceof Promise);
  Object.assign(o, {
    __pulumiOutput: true,
    __resources: resources,
    __now: settled ? state : undefined,
    __promise: settled ? undefined : state,
  });
  return new Proxy(o, lifting);
}
(LeanOutput.prototype as unknown as Record<symbol, boolean>)[LEAN] = true;

/** The SDK's `toString`/`toJSON` (its messages, and its PULUMI_ERROR_OUTPUT_STRING), borrowed. */
{
  const { Output } = require("@pulumi/pulumi/output");
  const resolved = (v: unknown) => Promise.resolve(v);
  const sample = new Output(
    new Set(),
    resolved(undefined),
    resolved(true),
    resolved(false),
    resolved(new Set()),
  );
  const proto = LeanOutput.prototype as unknown as Record<string, unknown>;
  proto.toString = sample.toString;
  proto.toJSON = sample.toJSON;
}
