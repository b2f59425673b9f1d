import { strict as assert } from "assert";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import * as YAML from "yaml";
import { validateConfig } from "../../components/validate-config";
import { rawFromConfigMap } from "../../components/stack-file";
import { registry } from "../../providers";
import { parseDuration } from "../../cli/duration";
import {
  configKey,
  derivePreviewConfig,
  portClaims,
  securePaths,
} from "../../cli/preview-env-config";
import {
  parseOpenList,
  parsePr,
  prOfStack,
  previewHost,
  previewStackName,
} from "../../cli/preview-env-names";
import { freePorts, portBase } from "../../cli/preview-env-ports";
import { selectForPrune } from "../../cli/preview-env-prune";

const root = path.join(__dirname, "..", "..");
const readConfig = (file: string) =>
  (YAML.parse(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> }).config;
const planOf = (config: Record<string, unknown>, stack: string) => {
  const { plan, issues } = validateConfig(rawFromConfigMap(config), stack, registry);
  assert.deepEqual(issues, []);
  return plan!;
};
const origin = { pr: 14, from: "dev", createdAt: "2026-11-20T10:00:00.000Z" };
/** Ports from 30000 up: what a chooser hands out, one each. */
const counter = () => {
  let next = 30000;
  return () => next++;
};

describe("preview environments: names and hosts", () => {
  it("names PR 14's stack pr-14 and reads the number back only from such names", () => {
    assert.equal(previewStackName(14), "pr-14");
    assert.equal(prOfStack("pr-14"), 14);
    for (const other of ["dev", "pr-", "pr-0", "pr-014", "pr-14a", "xpr-14"])
      assert.equal(prOfStack(other), undefined, other);
  });

  it("reads --pr 14 and #14, and refuses anything else with a hint", () => {
    assert.equal(parsePr("14").pr, 14);
    assert.equal(parsePr("#14").pr, 14);
    for (const bad of [undefined, "", "0", "-3", "14.5", "abc", "123456789"]) {
      const { pr, issue } = parsePr(bad);
      assert.equal(pr, undefined, String(bad));
      assert.equal(issue?.path, "--pr");
      assert.match(issue?.hint ?? "", /--pr 14/);
    }
  });

  it("reads the open list with commas, spaces and #, empty for none", () => {
    assert.deepEqual([...parseOpenList("3, #14 15").open!], [3, 14, 15]);
    assert.equal(parseOpenList("").open!.size, 0);
    assert.equal(parseOpenList("3,x").issue?.path, "--open");
  });

  it("serves every route of the dev stack at <subdomain>-pr-14.<domain>, the SSO portal too", () => {
    const dev = readConfig(path.join(root, "stacks", "Pulumi.dev.yaml"));
    const template = planOf(dev, "dev");
    const { config } = derivePreviewConfig(dev, {
      origin,
      plan: template,
      choosePort: counter(),
    });
    const preview = planOf(config, "pr-14");
    const hosts = (p: typeof preview) =>
      Object.entries(p.providers.find((x) => x.contract === "proxy")!.requests).map(([who, r]) => [
        who,
        (r as { host: string }).host,
      ]);
    assert.deepEqual(Object.fromEntries(hosts(preview)), {
      ...Object.fromEntries(
        hosts(template).map(([who, host]) => [
          who,
          host.replace(/^([^.]+)\.psf\.localhost$/, "$1-pr-14.psf.localhost"),
        ]),
      ),
    });
    assert.ok(hosts(preview).some(([, h]) => h === "auth-pr-14.psf.localhost"));
    assert.ok(hosts(preview).some(([, h]) => h === previewHost("whoami", "psf.localhost", 14)));
  });

  it("refuses a preview whose suffixed host label would pass 63 characters, at the subdomain", () => {
    const long = "a".repeat(60);
    const { issues } = validateConfig(
      rawFromConfigMap({
        "psf:domain": "example.org",
        "psf:preview": origin,
        "psf:services": { [long.slice(0, 40)]: { image: "x/y:1", subdomain: long } },
      }),
      "pr-14",
      registry,
    );
    const issue = issues.find((i) => i.path.endsWith(".subdomain"));
    assert.ok(issue, JSON.stringify(issues));
    assert.match(issue.message, /"a{60}-pr-14" is 66 characters; at most 63/);
  });

  it("refuses a psf:preview whose creation time is not a date", () => {
    const { issues } = validateConfig(
      rawFromConfigMap({
        "psf:domain": "example.org",
        "psf:preview": { ...origin, createdAt: "last tuesday" },
      }),
      "pr-14",
      registry,
    );
    assert.deepEqual(
      issues.map((i) => i.path),
      ["preview.createdAt"],
    );
  });
});

describe("preview environments: the derived stack config", () => {
  const templateFile = path.join(root, "test", "e2e", "fixtures", "Pulumi.psf-preview-e2e.yaml");
  const template = readConfig(templateFile);
  const plan = planOf(template, "psf-preview-e2e");

  it("gives the preview its own network and host ports, none of the template's", () => {
    const { config, ports } = derivePreviewConfig(template, {
      origin,
      plan,
      choosePort: counter(),
    });
    assert.equal((config["psf:target"] as { network?: string }).network, undefined);
    const proxy = (config["psf:providers"] as Record<string, Record<string, unknown>>).proxy;
    assert.deepEqual([proxy.httpPort, proxy.httpsPort], [30000, 30001]);
    assert.deepEqual(
      ports.map((p) => [p.what, p.port]),
      [
        ["nginx http", 30000],
        ["nginx https", 30001],
      ],
    );
    // The template file is untouched: its own ports are still 28080/28443.
    assert.equal(
      (template["psf:providers"] as Record<string, Record<string, unknown>>).proxy.httpsPort,
      28443,
    );
    const preview = planOf(config, "pr-14");
    assert.equal(preview.stack.hostSuffix, "-pr-14");
    assert.deepEqual(preview.stack.preview, origin);
  });

  it("moves services' published ports and a Kubernetes namespace too", () => {
    const t = structuredClone(template) as Record<string, any>;
    t["psf:services"].demo.publish = [{ host: 5432, container: 5432 }];
    t["psf:target"] = { kind: "kubernetes", namespace: "apps" };
    const { config } = derivePreviewConfig(t, {
      origin,
      plan: planOf(t, "t"),
      choosePort: counter(),
    });
    const c = config as Record<string, any>;
    assert.equal(c["psf:services"].demo.publish[0].host, 30002);
    assert.equal(c["psf:target"].namespace, "apps-pr-14");
  });

  it("copies no secret: secure values are left to generate, hardcoded secrets become generated", () => {
    const t = structuredClone(template) as Record<string, any>;
    t["psf:services"].demo.env.API_TOKEN = { secure: "v1:template-ciphertext" };
    t["psf:secrets"] = { smtp: { secure: "v1:other" } };
    t["psf:providers"].secrets = { use: "hardcoded", values: { demo: "s3cret" } };
    t["psf:providers"].backup = {
      use: "borg",
      repository: "ssh://backup@example.org/./repo",
      sshKey: "smtp",
    };
    t["psf:services"].demo.needs.backup = { database: true };
    assert.deepEqual(securePaths(t), [
      ["psf:services", "demo", "env", "API_TOKEN"],
      ["psf:secrets", "smtp"],
    ]);
    const { config, generate } = derivePreviewConfig(t, {
      origin,
      plan: planOf(t, "t"),
      choosePort: counter(),
    });
    assert.deepEqual(generate.map(configKey), [
      "psf:services.demo.env.API_TOKEN",
      "psf:secrets.smtp",
    ]);
    const text = JSON.stringify(config);
    for (const copied of ["template-ciphertext", "v1:other", "s3cret", "example.org/./repo"])
      assert.ok(!text.includes(copied), copied);
    const c = config as Record<string, any>;
    assert.deepEqual(c["psf:providers"].secrets, { use: "generated" });
  });

  it("keeps on a second up the ports, secrets and creation time of the first", () => {
    const t = structuredClone(template) as Record<string, any>;
    t["psf:services"].demo.env.API_TOKEN = { secure: "v1:template" };
    const first = derivePreviewConfig(t, { origin, plan, choosePort: counter() });
    const previous = structuredClone(first.config) as Record<string, any>;
    previous["psf:services"].demo.env.API_TOKEN = { secure: "v1:preview-own" };
    const second = derivePreviewConfig(t, {
      origin,
      plan,
      previous,
      choosePort: () => assert.fail("no new port on a second up"),
    });
    assert.deepEqual(second.generate, []);
    assert.deepEqual(second.config, previous);
  });

  it("writes config paths as pulumi config set --path reads them", () => {
    assert.equal(
      configKey(["psf:services", "demo", "publish", 0, "host"]),
      "psf:services.demo.publish[0].host",
    );
    assert.equal(configKey(["psf:services", "demo", "env", "a.b"]), 'psf:services.demo.env["a.b"]');
  });

  it("lists the template's host ports with the settings that choose them", () => {
    assert.deepEqual(
      portClaims(plan).map((c) => [configKey(c.path), c.port, c.address]),
      [
        ["psf:providers.proxy.httpPort", 28080, "127.0.0.1"],
        ["psf:providers.proxy.httpsPort", 28443, "127.0.0.1"],
      ],
    );
  });
});

describe("preview environments: ports", () => {
  it("skips ports other stacks claim and a port something listens on", async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const busy = (server.address() as net.AddressInfo).port;
    try {
      const ports = await freePorts(3, busy - 1, new Set([busy - 1, busy + 1]));
      assert.ok(!ports.includes(busy) && !ports.includes(busy - 1) && !ports.includes(busy + 1));
      assert.equal(ports.length, 3);
      assert.ok(ports.every((p) => p > busy + 1));
    } finally {
      server.close();
    }
  });

  it("starts PR N's search at 20000 + 100 × (N mod 120), below the ephemeral range", () => {
    assert.equal(portBase(14), 21400);
    assert.equal(portBase(134), 21400);
    for (let pr = 1; pr < 500; pr++) assert.ok(portBase(pr) + 99 < 32768);
  });
});

describe("preview environments: prune selection", () => {
  const now = new Date("2026-11-28T12:00:00Z");
  const p = (pr: number, created?: string) => ({
    stack: `pr-${pr}`,
    pr,
    createdAt: created ? new Date(created) : undefined,
  });
  const previews = [p(1, "2026-11-27T12:00:00Z"), p(2, "2026-11-10T12:00:00Z"), p(3)];

  it("removes the previews whose PR is not open", () => {
    const out = selectForPrune(previews, { open: new Set([1, 2]), now });
    assert.deepEqual(
      out.map((x) => [x.stack, x.reason]),
      [["pr-3", "PR #3 is not open"]],
    );
  });

  it("removes the previews older than the bound, keeping those of unknown age", () => {
    const out = selectForPrune(previews, { olderThanMs: parseDuration("7d")!, now });
    assert.deepEqual(
      out.map((x) => [x.stack, x.reason]),
      [["pr-2", "created 18d ago"]],
    );
  });

  it("removes by either rule when both are given, with both reasons", () => {
    const out = selectForPrune(previews, {
      open: new Set([1]),
      olderThanMs: parseDuration("7d")!,
      now,
    });
    assert.deepEqual(
      out.map((x) => [x.stack, x.reason]),
      [
        ["pr-2", "PR #2 is not open; created 18d ago"],
        ["pr-3", "PR #3 is not open"],
      ],
    );
  });

  it("reads 7d as seven days", () => {
    assert.equal(parseDuration("7d"), 7 * 24 * 3600 * 1000);
  });
});
