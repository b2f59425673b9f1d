import * as pulumi from "@pulumi/pulumi";
import { CONTRACT_NAMES, ContractName, ContractResult } from "./contract";

/**
 * `{{ database.url }}` inside an env value. No lazy quantifier next to `\s*`: that backtracks
 * quadratically on `{{` followed by many spaces; the captured text is trimmed instead.
 */
const REF = /\{\{([^{}]*)\}\}/g;

export interface TemplateRef {
  contract: string;
  field: string;
  /** The raw text between the braces, for error messages. */
  text: string;
}

/** The contract references in `template`, or a reason it is malformed. */
export function parseTemplate(template: string): { refs: TemplateRef[]; error?: string } {
  const refs: TemplateRef[] = [];
  for (const m of template.matchAll(REF)) {
    const text = m[1].trim();
    const parts = text.split(".");
    if (parts.length !== 2 || !parts[0] || !parts[1])
      return { refs, error: `"{{ ${text} }}" is not of the form {{ contract.field }}` };
    refs.push({ contract: parts[0], field: parts[1], text });
  }
  const stripped = template.replace(REF, "");
  if (stripped.includes("{{") || stripped.includes("}}"))
    return { refs, error: "has an unbalanced {{ or }}" };
  return { refs };
}

export function isContract(name: string): name is ContractName {
  return (CONTRACT_NAMES as readonly string[]).includes(name);
}

/**
 * Renders a template with contract results. The output is secret exactly when one of
 * the results it embeds is secret (Pulumi carries that through `all`).
 */
export function render(
  template: string,
  results: Partial<Record<ContractName, ContractResult>>,
): pulumi.Output<string> {
  const { refs } = parseTemplate(template);
  if (refs.length === 0) return pulumi.output(template);
  const values = refs.map((r) => {
    const result = results[r.contract as ContractName];
    if (result === undefined)
      throw new Error(`bug: unresolved reference {{ ${r.text} }} passed validation`);
    const v = result[r.field];
    // Optional result fields (ssl.caPem, ldap.adminUrl) may be absent: a user error, not a bug.
    if (v === undefined)
      throw new pulumi.RunError(
        `{{ ${r.text} }}: the configured ${r.contract} provider gives no "${r.field}"; remove the reference or choose a provider that gives it`,
      );
    return v;
  });
  return pulumi.all(values).apply((vs) => {
    let i = 0;
    return template.replace(REF, () => String(vs[i++]));
  });
}
