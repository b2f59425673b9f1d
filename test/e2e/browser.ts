import { strict as assert } from "assert";
import { X509Certificate } from "crypto";
import * as fs from "fs";
import * as https from "https";
import type { LookupFunction } from "net";
import * as path from "path";
import type { Browser, BrowserContext, Page, Response } from "playwright-core";

/**
 * A real-browser check of the dev stack (stacks/Pulumi.dev.yaml): headless Chromium, driven by
 * playwright-core, signs people in through the Authelia portal in front of whoami (forward auth)
 * and through OpenID Connect into Miniflux. Chromium does not trust the stack's CA (no NSS db),
 * so it runs with ignoreHTTPSErrors; TLS is checked separately in Node against the stack CA, and
 * the issuer Chromium saw is compared with that CA.
 */

export const CHROMIUM = "/usr/bin/chromium";

export interface BrowserCheckOptions {
  urls: { whoami: string; miniflux: string; portal: string };
  accounts: Record<string, { username: string; password: string }>;
  caPem: string;
  /** Folder for the screenshots (created when missing). */
  screenshots: string;
}

const SHOTS = [
  "01-whoami-portal.png",
  "02-alice-whoami.png",
  "03-bob-refused.png",
  "04-miniflux-login.png",
  "05-authelia-consent.png",
  "06-alice-miniflux.png",
];

// Authelia 4.38 portal (web/src/views/LoginPortal): first factor form and OIDC consent view.
const USERNAME = "#username-textfield";
const PASSWORD = "#password-textfield";
const SIGN_IN = "#sign-in-button";
const CONSENT_ACCEPT = "#accept-button";
// Miniflux 2.3 layout: the logout form's button, titled "Logged in as <username>".
const MINIFLUX_LOGOUT = "button.logout-button";
const MINIFLUX_OIDC_LINK = 'a[href$="/oauth2/oidc/redirect"]';

/** playwright-core resolvable and Debian's Chromium installed. */
export function chromiumAvailable(): boolean {
  try {
    require.resolve("playwright-core");
  } catch {
    return false;
  }
  return fs.existsSync(CHROMIUM);
}

/** `*.localhost` is loopback (as in browsers), whatever the resolver of this machine says. */
const loopbackLookup: LookupFunction = (hostname, options, callback) => {
  const cb = callback as unknown as (
    err: NodeJS.ErrnoException | null,
    address: string | { address: string; family: number }[],
    family?: number,
  ) => void;
  if (hostname === "localhost" || hostname.endsWith(".localhost")) {
    if (options.all) cb(null, [{ address: "127.0.0.1", family: 4 }]);
    else cb(null, "127.0.0.1", 4);
    return;
  }
  require("dns").lookup(hostname, options, callback);
};

/** The certificate a host serves, verified by Node against the stack CA only (chain and name). */
function verifiedPeerCertificate(url: string, caPem: string): Promise<X509Certificate> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        hostname: u.hostname,
        port: u.port || 443,
        path: "/",
        method: "GET",
        ca: caPem,
        rejectUnauthorized: true,
        lookup: loopbackLookup,
        agent: false,
        timeout: 15_000,
      },
      (res) => {
        const peer = res.socket as import("tls").TLSSocket;
        const raw = peer.getPeerCertificate();
        res.resume();
        if (!peer.authorized || !raw?.raw) {
          reject(new Error(`${url}: TLS not authorized: ${peer.authorizationError}`));
          return;
        }
        resolve(new X509Certificate(raw.raw));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${url}: TLS check timed out`)));
    req.on("error", (e) =>
      reject(new Error(`${url}: certificate does not verify against the stack CA: ${e.message}`)),
    );
    req.end();
  });
}

/** The CN of an X.509 distinguished name as Node prints it ("O=PSF dev\nCN=..."). */
function commonName(dn: string): string | undefined {
  return dn
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l.startsWith("CN="))
    ?.slice(3);
}

function origin(url: string): string {
  return new URL(url).origin;
}

/** Visible text of the page, whitespace collapsed and cut, for failure messages. */
async function visibleText(page: Page, max = 800): Promise<string> {
  try {
    const text = await page.locator("body").innerText({ timeout: 3_000 });
    const flat = text.replace(/\s+/g, " ").trim();
    return flat.length > max ? `${flat.slice(0, max)}…` : flat;
  } catch (e) {
    return `(no text: ${(e as Error).message.split("\n")[0]})`;
  }
}

export async function browserChecks(opts: BrowserCheckOptions): Promise<void> {
  const { chromium } = require("playwright-core") as typeof import("playwright-core");
  const { urls, accounts, caPem, screenshots } = opts;
  const alice = accounts.alice;
  const bob = accounts.bob;
  assert.ok(alice?.password, "accounts: no password for alice");
  assert.ok(bob?.password, "accounts: no password for bob");
  fs.mkdirSync(screenshots, { recursive: true });
  for (const f of fs.readdirSync(screenshots))
    if (SHOTS.includes(f) || /^failed-.*\.png$/.test(f)) fs.rmSync(path.join(screenshots, f));

  // TLS, checked in Node: every host chains to the stack CA and carries its own name.
  const ca = new X509Certificate(caPem);
  const caName = commonName(ca.subject);
  for (const url of [urls.portal, urls.whoami, urls.miniflux]) {
    const cert = await verifiedPeerCertificate(url, caPem);
    assert.ok(
      cert.checkIssued(ca) && cert.verify(ca.publicKey),
      `${url}: certificate (${cert.subject.replace(/\n/g, ", ")}) is not issued by the stack CA (${ca.subject.replace(/\n/g, ", ")})`,
    );
  }

  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox"],
  });
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];
  const newPage = async (): Promise<Page> => {
    const context = await browser.newContext({
      ignoreHTTPSErrors: true,
      viewport: { width: 1280, height: 900 },
    });
    context.setDefaultTimeout(30_000);
    contexts.push(context);
    const page = await context.newPage();
    page.on("pageerror", (e) => pageErrors.push(`${page.url()}: ${e.message}`));
    return page;
  };
  const shot = (page: Page, name: string) =>
    page.screenshot({ path: path.join(screenshots, name), fullPage: true });

  const failures: string[] = [];
  /**
   * Runs one person's steps in order (each needs the one before). A failing step takes a
   * screenshot and is recorded with the page's URL and visible text; the rest of that person's
   * steps are skipped, the other people's still run, and browserChecks throws them all at the end.
   */
  const steps = async (page: Page, list: [string, () => Promise<void>][]): Promise<void> => {
    for (const [i, [name, run]] of list.entries()) {
      const errorsBefore = pageErrors.length;
      try {
        await run();
      } catch (e) {
        const failShot = path.join(screenshots, `failed-${name.replace(/\W+/g, "-")}.png`);
        await page.screenshot({ path: failShot, fullPage: true }).catch(() => undefined);
        const errors = pageErrors.slice(errorsBefore);
        const skipped = list.slice(i + 1).map(([n]) => `"${n}"`);
        failures.push(
          `step "${name}" failed: ${(e as Error).message.split("\n")[0]}\n` +
            `  url: ${page.url()}\n  text: ${await visibleText(page)}\n  screenshot: ${failShot}` +
            (errors.length ? `\n  page errors: ${errors.join(" | ")}` : "") +
            (skipped.length ? `\n  skipped: ${skipped.join(", ")}` : ""),
        );
        return;
      }
    }
  };

  /** The browser saw a certificate issued by the stack CA (by name; Node verified the chain). */
  const assertIssuer = async (response: Response | null, what: string) => {
    const details = await response?.securityDetails();
    assert.ok(details, `${what}: no TLS details for ${response?.url()}`);
    if (caName !== undefined)
      assert.equal(details.issuer, caName, `${what}: certificate issuer as Chromium saw it`);
  };

  /** The next top-level document response from `url`'s origin. */
  const nextDocument = (page: Page, url: string): Promise<Response> => {
    const response = page.waitForResponse(
      (r) => r.request().resourceType() === "document" && origin(r.url()) === origin(url),
    );
    response.catch(() => undefined); // awaited by the caller; not an unhandled rejection meanwhile
    return response;
  };

  /** Fills Authelia's first-factor form and submits it. */
  const signIn = async (page: Page, account: { username: string; password: string }) => {
    await page.locator(USERNAME).fill(account.username);
    await page.locator(PASSWORD).fill(account.password);
    await page.locator(SIGN_IN).click();
  };

  try {
    // 1 + 2: whoami sends a stranger to the portal; alice signs in and comes back as herself.
    const alicePage = await newPage();
    await steps(alicePage, [
      [
        "whoami redirects to the portal",
        async () => {
          const response = await alicePage.goto(urls.whoami);
          await alicePage.waitForURL((u) => u.origin === origin(urls.portal));
          let start = response?.request();
          while (start?.redirectedFrom()) start = start.redirectedFrom() ?? undefined;
          assert.equal(
            start && origin(start.url()),
            origin(urls.whoami),
            `the navigation started elsewhere (${start?.url()}); redirect chain lost`,
          );
          const rd = new URL(alicePage.url()).searchParams.get("rd") ?? "";
          assert.ok(
            rd.startsWith(origin(urls.whoami)),
            `the portal URL does not send alice back to whoami (rd=${rd})`,
          );
          await assertIssuer(response, "portal");
          await alicePage.locator(USERNAME).waitFor({ state: "visible" });
          await shot(alicePage, "01-whoami-portal.png");
        },
      ],
      [
        "alice signs in and whoami sees her",
        async () => {
          const doc = nextDocument(alicePage, urls.whoami);
          await signIn(alicePage, alice);
          const response = await doc;
          await alicePage.waitForURL((u) => u.origin === origin(urls.whoami));
          assert.equal(response.status(), 200, `whoami answered ${response.status()} to alice`);
          await assertIssuer(response, "whoami");
          const text = await alicePage.locator("body").innerText();
          assert.match(text, /^Remote-User: alice$/m, "whoami does not echo Remote-User: alice");
          // The browser holds Authelia's session cookie for the whole domain; the app never gets it.
          assert.doesNotMatch(text, /authelia_session/, "whoami received alice's SSO session");
          await shot(alicePage, "02-alice-whoami.png");
        },
      ],
    ]);

    // 3: bob is not in admins: he signs in, and nginx answers 403 for whoami.
    const bobPage = await newPage();
    await steps(bobPage, [
      [
        "bob signs in and is refused",
        async () => {
          await bobPage.goto(urls.whoami);
          await bobPage.waitForURL((u) => u.origin === origin(urls.portal));
          await bobPage.locator(USERNAME).waitFor({ state: "visible" });
          const doc = nextDocument(bobPage, urls.whoami);
          await signIn(bobPage, bob);
          const response = await doc;
          await bobPage.waitForURL((u) => u.origin === origin(urls.whoami));
          const text = await visibleText(bobPage);
          assert.equal(response.status(), 403, `whoami answered ${response.status()} to bob`);
          assert.doesNotMatch(text, /Remote-User/, "bob sees whoami's echo");
          await shot(bobPage, "03-bob-refused.png");
        },
      ],
    ]);

    // 4: Miniflux offers OIDC; alice (a fresh context) signs in through Authelia and lands in it.
    const minifluxPage = await newPage();
    await steps(minifluxPage, [
      [
        "Miniflux shows its login page with the OIDC button",
        async () => {
          const response = await minifluxPage.goto(urls.miniflux);
          assert.equal(response?.status(), 200, `Miniflux answered ${response?.status()}`);
          await assertIssuer(response, "miniflux");
          assert.equal(
            origin(minifluxPage.url()),
            origin(urls.miniflux),
            "Miniflux redirected away",
          );
          const button = minifluxPage.locator(MINIFLUX_OIDC_LINK);
          await button.waitFor({ state: "visible" });
          assert.equal(
            (await button.innerText()).trim(),
            "Sign in with PSF sign-in",
            "the OIDC button (its provider name)",
          );
          const link = (await button.getAttribute("href")) ?? "";
          assert.ok(link.endsWith("/oauth2/oidc/redirect"), `the OIDC button links to ${link}`);
          await shot(minifluxPage, "04-miniflux-login.png");
        },
      ],
      [
        "alice signs in to Miniflux through Authelia",
        async () => {
          await minifluxPage.locator(MINIFLUX_OIDC_LINK).click();
          await minifluxPage.waitForURL((u) => u.origin === origin(urls.portal));
          await minifluxPage.locator(USERNAME).waitFor({ state: "visible" });
          await signIn(minifluxPage, alice);
          const accept = minifluxPage.locator(CONSENT_ACCEPT);
          const loggedIn = minifluxPage.locator(MINIFLUX_LOGOUT);
          await accept.or(loggedIn).first().waitFor({ state: "visible", timeout: 45_000 });
          if (await accept.isVisible()) {
            assert.equal(
              origin(minifluxPage.url()),
              origin(urls.portal),
              "consent outside the portal",
            );
            await shot(minifluxPage, "05-authelia-consent.png");
            await accept.click();
            await loggedIn.waitFor({ state: "visible", timeout: 45_000 });
          }
          assert.equal(
            origin(minifluxPage.url()),
            origin(urls.miniflux),
            "alice is not on Miniflux",
          );
          assert.equal(
            await loggedIn.getAttribute("title"),
            `Logged in as ${alice.username}`,
            "Miniflux's signed-in user",
          );
          await minifluxPage
            .getByRole("heading", { name: /^Unread/ })
            .waitFor({ state: "visible" });
          await shot(minifluxPage, "06-alice-miniflux.png");
        },
      ],
    ]);
  } finally {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser.close();
  }
  if (failures.length)
    throw new Error(`browser checks: ${failures.length} failed\n${failures.join("\n")}`);
}
