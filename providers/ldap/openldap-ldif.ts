/**
 * LDIF lines (RFC 2849) exactly as OpenLDAP's `ldapsearch -o ldif-wrap=no` prints them, so the
 * provisioning script can compare an entry it wants with the entry the server holds line by
 * line: a value that is not plain printable ASCII, starts with a space, `:` or `<`, or ends with
 * a space is written base64 (`attr:: ...`); an empty one is `attr:`.
 */
export function ldifLine(attribute: string, value: string): string {
  if (value === "") return `${attribute}:`;
  const plain = /^[\x20-\x7e]*$/.test(value) && !/^[ :<]/.test(value) && !/ $/.test(value);
  return plain
    ? `${attribute}: ${value}`
    : `${attribute}:: ${Buffer.from(value, "utf8").toString("base64")}`;
}

/** One entry as LDIF: its `dn:` line, then an attribute line per value. */
export function entryLdif(
  dn: string,
  attributes: ReadonlyArray<readonly [string, string]>,
): string {
  return [ldifLine("dn", dn), ...attributes.map(([a, v]) => ldifLine(a, v))].join("\n");
}
