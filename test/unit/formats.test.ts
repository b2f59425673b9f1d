import { strict as assert } from "assert";
import {
  FormatName,
  MAX_BASE_DOMAIN,
  absolutePath,
  baseDomain,
  cpu,
  cron,
  dnsLabel,
  dnsName,
  email,
  envName,
  formatExamples,
  formats,
  imageRef,
  ldapDn,
  memory,
  resourceName,
  size,
  sqlIdentifier,
  url,
  urlPath,
} from "../../components/validate/formats";

/** Each check returns undefined for a valid value and a reason (containing `why`) otherwise. */
function accepts(check: (v: string) => string | undefined, values: string[]): void {
  for (const v of values) assert.equal(check(v), undefined, `${JSON.stringify(v)} should be valid`);
}
function rejects(check: (v: string) => string | undefined, cases: Array<[string, string]>): void {
  for (const [v, why] of cases) {
    const reason = check(v);
    assert.ok(reason, `${JSON.stringify(v)} should be invalid`);
    assert.ok(reason.includes(why), `${JSON.stringify(v)}: "${reason}" should mention "${why}"`);
  }
}

describe("config formats", () => {
  it("accepts DNS names and refuses empty, upper-case, over-long and malformed ones", () => {
    accepts(
      (v) => dnsName(v),
      [
        "example.org",
        "localhost",
        "a-b.example.org",
        "x1.y2.example.co.uk",
        `${"a".repeat(63)}.org`,
      ],
    );
    rejects(
      (v) => dnsName(v),
      [
        ["", "must not be empty"],
        ["Example.org", "lower case"],
        ["example..org", "empty label"],
        [".example.org", "empty label"],
        ["example.org.", "empty label"],
        [`${"a".repeat(64)}.org`, "at most 63"],
        [`${"a.".repeat(127)}org`, "at most 253"],
        ["-bad.example.org", 'label "-bad"'],
        ["bad-.example.org", 'label "bad-"'],
        ["under_score.example.org", 'label "under_score"'],
        ["*.example.org", "must not be a wildcard here"],
      ],
    );
  });

  it("accepts a wildcard only as the whole first label of at least a two-label name", () => {
    accepts((v) => dnsName(v, true), ["*.example.org", "*.apps.example.org", "example.org"]);
    rejects(
      (v) => dnsName(v, true),
      [
        ["*.org", "at least two labels"],
        ["*", "at least two labels"],
        ["a.*.example.org", "only as the whole first label"],
        ["*foo.example.org", "only as the whole first label"],
        ["*.*.example.org", "only as the whole first label"],
      ],
    );
  });

  it("accepts DNS labels and resource names within their length limits", () => {
    accepts(dnsLabel, ["whoami", "a", "0day", "my-app", "a".repeat(63)]);
    rejects(dnsLabel, [
      ["", "must not be empty"],
      ["a".repeat(64), "at most 63"],
      ["My-App", "a-z, 0-9"],
      ["my_app", "a-z, 0-9"],
      ["-app", "a-z, 0-9"],
    ]);
    accepts(resourceName, ["data", "notes-db", "a".repeat(40)]);
    rejects(resourceName, [
      ["", "must not be empty"],
      ["a".repeat(41), "at most 40"],
      ["1data", "must start with a-z"],
      ["data-", "must start with a-z"],
      ["Data", "must start with a-z"],
    ]);
  });

  it("accepts absolute http(s) URLs only", () => {
    accepts(
      (v) => url(v),
      ["https://auth.example.org", "http://localhost:9091/api/verify", "https://example.org/a?b=c"],
    );
    rejects(
      (v) => url(v),
      [
        ["", "is not a URL"],
        ["auth.example.org", "is not a URL"],
        ["/oauth2/callback", "is not a URL"],
        ["ftp://files.example.org", 'scheme "ftp"'],
        ["javascript:alert(1)", 'scheme "javascript"'],
        ["https://exa mple.org", "is not a URL"],
      ],
    );
  });

  it("accepts URL paths and absolute container paths", () => {
    accepts(urlPath, ["/", "/oauth2/callback", "/api/v1?x=1"]);
    rejects(urlPath, [
      ["oauth2/callback", "must start with /"],
      ["/a b", "spaces"],
    ]);
    accepts(absolutePath, ["/data", "/var/lib/postgresql/data", "/"]);
    rejects(absolutePath, [
      ["data", "absolute"],
      ["", "absolute"],
      ["/var/lib/../etc", "`..`"],
      ["/my data", "spaces"],
    ]);
  });

  it("accepts sizes like 512M and refuses units nginx would not read", () => {
    accepts(size, ["0", "512M", "512m", "10k", "1G", "100"]);
    rejects(size, [
      ["", "not a size"],
      ["512MB", "not a size"],
      ["1.5G", "not a size"],
      ["-1", "not a size"],
      ["1T", "not a size"],
      ["M", "not a size"],
    ]);
  });

  it("accepts memory and CPU quantities as Docker and Kubernetes read them", () => {
    accepts(memory, ["512Mi", "512M", "512m", "1G", "1Gi", "64k", "134217728"]);
    rejects(memory, [
      ["", "not a memory size"],
      ["1.5G", "not a memory size"],
      ["512MB", "not a memory size"],
      ["0", "not a memory size"],
      ["lots", "not a memory size"],
    ]);
    accepts(cpu, ["0.5", "2", "1.25", "500m", "100m"]);
    rejects(cpu, [
      ["", "not a CPU amount"],
      ["0", "not a CPU amount"],
      ["half", "not a CPU amount"],
      ["500M", "not a CPU amount"],
      ["-1", "not a CPU amount"],
    ]);
  });

  it("accepts 5-field cron schedules with ranges, lists and steps, and names the bad field", () => {
    accepts(cron, [
      "0 3 * * *",
      "*/15 * * * *",
      "0 0 1-5 * 1,3,5",
      "30 2 1 1 0",
      "59 23 31 12 7",
      " 0 3 * * * ",
      "0-30/10 * * * *",
    ]);
    rejects(cron, [
      ["", "a cron schedule has 5"],
      ["0 3 * *", "has 4 fields"],
      ["0 3 * * * *", "has 6 fields"],
      ["@daily", "has 1 fields"],
      ["60 * * * *", 'minute "60" is outside 0-59'],
      ["0 24 * * *", 'hour "24" is outside 0-23'],
      ["0 3 0 * *", 'day of month "0" is outside 1-31'],
      ["0 3 * 13 *", 'month "13" is outside 1-12'],
      ["0 3 * * 8", 'day of week "8" is outside 0-7'],
      ["5-1 * * * *", 'minute range "5-1" is reversed'],
      ["*/0 * * * *", "step must be at least 1"],
      ["a * * * *", 'minute "a" is not a number'],
      ["0 3 * * MON", 'day of week "MON" is not a number'],
    ]);
  });

  it("accepts LDAP DNs with escaped commas and refuses things that are not attr=value lists", () => {
    accepts(ldapDn, [
      "dc=example,dc=org",
      "uid=alice,ou=people,dc=example,dc=org",
      "cn=Smith\\, John,dc=example,dc=org",
      "ou=people, dc=example",
    ]);
    rejects(ldapDn, [
      ["", "must not be empty"],
      ["example.org", "is not attr=value"],
      ["dc=example,,dc=org", "is not attr=value"],
      ["dc=", "is not attr=value"],
      ["=example", "is not attr=value"],
    ]);
  });

  it("accepts image references with registry, port, tag and digest", () => {
    const digest = "a".repeat(64);
    accepts(imageRef, [
      "postgres",
      "postgres:15",
      "traefik/whoami:v1.10",
      "ghcr.io/owner/app:1.2.3",
      "localhost:5000/team/app",
      "registry.example.org:5000/team/app:1.0",
      `postgres@sha256:${digest}`,
      `ghcr.io/owner/app:1.2.3@sha256:${digest}`,
    ]);
    rejects(imageRef, [
      ["", "must not be empty"],
      ["Not An Image", "not an image reference"],
      ["owner/App", "not an image reference"],
      ["app:", "not an image reference"],
      ["app:1:2", "not an image reference"],
      ["app:-tag", "not an image reference"],
      ["app@sha256:abc", "not an image reference"],
      [`${"a".repeat(256)}`, "longer than 255"],
    ]);
  });

  it("accepts env names, email addresses and SQL identifiers", () => {
    accepts(envName, ["DATABASE_URL", "_x", "a1"]);
    rejects(envName, [
      ["1BAD", "must match"],
      ["MY-VAR", "must match"],
      ["", "must match"],
    ]);
    accepts(email, ["alice@example.org", "a.b+c@sub.example.co"]);
    rejects(email, [
      ["alice", "not an email"],
      ["alice@localhost", "not an email"],
      ["a b@example.org", "not an email"],
    ]);
    accepts(sqlIdentifier, ["notes", "my_app", "_x", "a".repeat(63)]);
    rejects(sqlIdentifier, [
      ["", "must not be empty"],
      ["a".repeat(64), "at most 63"],
      ["1app", "must use only"],
      ["my-app", "must use only"],
      ["Notes", "must use only"],
    ]);
  });

  it("refuses DNS names that URLs read otherwise: IP addresses, numeric last labels, bad punycode", () => {
    rejects(
      (v) => dnsName(v),
      [
        ["10.0.0.1", "is an IP address"],
        ["192.168.1.254", "is an IP address"],
        ["example.123", 'numeric label "123"'],
        ["example.0x1f", 'numeric label "0x1f"'],
        ["1.2.3", 'numeric label "3"'],
        ["xn--a.example.org", "not a host name a URL can hold"],
      ],
    );
    accepts((v) => dnsName(v), ["1.2.3.example.org", "123.example.org", "x1.y2.z3", "a--b.org"]);
    // What passes is a host of a URL, under any subdomain, as Node reads it.
    for (const name of ["example.org", "a-b.c0.org", "xn--nxasmq6b.com", "1.2.3.example.org"])
      assert.equal(new URL(`https://auth.${name}:8443/`).hostname, `auth.${name}`);
  });

  it("accepts a base domain with room for a 63-character subdomain, and no longer", () => {
    const label = "a".repeat(63);
    const at = `${label}.${label}.${"b".repeat(189 - 128 - 4)}.org`;
    assert.equal(at.length, MAX_BASE_DOMAIN);
    accepts(baseDomain, ["example.org", "psf.localhost", at]);
    rejects(baseDomain, [
      [`${"a".repeat(61)}.${"a".repeat(60)}.${"b".repeat(63)}.org`, `at most ${MAX_BASE_DOMAIN}`],
      ["10.0.0.1", "is an IP address"],
      ["Example.org", "lower case"],
    ]);
    assert.equal(dnsName(`${label}.${at}`), undefined, "its longest host is a DNS name");
  });

  it("refuses over-long values before any pattern looks at them", () => {
    // No regular expression may see a value over its limit: backtracking over 200,000
    // characters is where a pattern turns quadratic (or worse).
    const seen: number[] = [];
    const { exec, test } = RegExp.prototype;
    RegExp.prototype.exec = function (this: RegExp, s: string) {
      seen.push(String(s).length);
      return exec.call(this, s);
    };
    RegExp.prototype.test = function (this: RegExp, s: string) {
      seen.push(String(s).length);
      return test.call(this, s);
    };
    try {
      rejects(email, [["a@" + ".b".repeat(200_000) + " ", "at most 254"]]);
      rejects(cron, [["* ".repeat(100_000), "at most 255"]]);
      rejects((v) => url(v), [[`https://example.org/${"a".repeat(5000)}`, "at most 2048"]]);
      rejects(urlPath, [[`/${"a".repeat(5000)}`, "at most 2048"]]);
      rejects(absolutePath, [[`/${"a".repeat(5000)}`, "at most 4096"]]);
      rejects(ldapDn, [[`dc=${"a".repeat(5000)}`, "at most 1024"]]);
      rejects(envName, [["A".repeat(300), "at most 255"]]);
    } finally {
      RegExp.prototype.exec = exec;
      RegExp.prototype.test = test;
    }
    assert.ok(
      seen.every((n) => n <= 4096),
      `a pattern saw ${Math.max(...seen)} characters`,
    );
    // Numbers have no length limit of their own: their patterns are linear.
    rejects(cpu, [["1".repeat(100_000) + "x", "not a CPU amount"]]);
    rejects(size, [["1".repeat(100_000), "not a size"]]);
    rejects(memory, [["1".repeat(100_000), "not a memory size"]]);
  });

  it("gives hint examples that pass their own format", () => {
    for (const [name, example] of Object.entries(formatExamples) as Array<[FormatName, string]>) {
      for (const e of example.split(" or "))
        assert.equal(formats[name](e), undefined, `hint example for ${name}: ${e}`);
    }
  });
});
