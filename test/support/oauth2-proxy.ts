import { spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import * as os from "os";
import * as path from "path";

/**
 * oauth2-proxy, built from its Go module by scripts/go-host-binary.sh oauth2-proxy. Missing: a skip with the
 * command to run, or a failure under PSF_REQUIRE_REAL=1 (CI builds it in .ci/run).
 */
export function oauth2ProxyBin(ctx: Mocha.Context): string {
  const dir =
    process.env.PSF_TOOLCHAIN_DIR ?? path.join(os.homedir(), ".cache", "psf", "toolchain");
  const bin = path.join(dir, "bin", "oauth2-proxy");
  if (fs.existsSync(bin)) return bin;
  if (process.env.PSF_REQUIRE_REAL === "1")
    throw new Error(`${bin} is missing (run: bash scripts/go-host-binary.sh oauth2-proxy)`);
  console.warn(`  skipped: ${bin} is missing (run: bash scripts/go-host-binary.sh oauth2-proxy)`);
  ctx.skip();
}

const listen = (srv: net.Server) =>
  new Promise<number>((resolve) =>
    srv.listen(0, "127.0.0.1", () => resolve((srv.address() as net.AddressInfo).port)),
  );

/**
 * What stands between the identity provider and its clients on loopback, as a TLS-terminating
 * reverse proxy would on the network: HTTPS with a certificate for the issuer's host, passing
 * requests on to the IdP's plain-HTTP port with X-Forwarded-Proto/Host. Clients reach it by the
 * issuer's name through `proxyUrl`, an HTTP CONNECT proxy for `HTTPS_PROXY` (no /etc/hosts).
 */
export async function startTlsFront(
  upstreamPort: number,
  cert: { certPem: string; keyPem: string },
): Promise<{ proxyUrl: string; tlsPort: number; requests: string[]; stop(): void }> {
  const requests: string[] = [];
  const front = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    requests.push(`${req.method} ${req.headers.host}${req.url}`);
    const up = http.request(
      {
        host: "127.0.0.1",
        port: upstreamPort,
        method: req.method,
        path: req.url,
        headers: {
          ...req.headers,
          "x-forwarded-proto": "https",
          "x-forwarded-host": req.headers.host!,
        },
      },
      (r) => {
        res.writeHead(r.statusCode!, r.headers);
        r.pipe(res);
      },
    );
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  const tlsPort = await listen(front);
  const connect = http.createServer((_req, res) => res.writeHead(405).end());
  connect.on("connect", (_req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    // Every CONNECT goes to the front, whatever host:port it names.
    const up = net.connect(tlsPort, "127.0.0.1", () => {
      socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on("error", () => socket.destroy());
    socket.on("error", () => up.destroy());
  });
  const connectPort = await listen(connect);
  return {
    proxyUrl: `http://127.0.0.1:${connectPort}`,
    tlsPort,
    requests,
    stop: () => {
      front.closeAllConnections();
      front.close();
      connect.closeAllConnections();
      connect.close();
    },
  };
}

export interface RunningOAuth2Proxy {
  /** `http://127.0.0.1:<port>` */
  base: string;
  log(): string;
  stop(): void;
}

/**
 * Starts oauth2-proxy with `args` (the rendered files, written by the caller, listening on
 * loopback `port` as they say) and only `env` in its environment; resolves once `/ping` answers.
 */
export async function startOAuth2Proxy(
  bin: string,
  port: number,
  args: string[],
  env: Record<string, string>,
): Promise<RunningOAuth2Proxy> {
  const proc = spawn(bin, args, {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  proc.stdout!.on("data", (d) => (log += d));
  proc.stderr!.on("data", (d) => (log += d));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const up = await fetch(`${base}/ping`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (i > 100 || proc.exitCode !== null) {
      proc.kill();
      throw new Error(`oauth2-proxy did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { base, log: () => log, stop: () => proc.kill() };
}
