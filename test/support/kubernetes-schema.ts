/**
 * Validation of Kubernetes objects against the upstream OpenAPI schemas that the
 * `kubernetes-models` package carries (4.5.x: Kubernetes v1.33.0; package-lock.json pins it).
 */

/** kubernetes-models' class for an object, by apiVersion and kind. */
function model(apiVersion: string, kind: string): new (o: unknown) => { validate(): void } {
  const group = apiVersion.includes("/") ? apiVersion : "v1";
  return require(`kubernetes-models/${group}/${kind}`)[kind];
}

/** Validates an object the way the API server's schema check would; throws on the first error. */
export function validateObject(o: { apiVersion: string; kind: string }): void {
  new (model(o.apiVersion, o.kind))(o).validate();
}

/** The Kubernetes version whose schemas `validateObject` checks against. */
export const SCHEMA_VERSION = "1.33";
export const MODELS_VERSION: string = require("kubernetes-models/package.json").version;
