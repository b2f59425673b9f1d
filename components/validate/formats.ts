/**
 * Format checks for strings in the stack config. Each returns `undefined` when valid,
 * else a short reason; callers attach the path and a hint.
 */

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A DNS name such as `example.org`; `allowWildcard` accepts a leading `*.` label. */
export function dnsName(value: string, allowWildcard = false): string | undefined {
  if (value.length === 0) return "must not be empty";
  if (value.length > 253) return `is ${value.length} characters long; a DNS name has at most 253`;
  if (value !== value.toLowerCase()) return "must be lower case";
  const labels = value.split(".");
  if (labels[0] === "*") {
    if (!allowWildcard) return "must not be a wildcard here";
    labels.shift();
    if (labels.length < 2) return "a wildcard needs at least two labels after `*.`";
  }
  for (const label of labels) {
    if (label.length === 0)
      return "has an empty label (two dots in a row, or a leading/trailing dot)";
    if (label.length > 63) return `has a label of ${label.length} characters; at most 63`;
    if (label.includes("*")) return "may use `*` only as the whole first label";
    if (!LABEL.test(label)) return `label "${label}" may use only a-z, 0-9 and inner hyphens`;
  }
  // URLs (WHATWG, as Node, browsers and every provider parse them) read a name whose last label
  // is a number as an IPv4 address: `10.0.0.1` and `example.123` make no `https://auth.<name>`.
  const last = labels[labels.length - 1];
  if (/^(\d+|0x[0-9a-f]*)$/.test(last))
    return isIPv4(value)
      ? "is an IP address; a DNS name is needed here"
      : `ends in the numeric label "${last}", which URLs read as an IP address`;
  // What passes here must work as the host of a URL (e.g. an `xn--` label that is not punycode).
  const host = `x.${labels.join(".")}`;
  let parsed: string | undefined;
  try {
    parsed = new URL(`https://${host}/`).hostname;
  } catch {
    parsed = undefined;
  }
  if (parsed !== host) return "is not a host name a URL can hold";
  return undefined;
}

function isIPv4(value: string): boolean {
  return /^(\d{1,3}\.){3}\d{1,3}$/.test(value);
}

/** Longest base domain: room for a 63-character subdomain label (`<label>.<domain>` ≤ 253). */
export const MAX_BASE_DOMAIN = 253 - 64;

/** A base domain: a DNS name under which every `<subdomain>.<domain>` is a DNS name too. */
export function baseDomain(value: string): string | undefined {
  const bad = dnsName(value, false);
  if (bad) return bad;
  if (value.length > MAX_BASE_DOMAIN)
    return `is ${value.length} characters long; a base domain has at most ${MAX_BASE_DOMAIN} (room for a subdomain of up to 63)`;
  return undefined;
}

/** One DNS label: a subdomain or a service name usable as a hostname. */
export function dnsLabel(value: string): string | undefined {
  if (value.length === 0) return "must not be empty";
  if (value.length > 63) return `is ${value.length} characters long; at most 63`;
  if (!LABEL.test(value)) return "may use only a-z, 0-9 and inner hyphens";
  return undefined;
}

/** Names of services, volumes and jobs: DNS labels that also work as Docker/K8s names. */
export function resourceName(value: string, max = 40): string | undefined {
  if (value.length === 0) return "must not be empty";
  if (value.length > max) return `is ${value.length} characters long; at most ${max}`;
  if (!/^[a-z]([a-z0-9-]*[a-z0-9])?$/.test(value))
    return "must start with a-z and use only a-z, 0-9 and inner hyphens";
  return undefined;
}

/** An absolute http(s) URL. */
export function url(value: string, schemes = ["http", "https"]): string | undefined {
  if (value.length > 2048) return `is ${value.length} characters long; at most 2048`;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return "is not a URL";
  }
  const scheme = parsed.protocol.replace(/:$/, "");
  if (!schemes.includes(scheme)) return `scheme "${scheme}" is not one of ${schemes.join(", ")}`;
  if (!parsed.hostname) return "has no host";
  return undefined;
}

/** An absolute URL path, e.g. `/oauth2/callback`. */
export function urlPath(value: string): string | undefined {
  if (value.length > 2048) return `is ${value.length} characters long; at most 2048`;
  if (!value.startsWith("/")) return "must start with /";
  if (/\s/.test(value)) return "must not contain spaces";
  return undefined;
}

/** An absolute path inside a container. */
export function absolutePath(value: string): string | undefined {
  if (value.length > 4096) return `is ${value.length} characters long; at most 4096`;
  if (!value.startsWith("/")) return "must be an absolute path";
  if (value.includes("\0") || /\s/.test(value)) return "must not contain spaces";
  if (value.split("/").includes("..")) return "must not contain `..`";
  return undefined;
}

/** Bytes in a value the `size` format accepted (`512M`, `64k`, a bare number of bytes). */
export function sizeBytes(size: string): number {
  const m = /^(\d+)([kKmMgG]?)$/.exec(size);
  if (!m) throw new Error(`bug: ${size} passed the size format`);
  return (
    Number(m[1]) *
    { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as "" | "k" | "m" | "g"]
  );
}

/** A size such as `512M`, `1G`, `10k`, `0` (nginx/units: bytes with an optional k/m/g). */
export function size(value: string): string | undefined {
  if (value.length > 20) return "is not a size like 512M, 10k or 1G";
  if (!/^[0-9]+[kKmMgG]?$/.test(value)) return "is not a size like 512M, 10k or 1G";
  return undefined;
}

/** A memory quantity: bytes, or a k/M/G suffix, decimal or binary (`512M`, `512Mi`, `1G`). */
export function memory(value: string): string | undefined {
  if (value.length > 20) return "is not a memory size like 512Mi, 512M or 1G";
  if (!/^[1-9][0-9]*([kKmMgG]i?)?$/.test(value))
    return "is not a memory size like 512Mi, 512M or 1G";
  return undefined;
}

/** A CPU quantity: cores (`0.5`, `2`) or millicores (`500m`). */
export function cpu(value: string): string | undefined {
  if (value.length > 20) return "is not a CPU amount like 0.5 or 500m";
  if (!/^([0-9]+(\.[0-9]{1,3})?|[1-9][0-9]*m)$/.test(value) || /^0+(\.0+)?$/.test(value))
    return "is not a CPU amount like 0.5 or 500m";
  return undefined;
}

const CRON_FIELDS: Array<[string, number, number]> = [
  ["minute", 0, 59],
  ["hour", 0, 23],
  ["day of month", 1, 31],
  ["month", 1, 12],
  ["day of week", 0, 7],
];

/** A 5-field cron schedule (numbers, `*`, ranges, steps and lists). */
export function cron(value: string): string | undefined {
  if (value.length > 255) return `is ${value.length} characters long; at most 255`;
  const fields = value.trim().split(/\s+/);
  if (fields.length !== 5) return `has ${fields.length} fields; a cron schedule has 5`;
  for (let i = 0; i < 5; i++) {
    const [fieldName, min, max] = CRON_FIELDS[i];
    for (const part of fields[i].split(",")) {
      const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
      if (!m) return `${fieldName} "${part}" is not a number, range, * or step`;
      const nums = [m[2], m[3]].filter((n) => n !== undefined).map(Number);
      if (nums.some((n) => n < min || n > max))
        return `${fieldName} "${part}" is outside ${min}-${max}`;
      if (nums.length === 2 && nums[0] > nums[1]) return `${fieldName} range "${part}" is reversed`;
      if (m[4] !== undefined && Number(m[4]) === 0) return `${fieldName} step must be at least 1`;
    }
  }
  return undefined;
}

/** An LDAP distinguished name such as `dc=example,dc=org`. */
export function ldapDn(value: string): string | undefined {
  if (value.length === 0) return "must not be empty";
  if (value.length > 1024) return `is ${value.length} characters long; at most 1024`;
  for (const rdn of value.split(/(?<!\\),/)) {
    if (!/^[A-Za-z][A-Za-z0-9-]*=.+$/.test(rdn.trim())) return `"${rdn}" is not attr=value`;
  }
  return undefined;
}

/** A container image reference: `[registry/]path[:tag][@sha256:digest]`. */
export function imageRef(value: string): string | undefined {
  if (value.length === 0) return "must not be empty";
  if (value.length > 255) return "is longer than 255 characters";
  const re =
    /^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
  if (!re.test(value)) return "is not an image reference like registry/name:tag";
  return undefined;
}

/** An environment variable name. */
export function envName(value: string): string | undefined {
  if (value.length > 255) return `is ${value.length} characters long; at most 255`;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(value)) return "must match [A-Za-z_][A-Za-z0-9_]*";
  return undefined;
}

/** An email address (pragmatic check: one @, a dot in the domain). */
export function email(value: string): string | undefined {
  if (value.length > 254)
    return `is ${value.length} characters long; an email address has at most 254`;
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) return "is not an email address";
  return undefined;
}

/**
 * A Kubernetes label or annotation key: `[prefix/]name`, the prefix a DNS subdomain, the name
 * up to 63 letters, digits, `-`, `_` and `.`, starting and ending alphanumeric.
 */
export function qualifiedName(value: string): string | undefined {
  const slash = value.lastIndexOf("/");
  const [prefix, name] =
    slash < 0 ? [undefined, value] : [value.slice(0, slash), value.slice(slash + 1)];
  if (
    prefix !== undefined &&
    (prefix.length > 253 ||
      !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(prefix))
  )
    return "has a prefix (before /) that is not a DNS subdomain";
  if (name.length === 0 || name.length > 63)
    return "needs a name (after any /) of 1 to 63 characters";
  if (!/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(name))
    return "may use only letters, digits, -, _ and . in its name, starting and ending with a letter or digit";
  return undefined;
}

/** A PostgreSQL/MariaDB identifier we create (database or role name). */
export function sqlIdentifier(value: string): string | undefined {
  if (value.length === 0) return "must not be empty";
  if (value.length > 63) return `is ${value.length} characters long; at most 63`;
  if (!/^[a-z_][a-z0-9_]*$/.test(value))
    return "must use only a-z, 0-9 and _ and not start with a digit";
  return undefined;
}

export const formats = {
  domain: baseDomain,
  dns: (v: string) => dnsName(v, false),
  "dns-wildcard": (v: string) => dnsName(v, true),
  label: dnsLabel,
  name: (v: string) => resourceName(v),
  url: (v: string) => url(v),
  "url-path": urlPath,
  path: absolutePath,
  size,
  memory,
  cpu,
  cron,
  dn: ldapDn,
  image: imageRef,
  env: envName,
  email,
  sql: sqlIdentifier,
  "qualified-name": qualifiedName,
};
export type FormatName = keyof typeof formats;

/** Example of a valid value, for hints. */
export const formatExamples: Record<FormatName, string> = {
  domain: "example.org",
  dns: "example.org",
  "dns-wildcard": "example.org or *.example.org",
  label: "whoami",
  name: "whoami",
  url: "https://auth.example.org",
  "url-path": "/oauth2/callback",
  path: "/var/lib/app",
  size: "512M",
  memory: "512Mi",
  cpu: "500m",
  cron: "0 3 * * *",
  dn: "dc=example,dc=org",
  image: "ghcr.io/owner/app:1.2.3",
  env: "DATABASE_URL",
  email: "alice@example.org",
  sql: "my_app",
  "qualified-name": "cert-manager.io/cluster-issuer",
};
