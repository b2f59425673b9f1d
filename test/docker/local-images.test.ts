import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as http from "http";
import * as path from "path";
import { provideImages } from "../../cli/local-images";
import { PrerequisiteError } from "../../cli/prerequisite-error";

const ROOT = path.join(__dirname, "..", "..");
const NAME = "psf-test-whoami";

/** A Docker engine and Go (the whoami stand-in is a Go recipe); else skipped, or failed in CI. */
function requireDockerAndGo(ctx: Mocha.Context): void {
  const docker = spawnSync("docker", ["info"], { stdio: "ignore" }).status === 0;
  const go = spawnSync("go", ["version"], { stdio: "ignore" }).status === 0;
  if (docker && go) return;
  const missing = [docker ? "" : "a Docker engine", go ? "" : "Go"].filter(Boolean).join(" and ");
  if (process.env.PSF_REQUIRE_REAL === "1")
    throw new Error(`no ${missing}: run scripts/docker-engine.sh (and install Go)`);
  console.warn(`  skipped: no ${missing}`);
  ctx.skip();
}

const docker = (...args: string[]) =>
  execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();

function get(
  port: number,
  urlPath: string,
  opts: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path: urlPath,
        method: opts.method ?? "GET",
        headers: opts.headers,
      },
      (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** The first answer of a container that has just started. */
async function firstAnswer(port: number, urlPath: string) {
  for (let i = 0; ; i++) {
    try {
      return await get(port, urlPath);
    } catch (e) {
      if (i > 50) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe("local images: the whoami stand-in built by scripts/build-images.sh", function () {
  this.timeout(600_000);
  let port = 0;

  before(function () {
    requireDockerAndGo(this);
    execFileSync("bash", [path.join(ROOT, "scripts", "build-images.sh"), "whoami"], {
      stdio: ["ignore", "inherit", "inherit"],
    });
    spawnSync("docker", ["rm", "-f", NAME], { stdio: "ignore" });
    docker("run", "-d", "--name", NAME, "-p", "127.0.0.1::80", "psf/whoami:ci", "--port", "80");
    port = Number(docker("port", NAME, "80/tcp").split("\n")[0].split(":").pop());
  });

  after(() => {
    spawnSync("docker", ["rm", "-f", NAME], { stdio: "ignore" });
    spawnSync("docker", ["image", "rm", "psf/whoami:local-images-test"], { stdio: "ignore" });
  });

  it("is tagged as the upstream traefik/whoami:v1.10 unless the engine holds the real one", () => {
    const id = docker("image", "inspect", "--format", "{{.Id}}", "psf/whoami:ci");
    const upstream = docker(
      "image",
      "inspect",
      "--format",
      '{{.Id}} {{index .Config.Labels "psf.recipe"}}',
      "traefik/whoami:v1.10",
    );
    if (upstream.endsWith(" whoami")) assert.equal(upstream.split(" ")[0], id);
  });

  it("answers /health with 200, and a POSTed status code changes that answer", async () => {
    assert.equal((await firstAnswer(port, "/health")).status, 200);
    assert.equal((await get(port, "/health", { method: "POST", body: "503" })).status, 200);
    assert.equal((await get(port, "/health")).status, 503);
    await get(port, "/health", { method: "POST", body: "200" });
    assert.equal((await get(port, "/health")).status, 200);
  });

  it("echoes the request on / in traefik/whoami's text format, and as JSON on /api", async () => {
    const res = await get(port, "/?x=1", { headers: { "X-Psf-Test": "hello" } });
    assert.equal(res.status, 200);
    assert.match(
      res.body,
      /^Hostname: \S+\n(IP: \S+\n)+RemoteAddr: \S+\nGET \/\?x=1 HTTP\/1\.1\r?\n/,
    );
    assert.match(res.body, /^X-Psf-Test: hello\r?$/m);
    const api = JSON.parse((await get(port, "/api", { headers: { "X-Psf-Test": "json" } })).body);
    assert.deepEqual(api.headers["X-Psf-Test"], ["json"]);
    assert.equal(api.method, "GET");
  });

  it("has no shell: only the binary and /etc/passwd, /etc/group", () => {
    const sh = spawnSync(
      "docker",
      ["run", "--rm", "--entrypoint", "/bin/sh", "psf/whoami:ci", "-c", "true"],
      {
        stdio: "ignore",
      },
    );
    assert.notEqual(sh.status, 0);
    const files = execFileSync("sh", ["-c", `docker export ${NAME} | tar -t`], {
      encoding: "utf8",
    });
    const ours = files
      .split("\n")
      .filter((f) => f && !f.endsWith("/"))
      .filter(
        (f) => !/^(\.dockerenv|dev\/|proc\/|sys\/|etc\/(hostname|hosts|mtab|resolv\.conf))/.test(f),
      )
      .sort();
    assert.deepEqual(ours, ["etc/group", "etc/passwd", "whoami"]);
    assert.deepEqual(
      JSON.parse(
        docker("image", "inspect", "--format", "{{json .Config.Entrypoint}}", "psf/whoami:ci"),
      ),
      ["/whoami"],
    );
  });

  it("is provided for a psf/whoami reference the engine lacks, and says so in one line", async () => {
    spawnSync("docker", ["image", "rm", "psf/whoami:local-images-test"], { stdio: "ignore" });
    const lines: string[] = [];
    const [r] = await provideImages(new Map([["psf/whoami:local-images-test", ["whoami"]]]), {
      log: (l) => lines.push(l),
    });
    assert.equal(r.outcome, "built");
    assert.equal(r.recipe, "whoami");
    assert.match(
      lines.at(-1)!,
      /^image psf\/whoami:local-images-test: built locally from images\/whoami \(Go modules; an earlier build\) in \d+ s$/,
    );
    assert.equal(
      docker("image", "inspect", "--format", "{{.Id}}", "psf/whoami:local-images-test"),
      docker("image", "inspect", "--format", "{{.Id}}", "psf/whoami:ci"),
    );
  });

  it("fails with a prerequisite error naming the image, its users and psf:images when nothing provides it", async () => {
    const ref = "registry.invalid/psf/nothing:1";
    await assert.rejects(
      provideImages(new Map([[ref, ["app"]]]), { log: () => {}, pullTimeoutSeconds: 15 }),
      (e: unknown) => {
        assert.ok(e instanceof PrerequisiteError);
        assert.match(
          e.message,
          /^image registry\.invalid\/psf\/nothing:1 \(used by app\): no registry answered/,
        );
        assert.match(e.message, /no recipe in images\/ stands in for it/);
        assert.match(e.hint, /psf:images\.app/);
        return true;
      },
    );
  });

  it("fails with a prerequisite error naming the recipe when its build fails, and never pulls psf/ images", async () => {
    const lines: string[] = [];
    await assert.rejects(
      provideImages(new Map([["psf/nosuch:ci", ["app"]]]), {
        log: (l) => lines.push(l),
        recipes: [{ name: "nosuch", kind: "go", upstream: [] }],
      }),
      (e: unknown) => {
        assert.ok(e instanceof PrerequisiteError);
        assert.match(
          e.message,
          /^image psf\/nosuch:ci \(used by app\): building it from images\/nosuch failed/,
        );
        assert.doesNotMatch(e.message, /registry/);
        assert.match(e.hint, /scripts\/build-images\.sh nosuch retries/);
        return true;
      },
    );
  });
});
