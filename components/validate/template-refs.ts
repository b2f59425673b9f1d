import { truncate } from "./schema";

/** The longest text between `{{` and `}}` (names are short; this bounds the work per reference). */
const MAX_REFERENCE = 128;

/**
 * Whether an env value's `{{ contract.field }}` references are well formed: the same answer as
 * `parseTemplate` (components/interpolate.ts) gives, found in linear time whatever the text.
 * Its regular expression backtracks on `{{` followed by long runs of spaces; a value that
 * passes here holds only short, closed references, which it reads in linear time.
 */
export function templateError(value: string): string | undefined {
  let stripped = "";
  let from = 0;
  let i = 0;
  for (;;) {
    const open = value.indexOf("{{", i);
    if (open < 0) break;
    // The reference runs to the first brace after `{{`; it is one when that brace starts `}}`.
    let close = open + 2;
    while (close < value.length && value[close] !== "{" && value[close] !== "}") close++;
    if (value.startsWith("}}", close)) {
      const inner = value.slice(open + 2, close);
      const text = inner.trim();
      if (inner.length > MAX_REFERENCE)
        return `"{{ ${truncate(text)} }}" is longer than ${MAX_REFERENCE} characters`;
      const parts = text.split(".");
      if (parts.length !== 2 || !parts[0] || !parts[1])
        return `"{{ ${truncate(text)} }}" is not of the form {{ contract.field }}`;
      stripped += value.slice(from, open);
      from = i = close + 2;
    } else i = open + 1;
  }
  stripped += value.slice(from);
  if (stripped.includes("{{") || stripped.includes("}}")) return "has an unbalanced {{ or }}";
  return undefined;
}
