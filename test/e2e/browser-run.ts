import { execFileSync } from "child_process";
import * as path from "path";
import { browserChecks, chromiumAvailable } from "./browser";

/**
 * The browser checks against the running dev stack, by hand:
 *   npx ts-node --transpile-only test/e2e/browser-run.ts
 * Screenshots go to test-results/browser/.
 */
const ROOT = path.join(__dirname, "..", "..");
const STACK = "dev";

function psfOutput(...args: string[]): string {
  return execFileSync(
    process.execPath,
    [path.join(ROOT, "bin", "psf.js"), "output", ...args, "--stack", STACK],
    { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
  );
}

async function main(): Promise<void> {
  if (!chromiumAvailable()) {
    throw new Error(
      "playwright-core or /usr/bin/chromium is missing (npm ci; apt-get install chromium)",
    );
  }
  const accounts = JSON.parse(psfOutput("accounts", "--show-secrets", "--json")) as Record<
    string,
    { login?: string; username: string; password: string }
  >;
  const caPem = psfOutput("caPem");
  const services = JSON.parse(psfOutput("services", "--json")) as Record<
    string,
    { url?: string } | undefined
  >;
  const urls = {
    whoami: services.whoami?.url ?? "https://whoami.psf.localhost:8443/",
    miniflux: services.miniflux?.url ?? "https://miniflux.psf.localhost:8443/",
    portal: accounts.alice?.login ?? "https://auth.psf.localhost:8443/",
  };
  const screenshots = path.join(ROOT, "test-results", "browser");
  console.log(`browser: ${JSON.stringify(urls)}; screenshots in ${screenshots}`);
  const started = Date.now();
  await browserChecks({ urls, accounts, caPem, screenshots });
  console.log(`browser: all steps passed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
