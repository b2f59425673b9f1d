import * as pulumi from "@pulumi/pulumi";
import {
  AnyOutput,
  LeanOutput,
  Lifted,
  OutputState,
  Resources,
  applied,
  attempt,
  containsUnknowns,
  copyResources,
  isLeanOutput,
  isOutput,
  leanOutput,
  nowOf,
  settle,
  stateOf,
} from "./lean-output";

/**
 * The SDK's functions that make Outputs (output.ts `output`, `all`, `secret`, `interpolate`...)
 * on the lean Output (cli/lean-output.ts), with the SDK's rules. Where the SDK makes an Output
 * of every Output nested in an argument and then combines them, these combine their states
 * (`Lifted`) and make one Output at the end: `all([a, b]).apply(f)` is one Output here, five
 * with the SDK.
 */

const { isUnknown } = require("@pulumi/pulumi/output") as { isUnknown(v: unknown): boolean };

/** The SDK's `output` (and `all`). */
export function output(val: unknown): LeanOutput {
  const l = liftedOf(val);
  return leanOutput(l.resources, l.now ?? l.state);
}

/** The SDK's `secret`. */
export function secret(val: unknown): LeanOutput {
  const l = liftedOf(val);
  const secret = (s: OutputState): OutputState => ({ ...s, isSecret: true });
  return leanOutput(l.resources, l.now ? secret(l.now) : l.state.then(secret));
}

/** The SDK's `unsecret`. */
export function unsecret(val: AnyOutput): LeanOutput {
  const unsecret = (s: OutputState): OutputState => ({ ...s, isSecret: false });
  const now = nowOf(val);
  return leanOutput(
    copyResources(val.resources()),
    now ? unsecret(now) : stateOf(val).then(unsecret),
  );
}

/** The SDK's `interpolate`. */
export function interpolate(literals: TemplateStringsArray, ...placeholders: unknown[]) {
  return applyTo(placeholders, true, (unwrapped) => {
    const vs = unwrapped as unknown[];
    let result = "";
    for (let i = 0; i < vs.length; i++) {
      result += literals[i];
      result += vs[i];
    }
    return result + literals[literals.length - 1];
  });
}

/** The SDK's `concat`. */
export function concat(...params: unknown[]) {
  return applyTo(params, true, (array) => (array as unknown[]).join(""));
}

/** The SDK's `jsonStringify`. */
export function jsonStringify(
  obj: unknown,
  replacer?: (this: unknown, key: string, value: unknown) => unknown,
  space?: string | number,
) {
  return applyTo(obj, !replacer, (o) => JSON.stringify(o, replacer, space));
}

/** The SDK's `jsonParse`. */
export function jsonParse(
  text: unknown,
  reviver?: (this: unknown, key: string, value: unknown) => unknown,
) {
  return applyTo(text, !reviver, (t) => JSON.parse(t as string, reviver));
}

/**
 * `output(val).apply(func)`, without the Output in between. A `func` of ours (no program
 * code in it: `pure`) runs at once when the value is settled; the program's (a replacer, a
 * reviver) a microtask later, as the SDK's `apply`. Both throw into the Output's promise.
 */
function applyTo(val: unknown, pure: boolean, func: (v: unknown) => unknown): LeanOutput {
  const l = liftedOf(val);
  const own = l.resources;
  const now = l.now;
  if (pure && now)
    return leanOutput(
      own,
      attempt(() => applied(own, now, func, false)),
    );
  return leanOutput(
    own,
    l.state.then((s) => applied(own, s, func, false)),
  );
}

/** An Output's own resources: ours shared as they are, the SDK's copied (as it does). */
function ownResources(o: AnyOutput): Resources {
  return isLeanOutput(o) ? o.__resources : copyResources(o.resources());
}

/** What `output(val)` holds: its resources and state. A plain value is known, with none. */
function liftedOf(val: unknown): Lifted {
  const r = outputRec(val);
  if (r instanceof Lifted) return r;
  const state: OutputState = {
    allResources: new Set(),
    value: r,
    isKnown: !containsUnknowns(r),
    isSecret: false,
  };
  return new Lifted(new Set(), state);
}

/**
 * The SDK's outputRec: primitives, resources and unknowns as they are; promises and Outputs
 * mapped recursively; arrays and objects copied, and lifted into one when they hold any.
 * `path` holds the objects being copied, to refuse a circular structure as the SDK does.
 */
function outputRec(val: unknown, path: unknown[] = []): unknown {
  if (val === null || typeof val !== "object") return val;
  if (pulumi.Resource.isInstance(val) || isUnknown(val)) return val;
  if (val instanceof Promise) {
    const none = new Set<pulumi.Resource>();
    const at = [...path];
    return new Lifted(
      none,
      val.then((v) =>
        settle(none, {
          allResources: new Set(),
          value: outputRec(v, at),
          isKnown: true,
          isSecret: false,
        }),
      ),
    );
  }
  if (isOutput(val)) {
    const own = ownResources(val);
    const now = nowOf(val);
    if (now)
      return new Lifted(
        own,
        attempt(() => applied(own, now, (v) => outputRec(v, path), true)),
      );
    const at = [...path];
    return new Lifted(
      own,
      stateOf(val).then((s) => applied(own, s, (v) => outputRec(v, at), /*runWithUnknowns*/ true)),
    );
  }
  if (path.includes(val)) throw new Error("Cannot create an Output from a circular structure");
  path.push(val);
  const keys = Array.isArray(val) ? undefined : Object.keys(val);
  const items = keys ? keys.map((k) => (val as Record<string, unknown>)[k]) : (val as unknown[]);
  // By index, as the SDK: a hole in an array reads as undefined.
  const values: unknown[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) values[i] = outputRec(items[i], path);
  path.pop();
  let resources: Resources | undefined;
  for (const v of values)
    if (v instanceof Lifted) for (const r of v.resources) (resources ??= new Set()).add(r);
  // As the SDK: a copy when nothing inside is an Output.
  if (!values.some((v) => v instanceof Lifted)) return copyOf(keys, values);
  const own = resources ?? new Set<pulumi.Resource>();
  const combine = (ss: (OutputState | undefined)[]) => {
    const all: Resources = new Set();
    let isKnown = true;
    let isSecret = false;
    for (let i = 0; i < ss.length; i++) {
      const s = ss[i];
      if (!s) continue;
      for (const r of s.allResources) all.add(r);
      isKnown &&= !!s.isKnown;
      isSecret ||= !!s.isSecret;
      values[i] = s.value;
    }
    return settle(own, { allResources: all, value: copyOf(keys, values), isKnown, isSecret });
  };
  // Settled already, every one: combined at once.
  if (values.every((v) => !(v instanceof Lifted) || v.now))
    return new Lifted(
      own,
      attempt(() => combine(values.map((v) => (v instanceof Lifted ? v.now : undefined)))),
    );
  return new Lifted(
    own,
    Promise.all(values.map((v) => (v instanceof Lifted ? v.state : undefined))).then(combine),
  );
}

/** The array of `values`, or the object of `keys` to them (built by assignment, as the SDK). */
function copyOf(keys: string[] | undefined, values: unknown[]): unknown {
  if (!keys) return values;
  const obj: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) obj[keys[i]] = values[i];
  return obj;
}
