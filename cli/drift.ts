import type * as automation from "@pulumi/pulumi/automation";
import { isSecretValue } from "./secret-value";

/** One field that differs: the state's value (before) and what the refresh read (after). */
export interface FieldDrift {
  /** The property path as the engine names it: `mustRun`, `envs[1]`, `healthcheck.tests[0]`. */
  field: string;
  /** Secret values (and any value inside one) are `"[secret]"`; an absent value is null. */
  before: unknown;
  after: unknown;
}

/** A resource whose real state differs from the stack's state (what `refresh` found). */
export interface DriftedResource {
  /** The resource's name in the stack (`whoami`, `psf-dev-network`). */
  resource: string;
  /** Its Pulumi type (`docker:index/container:Container`). */
  type: string;
  urn: string;
  /** `changed`: fields differ; `missing`: it no longer exists. */
  kind: "changed" | "missing";
  fields: FieldDrift[];
}

/** A step the update made, or would make, to put the stack back. */
export interface PlannedChange {
  resource: string;
  type: string;
  urn: string;
  /** `create`, `update`, `replace` or `delete`. */
  op: string;
  /** Top-level properties that cause it. */
  fields: string[];
}

/**
 * Reads drift and changes off an engine event stream (`up --refresh` or `preview --refresh`):
 * the refresh steps' old and new outputs give the drift, the other steps what the update does.
 * Values come from the event stream, where the engine has already masked every secret.
 */
export class DriftCollector {
  readonly drift: DriftedResource[] = [];
  private readonly changes = new Map<string, PlannedChange>();

  onEvent = (e: automation.EngineEvent): void => {
    const m = e.resOutputsEvent?.metadata ?? e.resourcePreEvent?.metadata;
    if (!m || m.urn.endsWith("::pulumi:pulumi:Stack") || m.type.startsWith("pulumi:providers:"))
      return;
    if (m.op === "refresh") {
      if (e.resOutputsEvent) this.addDrift(m);
    } else if (e.resourcePreEvent && !["same", "read", "refresh", "discard"].includes(m.op))
      this.addChange(m);
  };

  /** The steps in the order the engine first announced them, replacements as one `replace`. */
  get planned(): PlannedChange[] {
    return [...this.changes.values()];
  }

  private addDrift(m: automation.StepEventMetadata): void {
    // A retried update refreshes again: the first report of a resource stands.
    if (this.drift.some((d) => d.urn === m.urn)) return;
    const base = { resource: nameOf(m.urn), type: m.type, urn: m.urn };
    if (!m.new) {
      this.drift.push({ ...base, kind: "missing", fields: [] });
      return;
    }
    const paths = m.detailedDiff ? Object.keys(m.detailedDiff) : (m.diffs ?? []);
    if (!paths.length) return;
    const before = m.old?.outputs ?? {};
    const after = m.new.outputs ?? {};
    this.drift.push({
      ...base,
      kind: "changed",
      fields: paths.sort().map((field) => ({
        field,
        before: shown(at(before, field)),
        after: shown(at(after, field)),
      })),
    });
  }

  private addChange(m: automation.StepEventMetadata): void {
    const op = /replace/.test(m.op) ? "replace" : m.op;
    const known = this.changes.get(m.urn);
    if (known) {
      if (op === "replace") known.op = op;
      return;
    }
    this.changes.set(m.urn, {
      resource: nameOf(m.urn),
      type: m.type,
      urn: m.urn,
      op,
      fields: [...(m.diffs ?? [])].sort(),
    });
  }
}

function nameOf(urn: string): string {
  return urn.slice(urn.lastIndexOf("::") + 2);
}

/** The value at an engine property path (`a.b[2]`, `["key.with.dots"]`); a secret on the way is the answer. */
export function at(root: unknown, field: string): unknown {
  const steps = [...field.matchAll(/\["((?:[^"\\]|\\.)*)"\]|\[(\d+)\]|([^.[\]]+)/g)].map(
    ([, quoted, index, plain]) => (index !== undefined ? Number(index) : (quoted ?? plain)),
  );
  let v = root;
  for (const step of steps) {
    if (isSecretValue(v)) return v;
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[step];
  }
  return v;
}

/** A value as reported: secrets as "[secret]", absent as null. */
function shown(v: unknown): unknown {
  if (v === undefined) return null;
  // The event stream keeps the signature and drops the value (`ciphertext: "[secret]"`).
  if (isSecretValue(v)) return "[secret]";
  if (Array.isArray(v)) return v.map(shown);
  if (v && typeof v === "object")
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shown(x)]));
  return v;
}
