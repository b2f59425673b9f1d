import * as pulumi from "@pulumi/pulumi";
import { ContractName, ContractResult } from "./contract";
import { REF, parseTemplate } from "./template";

/**
 * Renders a template with contract results. The output is secret exactly when one of
 * the results it embeds is secret (Pulumi carries that through `apply` and `all`). A template
 * without references stays a plain string, and one reference maps its Output directly:
 * `all` would copy it first (these run once per env value of every service).
 */
export function render(
  template: string,
  results: Partial<Record<ContractName, ContractResult>>,
): pulumi.Input<string> {
  const { refs } = parseTemplate(template);
  if (refs.length === 0) return template;
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
  const fill = (vs: unknown[]) => {
    let i = 0;
    return template.replace(REF, () => String(vs[i++]));
  };
  if (values.length === 1) return values[0].apply((v: unknown) => fill([v]));
  return pulumi.all(values).apply(fill);
}
