import { ObjectSpec, SecureValue } from "./schema";

/**
 * The TypeScript type a spec validates to (what `check()` returns for it), so a settings or
 * request type is derived from its spec instead of kept as a hand-written twin that can drift.
 * The spec must keep its literal types: declare it `as const satisfies ObjectSpec` (or with
 * `defineSpec`).
 */
export type Infer<S> = S extends { type: "string" }
  ? StringType<S>
  : S extends { type: "int" }
    ? number
    : S extends { type: "bool" }
      ? boolean
      : S extends { type: "scalar" }
        ? string | number | boolean | SecureValue
        : S extends { type: "list"; items: infer I }
          ? Infer<I>[]
          : S extends { type: "map"; values: infer V }
            ? Record<string, Infer<V>>
            : S extends { type: "object"; fields: infer F }
              ? ObjectType<F, RequiredOf<S>>
              : unknown;

/** An enum is the union of its literals; a `secret` string may be an encrypted config value. */
type StringType<S> = S extends { enum: readonly (infer E)[] }
  ? E
  : S extends { secret: true }
    ? string | SecureValue
    : string;

type RequiredOf<S> = S extends { required: readonly (infer R)[] } ? R : never;

/** A field with a default or listed in `required` is always there; any other may be absent. */
type PresentKeys<F, R> = {
  [K in keyof F]: F[K] extends { default: unknown } ? K : K extends R ? K : never;
}[keyof F];

type ObjectType<F, R> = Flat<
  { -readonly [K in PresentKeys<F, R>]: Infer<F[K]> } & {
    -readonly [K in Exclude<keyof F, PresentKeys<F, R>>]?: Infer<F[K]>;
  }
>;

/** Shows a derived object type as one object in editor hovers and compiler messages. */
type Flat<T> = { [K in keyof T]: T[K] } & {};

/** Declares an object spec keeping its literal types (enum values, defaults) for `Infer`. */
export function defineSpec<const S extends ObjectSpec>(spec: S): S {
  return spec;
}

/** The type of an object spec's `fields` alone (fields shared by several specs, e.g. backup's). */
export type InferFields<F> = Infer<{ type: "object"; fields: F }>;
