// A settings or request spec as a markdown table: one row per field (nested object fields as
// `parent.child`), its accepted values, default and `doc`. Pure: no Pulumi, no file access.
import { FormatName, formatExamples } from "../../components/validate/formats";
import type { ObjectSpec, Spec } from "../../components/validate/schema";

export interface Row {
  field: string;
  accepts: string;
  default: string;
  doc: string;
}

const code = (s: string) => "`" + s + "`";

/** Each format in words; its example comes from `formatExamples`, as validation hints show it. */
const FORMAT_WORDS: Record<FormatName, string> = {
  domain: "a base domain",
  dns: "a DNS name",
  "dns-wildcard": "a DNS name or wildcard",
  label: "a DNS label",
  name: "a name (a-z first; a-z, 0-9, inner hyphens; at most 40)",
  url: "an http(s) URL",
  "url-path": "a URL path",
  path: "an absolute path",
  size: "a size",
  memory: "a memory size",
  cpu: "a CPU amount",
  cron: "a 5-field cron schedule",
  dn: "an LDAP DN",
  image: "an image reference",
  env: "an environment variable name",
  email: "an email address",
  sql: "an SQL identifier",
  "qualified-name": "a Kubernetes annotation or label key",
};

function formatted(f: FormatName): string {
  return `${FORMAT_WORDS[f]}, e.g. ${formatExamples[f].split(" or ").map(code).join(" or ")}`;
}

/** What a value of `spec` may be, in words (the checks `check` in schema.ts makes). */
export function accepts(spec: Spec): string {
  switch (spec.type) {
    case "string": {
      if (spec.enum) return spec.enum.map(code).join(", ");
      const parts = [spec.format ? formatted(spec.format) : "text"];
      const min = spec.minLength ?? (spec.format ? 0 : 1);
      if (spec.maxLength !== undefined) parts.push(`${min}–${spec.maxLength} characters`);
      else if (min === 0 && !spec.format) parts.push("may be empty");
      if (spec.secret) parts.push("may be a `secure:` value");
      return parts.join("; ");
    }
    case "int":
      if (spec.min !== undefined && spec.max !== undefined)
        return `integer, ${spec.min}–${spec.max}`;
      if (spec.min !== undefined) return `integer ≥ ${spec.min}`;
      if (spec.max !== undefined) return `integer ≤ ${spec.max}`;
      return "integer";
    case "bool":
      return "`true` or `false`";
    case "scalar":
      return "text, number or boolean";
    case "any":
      return "anything";
    case "object":
      return "map of the fields below";
    case "list": {
      const bounds = [
        spec.unique ? "unique" : "",
        spec.minItems !== undefined ? `at least ${spec.minItems}` : "",
        spec.maxItems !== undefined ? `at most ${spec.maxItems}` : "",
      ].filter(Boolean);
      const items = spec.items.type === "object" ? "maps of the fields below" : accepts(spec.items);
      return `list${bounds.length ? ` (${bounds.join(", ")})` : ""} of: ${items}`;
    }
    case "map": {
      const keys = spec.keyFormat ? FORMAT_WORDS[spec.keyFormat] : "any text";
      const values = spec.values.type === "object" ? "maps of the fields below" : accepts(spec.values);
      return `map; keys: ${keys}; values: ${values}`;
    }
  }
}

/** A default as YAML would write it, short: `lz4`, `0`, `[]`, `{}`, `[openid, email]`. */
export function defaultOf(spec: Spec, required: boolean): string {
  if (required) return "required";
  const value = "default" in spec ? spec.default : undefined;
  if (value === undefined) return "—";
  if (value === "") return code('""');
  return code(yamlish(value));
}

function yamlish(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(yamlish).join(", ")}]`;
  if (v !== null && typeof v === "object")
    return `{${Object.entries(v)
      .map(([k, x]) => `${k}: ${yamlish(x)}`)
      .join(", ")}}`;
  return String(v);
}

/** Rows for every field of `spec`, depth first; `prefix` names the enclosing field. */
export function rows(spec: ObjectSpec, prefix = ""): Row[] {
  const out: Row[] = [];
  for (const [name, field] of Object.entries(spec.fields)) {
    const path = prefix + name;
    out.push({
      field: path,
      accepts: accepts(field),
      default: defaultOf(field, (spec.required ?? []).includes(name)),
      doc: field.doc ?? "",
    });
    if (field.type === "object") out.push(...rows(field, `${path}.`));
    if (field.type === "list" && field.items.type === "object")
      out.push(...rows(field.items, `${path}[].`));
    if (field.type === "map" && field.values.type === "object")
      out.push(...rows(field.values, `${path}.<key>.`));
  }
  return out;
}

/** A cell's text: a `|` would end the cell, a line break the row. */
function cell(s: string): string {
  return s.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");
}

/** The markdown table of `spec` (unaligned: prettier aligns it), or a sentence when it has no fields. */
export function specTable(spec: ObjectSpec, firstColumn: string, empty: string): string {
  const all = rows(spec);
  if (all.length === 0) return empty;
  const lines = [
    `| ${firstColumn} | accepts | default | meaning |`,
    "| --- | --- | --- | --- |",
    ...all.map(
      (r) =>
        `| ${[code(r.field), r.accepts, r.default, r.doc].map(cell).join(" | ")} |`,
    ),
  ];
  return lines.join("\n");
}
