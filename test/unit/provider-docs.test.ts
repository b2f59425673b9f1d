import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { ProviderDefinition } from "../../components/provider";
import type { Registry } from "../../components/registry";
import { registry } from "../../providers/index";
import {
  CONTRACTS_PAGE,
  PageState,
  beginMarker,
  endMarker,
  pageStates,
  providerPage,
} from "../../scripts/docs/pages";

const ROOT = path.join(__dirname, "..", "..");

function report(states: PageState[]): string {
  const lines = states.flatMap((s) => [...s.problems, ...s.stale]);
  return `${lines.join("\n")}\nrun \`npm run docs\` to rewrite the generated blocks from the specs`;
}

/** A copy of the repository's docs pages in a temporary root, to break without touching them. */
function docsCopy(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "psf-docs-"));
  fs.cpSync(path.join(ROOT, "docs"), path.join(root, "docs"), { recursive: true });
  fs.copyFileSync(path.join(ROOT, ".prettierrc.json"), path.join(root, ".prettierrc.json"));
  return root;
}

/** The registry with one provider replaced. */
function withProvider(
  name: string,
  change: (p: ProviderDefinition) => ProviderDefinition,
): Registry {
  return {
    ...registry,
    providers: registry.providers.map((p) => (p.name === name ? change(p) : p)),
  };
}

describe("provider docs pages (npm run docs)", function () {
  this.timeout(60000);

  it("every registered provider has a page whose settings table is the one its spec gives", async () => {
    const states = await pageStates(ROOT, registry);
    for (const p of registry.providers)
      assert.ok(
        states.some((s) => s.page === providerPage(p) && s.current !== undefined),
        `${p.name} has no page ${providerPage(p)}`,
      );
    const drifted = states.filter((s) => s.current !== s.next || s.stale.length);
    assert.deepEqual(
      drifted.map((s) => s.page),
      [],
      report(drifted),
    );
  });

  it("every contract has its request block in the contracts page", async () => {
    const page = fs.readFileSync(path.join(ROOT, CONTRACTS_PAGE), "utf8");
    for (const c of Object.keys(registry.contracts))
      assert.ok(page.includes(beginMarker("request", c)), `${CONTRACTS_PAGE} lacks ${c}`);
  });

  it("fails when a spec changes and the page does not", async () => {
    const changed = withProvider("selfsigned", (p) => ({
      ...p,
      settings: {
        ...p.settings,
        fields: {
          ...p.settings.fields,
          organization: { type: "string", minLength: 1, maxLength: 64, default: "Changed" },
        },
      },
    }));
    const states = await pageStates(ROOT, changed);
    const page = states.find((s) => s.page === "docs/providers/selfsigned.md")!;
    assert.deepEqual(page.problems, [
      "docs/providers/selfsigned.md: the settings of selfsigned differ from the spec",
    ]);
    assert.match(page.next, /\| `organization` +\| text; 1–64 characters \| `Changed` \|/);
    // Only the block is rewritten: the prose around it stays as written.
    const [before, after] = page.current!.split(
      /<!-- settings:begin[^]*settings:end selfsigned -->/,
    );
    assert.ok(page.next.startsWith(before) && page.next.endsWith(after));
    // Every other page still matches.
    assert.deepEqual(
      states.filter((s) => s !== page && s.problems.length),
      [],
    );
  });

  it("fails when a registered provider has no page, or a page lacks its block", async () => {
    const root = docsCopy();
    try {
      fs.rmSync(path.join(root, "docs", "providers", "borg.md"));
      const nginx = path.join(root, "docs", "providers", "nginx.md");
      const text = fs.readFileSync(nginx, "utf8");
      fs.writeFileSync(
        nginx,
        text.slice(0, text.indexOf(beginMarker("settings", "nginx"))) +
          text.slice(
            text.indexOf(endMarker("settings", "nginx")) + endMarker("settings", "nginx").length,
          ),
      );
      const problems = (await pageStates(root, registry))
        .filter((s) => s.page.endsWith("/nginx.md") || s.page.endsWith("/borg.md"))
        .flatMap((s) => s.problems);
      assert.deepEqual(problems, [
        "docs/providers/nginx.md: no settings block for nginx",
        "docs/providers/borg.md: missing (settings of borg)",
      ]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it("fails on a block for a provider the registry no longer has", async () => {
    const without = {
      ...registry,
      providers: registry.providers.filter((p) => p.name !== "restic"),
    };
    const stale = (await pageStates(ROOT, without)).flatMap((s) => s.stale);
    assert.deepEqual(stale, [
      "docs/providers/restic.md: a settings block for restic, which the registry does not put here",
    ]);
  });

  it("writes tables prettier leaves as they are", async () => {
    const prettier = await import("prettier");
    const options = (await prettier.resolveConfig(path.join(ROOT, "docs", "x.md"))) ?? {};
    for (const s of await pageStates(ROOT, registry))
      for (const block of s.next.match(/<!-- (settings|request):begin[^]*?:end \S+ -->/g) ?? [])
        assert.equal(
          await prettier.format(block, { ...options, parser: "markdown" }),
          `${block}\n`,
          `${s.page}: prettier would change\n${block}`,
        );
  });
});
