/**
 * `{{ database.url }}` inside an env value. No lazy quantifier next to `\s*`: that backtracks
 * quadratically on `{{` followed by many spaces; the captured text is trimmed instead.
 */
export const REF = /\{\{([^{}]*)\}\}/g;

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
