import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { PlannedResource } from "../../cli/mock-engine";
import {
  Recipe,
  classifyPullFailure,
  imagesInPlan,
  normalizeReference,
  readRecipes,
  recipeFor,
} from "../../cli/local-images";

const recipes = readRecipes();
const name = (ref: string, list: Recipe[] = recipes) => recipeFor(ref, list)?.name;

describe("local images: which recipe stands in for an image reference", () => {
  it("reads every recipe in images/ with its kind and upstream references", () => {
    const byName = Object.fromEntries(recipes.map((r) => [r.name, r]));
    for (const n of ["postgres", "mariadb", "nginx", "borg", "restic", "demo"])
      assert.equal(byName[n]?.kind, "debian", n);
    for (const n of ["authelia", "miniflux", "whoami"]) assert.equal(byName[n]?.kind, "go", n);
    assert.deepEqual(byName.postgres.upstream, ["postgres:15-bookworm", "postgres:15"]);
    assert.deepEqual(byName.mariadb.upstream, ["mariadb:11", "mariadb:10.11"]);
    assert.deepEqual(byName.demo.upstream, []);
  });

  it("maps every upstream image the dev stack names to its recipe", () => {
    assert.equal(name("postgres:15-bookworm"), "postgres");
    assert.equal(name("postgres:15"), "postgres");
    assert.equal(name("nginx:1.27-bookworm"), "nginx");
    assert.equal(name("authelia/authelia:4.38.17"), "authelia");
    assert.equal(name("traefik/whoami:v1.10"), "whoami");
    assert.equal(name("miniflux/miniflux:2.3.5"), "miniflux");
  });

  it("matches a reference however it is spelled once Docker normalizes it", () => {
    assert.equal(name("docker.io/library/postgres:15-bookworm"), "postgres");
    assert.equal(name("index.docker.io/library/nginx:1.27-bookworm"), "nginx");
    assert.equal(name("library/postgres:15"), "postgres");
    assert.equal(name("docker.io/authelia/authelia:4.38.17"), "authelia");
  });

  it("does not stand in for another version, another registry, no tag or a digest", () => {
    assert.equal(name("postgres:16-bookworm"), undefined);
    assert.equal(name("postgres"), undefined, "no tag means latest");
    assert.equal(name("nginx:1.27"), undefined);
    assert.equal(name("authelia/authelia:4.39.0"), undefined);
    assert.equal(name("ghcr.io/authelia/authelia:4.38.17"), undefined);
    assert.equal(name("traefik/whoami:v1.10.1"), undefined);
    assert.equal(name("postgres@sha256:" + "a".repeat(64)), undefined);
  });

  it("builds PSF's own psf/<recipe> images under any tag, and no unknown psf/ image", () => {
    assert.equal(name("psf/borg:1.2.4-bookworm"), "borg");
    assert.equal(name("psf/restic:0.14.0-bookworm"), "restic");
    assert.equal(name("psf/demo:ci"), "demo");
    assert.equal(name("psf/whoami:anything"), "whoami");
    assert.equal(name("psf/nothing:ci"), undefined);
  });

  it("matches a trailing * in an upstream file as a prefix of the normalized reference", () => {
    const list: Recipe[] = [
      { name: "pg", kind: "debian", upstream: ["postgres:15*"] },
      { name: "app", kind: "go", upstream: ["registry.example.org/team/app:*"] },
    ];
    assert.equal(name("postgres:15", list), "pg");
    assert.equal(name("docker.io/library/postgres:15.8-bookworm", list), "pg");
    assert.equal(name("postgres:16", list), undefined);
    assert.equal(name("registry.example.org/team/app:1.2", list), "app");
    assert.equal(name("registry.example.org/team/application:1.2", list), undefined);
  });

  it("normalizes references as the Docker engine resolves them", () => {
    assert.equal(normalizeReference("postgres"), "docker.io/library/postgres:latest");
    assert.equal(normalizeReference("traefik/whoami:v1.10"), "docker.io/traefik/whoami:v1.10");
    assert.equal(normalizeReference("localhost:5000/x:1"), "localhost:5000/x:1");
    assert.equal(normalizeReference("localhost/x"), "localhost/x:latest");
    assert.equal(normalizeReference("quay.io/org/img"), "quay.io/org/img:latest");
    assert.equal(normalizeReference("x@sha256:00"), undefined);
  });
});

describe("local images: Go recipes", () => {
  const images = path.join(__dirname, "..", "..", "images");
  const read = (...p: string[]) => fs.readFileSync(path.join(images, ...p), "utf8");

  for (const [recipe, module, goMod] of [
    ["authelia", "github.com/authelia/authelia/v4", "../scripts/authelia/go.mod"],
    ["miniflux", "miniflux.app/v2", "miniflux/go.mod"],
    ["traefik", "github.com/traefik/traefik/v3", "traefik/go.mod"],
  ]) {
    it(`builds ${recipe} at the version its upstream reference names, in go.mod and -ldflags`, () => {
      const tag = read(recipe, "upstream").trim().split(":").pop()!;
      const required = new RegExp(`^require ${module.replace(/\./g, "\\.")} v(\\S+)$`, "m").exec(
        read(goMod),
      )?.[1];
      assert.equal(required, tag.replace(/^v/, ""));
      const ldflags = /^ldflags (.*)$/m.exec(read(recipe, "go-build"))?.[1] ?? "";
      assert.match(ldflags, new RegExp(`(BuildTag=v|Version=)${tag.replace(/\./g, "\\.")}\\b`));
    });
  }

  it("keeps whoami to the standard library, in its own module", () => {
    assert.match(read("whoami", "go.mod"), /^module psf\.local\/whoami$/m);
    assert.doesNotMatch(read("whoami", "go.mod"), /^require/m);
    for (const m of read("whoami", "main.go").matchAll(/^\s+"([^"]+)"$/gm))
      assert.doesNotMatch(m[1], /\./, `${m[1]} is not in the standard library`);
  });
});

describe("local images: why a pull failed", () => {
  it("says no registry answered on DNS, connection and timeout errors", () => {
    for (const out of [
      'Error response from daemon: Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 10.0.0.53:53: no such host',
      'Error response from daemon: Get "https://registry-1.docker.io/v2/": net/http: request canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)',
      'Error response from daemon: Get "https://ghcr.io/v2/": dial tcp 140.82.121.34:443: connect: network is unreachable',
      'Error response from daemon: Get "https://registry-1.docker.io/v2/": net/http: TLS handshake timeout',
    ])
      assert.equal(classifyPullFailure(out), "unreachable", out);
  });

  it("tells an image the registry does not have from one it refuses to serve", () => {
    assert.equal(
      classifyPullFailure(
        "Error response from daemon: manifest for postgres:99 not found: manifest unknown: manifest unknown",
      ),
      "missing",
    );
    assert.equal(
      classifyPullFailure(
        "Error response from daemon: pull access denied for psf/nothing, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
      ),
      "missing",
    );
    assert.equal(
      classifyPullFailure(
        "Error response from daemon: toomanyrequests: You have reached your pull rate limit.",
      ),
      "refused",
    );
  });
});

describe("local images: the images a plan uses", () => {
  const image = (ref: string): PlannedResource => ({
    type: "docker:index/remoteImage:RemoteImage",
    name: `image-${ref}`,
    inputs: { name: ref, keepLocally: true },
  });
  const container = (name: string, ref: string, partOf: string): PlannedResource => ({
    type: "docker:index/container:Container",
    name,
    inputs: {
      image: `sha256:mock-image-${ref}`,
      labels: [
        { label: "psf.workload", value: name },
        { label: "psf.part-of", value: partOf },
      ],
    },
  });

  it("lists each referenced image once with the services and providers whose containers run it", () => {
    const plan = [
      image("postgres:15-bookworm"),
      image("psf/borg:1.2.4-bookworm"),
      image("traefik/whoami:v1.10"),
      container("postgres", "postgres:15-bookworm", "postgres"),
      container("backup-whoami", "psf/borg:1.2.4-bookworm", "borg"),
      container("backup-miniflux", "psf/borg:1.2.4-bookworm", "borg"),
      container("whoami", "traefik/whoami:v1.10", "whoami"),
      container("whoami-2", "traefik/whoami:v1.10", "echo"),
    ];
    assert.deepEqual(
      [...imagesInPlan(plan)],
      [
        ["postgres:15-bookworm", ["postgres"]],
        ["psf/borg:1.2.4-bookworm", ["borg"]],
        ["traefik/whoami:v1.10", ["whoami", "echo"]],
      ],
    );
  });
});
