/**
 * Replaces every known secret value in printed text with `***`, longest first (a value that
 * contains another is masked whole). Values under 4 characters are left alone: masking "on"
 * or "1" would garble every line and hide nothing worth hiding.
 */
export function secretMasker(values: Iterable<string>): (text: string) => string {
  const distinct = [...new Set([...values].filter((v) => v.length >= 4))].sort(
    (a, b) => b.length - a.length,
  );
  if (distinct.length === 0) return (text) => text;
  const pattern = new RegExp(distinct.map(escapeRegExp).join("|"), "g");
  return (text) => text.replace(pattern, "***");
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Splits a stream into lines so a secret is masked even when it arrives in two chunks;
 * `end()` flushes a last line without a newline.
 */
export function maskedLines(
  mask: (text: string) => string,
  write: (line: string) => void,
): { push(chunk: string): void; end(): void } {
  let pending = "";
  return {
    push(chunk) {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) write(`${mask(line)}\n`);
    },
    end() {
      if (pending) write(`${mask(pending)}\n`);
      pending = "";
    },
  };
}
