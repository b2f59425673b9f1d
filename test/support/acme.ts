import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { freePort } from "../contracts/proxy";

/** Pebble, built by scripts/pebble.sh into the toolchain. */
export const PEBBLE = path.join(
  process.env.PSF_TOOLCHAIN_DIR ?? path.join(os.homedir(), ".cache", "psf", "toolchain"),
  "bin",
  "pebble",
);

async function waitFor(
  what: string,
  ok: () => Promise<boolean>,
  seconds: number,
  log?: () => string,
) {
  let last: unknown;
  for (let i = 0; i < seconds * 10; i++) {
    try {
      if (await ok()) return;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not come up in ${seconds} s (${String(last)})\n${log?.() ?? ""}`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** A BIND `named`, authoritative for `zone` (every name under it: 127.0.0.1), taking TSIG-signed updates. */
export interface TestBind {
  port: number;
  keyName: string;
  algorithm: string;
  /** base64 */
  secret: string;
  /** The TXT records of `name`, asked of this server. */
  txt(name: string): string[];
  stop(): Promise<void>;
}

export async function startBind(dir: string, zone: string): Promise<TestBind> {
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const keyName = "psf-acme-test";
  const algorithm = "hmac-sha256";
  const secret = execFileSync("openssl", ["rand", "-base64", "32"], { encoding: "utf8" }).trim();
  fs.writeFileSync(
    path.join(dir, "zone.db"),
    [
      "$TTL 60",
      `@ IN SOA ns.${zone}. hostmaster.${zone}. 1 60 60 600 60`,
      `@ IN NS ns.${zone}.`,
      "@ IN A 127.0.0.1",
      "* IN A 127.0.0.1",
      "",
    ].join("\n"),
  );
  fs.writeFileSync(
    path.join(dir, "named.conf"),
    [
      "options {",
      `  directory "${dir}";`,
      `  pid-file "${dir}/named.pid";`,
      `  listen-on port ${port} { 127.0.0.1; };`,
      "  listen-on-v6 { none; };",
      "  recursion no;",
      "  dnssec-validation no;",
      "};",
      `key "${keyName}" { algorithm ${algorithm}; secret "${secret}"; };`,
      `zone "${zone}" { type primary; file "${dir}/zone.db"; allow-update { key "${keyName}"; }; };`,
      "",
    ].join("\n"),
  );
  const logFile = path.join(dir, "named.log");
  const out = fs.openSync(logFile, "a");
  const child = spawn("named", ["-g", "-c", path.join(dir, "named.conf")], {
    stdio: ["ignore", out, out],
  });
  const txt = (name: string) =>
    execFileSync("dig", ["+short", "-p", String(port), "@127.0.0.1", name, "TXT"], {
      encoding: "utf8",
    })
      .split("\n")
      .filter(Boolean)
      .map((l) => l.replace(/^"|"$/g, ""));
  await waitFor(
    "named",
    async () =>
      execFileSync("dig", ["+short", "-p", String(port), "@127.0.0.1", zone, "A"], {
        encoding: "utf8",
      }).trim() === "127.0.0.1",
    20,
    () => fs.readFileSync(logFile, "utf8"),
  );
  return { port, keyName, algorithm, secret, txt, stop: () => stopChild(child) };
}

/** Pebble on loopback: DNS from `dnsPort`, HTTP-01 against `httpPort`, certificates valid `validitySeconds`. */
export interface TestPebble {
  directoryUrl: string;
  /** The CA of Pebble's own HTTPS (our test CA), for the ACME client. */
  tlsCaPem: string;
  /** Pebble's issuing root (management /roots/0): what the served certificates verify against. */
  rootPem: string;
  log(): string;
  stop(): Promise<void>;
}

export async function startPebble(
  dir: string,
  o: {
    dnsPort: number;
    httpPort: number;
    validitySeconds: number;
    /** An address besides loopback that clients reach Pebble on (containers: the Docker bridge's). */
    publicIp?: string;
  },
): Promise<TestPebble> {
  fs.mkdirSync(dir, { recursive: true });
  const [port, mgmt, tlsPort] = [await freePort(), await freePort(), await freePort()];
  const ossl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  // Pebble's HTTPS certificate, from a CA of our own (openssl, not our code).
  ossl(
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=psf test ACME TLS CA",
    "-keyout",
    "tls-ca.key",
    "-out",
    "tls-ca.pem",
  );
  ossl(
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-subj",
    "/CN=localhost",
    "-keyout",
    "tls.key",
    "-out",
    "tls.csr",
  );
  fs.writeFileSync(
    path.join(dir, "ext"),
    `subjectAltName=DNS:localhost,IP:127.0.0.1${o.publicIp ? `,IP:${o.publicIp}` : ""}\n`,
  );
  ossl(
    "x509",
    "-req",
    "-in",
    "tls.csr",
    "-CA",
    "tls-ca.pem",
    "-CAkey",
    "tls-ca.key",
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    "ext",
    "-out",
    "tls.pem",
  );
  fs.writeFileSync(
    path.join(dir, "pebble.json"),
    JSON.stringify({
      pebble: {
        listenAddress: `${o.publicIp ? "0.0.0.0" : "127.0.0.1"}:${port}`,
        managementListenAddress: `127.0.0.1:${mgmt}`,
        certificate: path.join(dir, "tls.pem"),
        privateKey: path.join(dir, "tls.key"),
        httpPort: o.httpPort,
        tlsPort,
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
        retryAfter: { authz: 1, order: 1 },
        profiles: { default: { description: "test", validityPeriod: o.validitySeconds } },
      },
    }),
  );
  const tlsCaPem = fs.readFileSync(path.join(dir, "tls-ca.pem"), "utf8");
  const logFile = path.join(dir, "pebble.log");
  const out = fs.openSync(logFile, "a");
  const child = spawn(
    PEBBLE,
    ["-config", path.join(dir, "pebble.json"), "-dnsserver", `127.0.0.1:${o.dnsPort}`],
    {
      stdio: ["ignore", out, out],
      // No sleeps before validating; no made-up bad nonces (the client would retry, slower).
      env: {
        ...process.env,
        PEBBLE_VA_NOSLEEP: "1",
        PEBBLE_WFE_NONCEREJECT: "0",
        PEBBLE_AUTHZREUSE: "0",
      },
    },
  );
  const get = (url: string) =>
    new Promise<string>((resolve, reject) => {
      https
        .get(url, { ca: tlsCaPem, headers: { "User-Agent": "psf-test" } }, (res) => {
          let body = "";
          res.on("data", (d) => (body += d));
          res.on("end", () =>
            res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: ${res.statusCode}`)),
          );
        })
        .on("error", reject);
    });
  const log = () => fs.readFileSync(logFile, "utf8");
  await waitFor(
    "pebble",
    async () => (await get(`https://127.0.0.1:${port}/dir`)).includes("newOrder"),
    20,
    log,
  );
  const rootPem = await get(`https://127.0.0.1:${mgmt}/roots/0`);
  return {
    directoryUrl: `https://${o.publicIp ?? "127.0.0.1"}:${port}/dir`,
    tlsCaPem,
    rootPem,
    log,
    stop: () => stopChild(child),
  };
}
