import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { App, AppArgs } from "../../components/app";
import { ContractName, ContractResult } from "../../components/contract";
import { ServiceConfig, parseStack } from "../../components/config";
import { DockerTarget } from "../../components/targets/docker";
import { Deployed, Target } from "../../components/targets/target";
import { VolumeRef, Workload } from "../../components/workload";
import { contracts } from "../../providers";
import { installMocks, isSecret, recorded, resetDeclared, valueOf } from "../support/mocks";
import { TestRoot, declaredSoFar, fixtureConfig, plain, rawOf } from "./helpers";

/** Passes workloads to the Docker target, keeping what it was asked to deploy. */
class RecordingTarget implements Target {
  readonly kind = "docker" as const;
  readonly workloads: Workload[] = [];
  constructor(private readonly inner: DockerTarget) {}
  deploy(w: Workload, opts: { parent: pulumi.Resource }): Deployed {
    this.workloads.push(w);
    return this.inner.deploy(w, opts);
  }
  address(name: string): string {
    return this.inner.address(name);
  }
  volume(ref: VolumeRef): pulumi.Resource {
    return this.inner.volume(ref);
  }
}

const secretFields = Object.fromEntries(
  Object.entries(contracts).map(([c, d]) => [c, d.secretFields]),
) as AppArgs["secretFields"];

/** Contract results as providers hand them over: secret fields already Pulumi secrets. */
const results: Partial<Record<ContractName, ContractResult>> = {
  secrets: { value: pulumi.secret("tok-123") },
  database: {
    host: pulumi.output("postgres"),
    port: pulumi.output(5432) as pulumi.Output<any>,
    database: pulumi.output("notes"),
    user: pulumi.output("notes"),
    password: pulumi.secret("s3cret"),
    url: pulumi.secret("postgresql://notes:s3cret@postgres:5432/notes"),
    dumpCommand: pulumi.output("dump"),
    restoreCommand: pulumi.output("restore"),
  },
  proxy: {
    url: pulumi.output("https://notes.example.org"),
    internalUrl: pulumi.output("http://notes:8080"),
  },
};

function services(): Record<string, ServiceConfig> {
  const { settings, issues } = parseStack(rawOf(fixtureConfig("valid/Pulumi.app.yaml")), "test", {
    contracts,
  });
  assert.deepEqual(issues, []);
  return settings.services;
}

/** Builds one App on a Docker target under a test root, and the recording target. */
function build(
  name: string,
  extra: Partial<AppArgs> = {},
): { app: App; target: RecordingTarget; workload: Workload } {
  const root = new TestRoot(`root-${name}`);
  const target = new RecordingTarget(
    new DockerTarget({ prefix: "psf-test", labels: { "psf.stack": "test" } }, root),
  );
  const service = services()[name];
  const app = new App(
    name,
    {
      service,
      image: service.image,
      results: name === "notes" ? results : {},
      target,
      secretFields,
      secureEnv: { SMTP_PASSWORD: pulumi.secret("smtp-pw") },
      ...extra,
    },
    { parent: root },
  );
  return { app, target, workload: target.workloads[0] };
}

async function container(name: string) {
  await declaredSoFar();
  const found = recorded().filter(
    (r) => r.type === "docker:index/container:Container" && r.name === name,
  );
  assert.equal(found.length, 1, `one container ${name}`);
  return found[0].inputs;
}

describe("App", () => {
  beforeEach(() => {
    installMocks("test");
    resetDeclared();
  });

  it("renders env templates from contract results", async () => {
    const { workload } = build("notes");
    const env = { ...workload.env, ...workload.secretEnv };
    assert.equal(await valueOf(env.API_TOKEN), "tok-123");
    assert.equal(await valueOf(env.DATABASE_URL), "postgresql://notes:s3cret@postgres:5432/notes");
    assert.equal(await valueOf(env.DB_LOGIN), "notes@postgres");
    assert.equal(await valueOf(env.PUBLIC_URL), "https://notes.example.org");
    assert.equal(await valueOf(env.LOG_LEVEL), "info");
    assert.equal(await valueOf(env.WORKERS), "4");
    assert.equal(await valueOf(env.SMTP_PASSWORD), "smtp-pw");
  });

  it("makes an env value that embeds a secret result a secret, and leaves plain ones plain", async () => {
    const { workload } = build("notes");
    assert.deepEqual(Object.keys(workload.secretEnv ?? {}).sort(), [
      "API_TOKEN",
      "DATABASE_URL",
      "SMTP_PASSWORD",
    ]);
    assert.deepEqual(Object.keys(workload.env ?? {}).sort(), [
      "DB_LOGIN",
      "LOG_LEVEL",
      "PUBLIC_URL",
      "WORKERS",
    ]);
    for (const key of ["API_TOKEN", "DATABASE_URL", "SMTP_PASSWORD"])
      assert.equal(await isSecret(workload.secretEnv![key]), true, key);
    for (const key of ["DB_LOGIN", "LOG_LEVEL", "PUBLIC_URL", "WORKERS"])
      assert.equal(await isSecret(workload.env![key]), false, key);
  });

  it("keeps every env value secret when the services config was encrypted as a whole", async () => {
    const { workload } = build("notes", { allEnvSecret: true });
    assert.deepEqual(Object.keys(workload.env ?? {}), []);
    for (const [key, v] of Object.entries(workload.secretEnv ?? {}))
      assert.equal(await isSecret(v), true, key);
  });

  it("passes secret env to the container as a secret input", async () => {
    build("notes");
    const inputs = await container("notes");
    assert.ok(
      inputs.envs && typeof inputs.envs === "object" && !Array.isArray(inputs.envs),
      "envs arrive wrapped as a secret",
    );
    assert.deepEqual(plain(inputs.envs).sort(), [
      "API_TOKEN=tok-123",
      "DATABASE_URL=postgresql://notes:s3cret@postgres:5432/notes",
      "DB_LOGIN=notes@postgres",
      "LOG_LEVEL=info",
      "PUBLIC_URL=https://notes.example.org",
      "SMTP_PASSWORD=smtp-pw",
      "WORKERS=4",
    ]);
  });

  it("mounts each declared volume as a named volume owned by the service", async () => {
    const { workload } = build("notes");
    assert.deepEqual(workload.volumes, [
      { volume: { owner: "notes", name: "data" }, mountPath: "/var/lib/notes" },
      { volume: { owner: "notes", name: "uploads" }, mountPath: "/srv/uploads" },
    ]);
    const inputs = await container("notes");
    assert.deepEqual(inputs.mounts, [
      { type: "volume", source: "psf-test-notes-data", target: "/var/lib/notes", readOnly: false },
      { type: "volume", source: "psf-test-notes-uploads", target: "/srv/uploads", readOnly: false },
    ]);
  });

  it("turns an http health check into a Docker health check on the service's port, and waits for it", async () => {
    build("notes");
    const inputs = await container("notes");
    assert.equal(inputs.healthcheck.tests[0], "CMD-SHELL");
    assert.match(
      inputs.healthcheck.tests[1],
      /curl -fsS -o \/dev\/null http:\/\/127\.0\.0\.1:8080\/healthz/,
    );
    assert.deepEqual(
      { ...inputs.healthcheck, tests: undefined },
      {
        tests: undefined,
        interval: "15s",
        timeout: "5s",
        retries: 5,
        startPeriod: "10s",
      },
    );
    assert.equal(inputs.wait, true);
    // Start period + retries × (interval + timeout) + slack: a broken release fails, not hangs.
    assert.equal(inputs.waitTimeout, 10 + 5 * (15 + 5) + 30);
  });

  it("turns a command health check into CMD with its arguments", async () => {
    build("worker");
    const inputs = await container("worker");
    assert.deepEqual(inputs.healthcheck.tests, ["CMD", "worker", "--check"]);
    assert.equal(inputs.healthcheck.retries, 3);
  });

  it("passes command as the container's arguments, keeping the image's entrypoint", async () => {
    build("notes");
    const inputs = await container("notes");
    assert.deepEqual(inputs.command, ["serve", "--port", "8080"]);
    assert.equal(inputs.entrypoints, undefined);
  });

  it("publishes only the ports listed under publish, on loopback unless told", async () => {
    build("notes");
    const inputs = await container("notes");
    assert.deepEqual(inputs.ports, [
      { internal: 8080, external: 8443, ip: "127.0.0.1", protocol: "tcp" },
      { internal: 53, external: 5353, ip: "0.0.0.0", protocol: "tcp" },
    ]);
  });

  it("stops without a stack trace when a template names an optional field the provider does not give", () => {
    const service: ServiceConfig = {
      ...services().worker,
      env: { CA: "{{ ssl.caPem }}" },
      needs: { ssl: { domain: "w.example.org" } },
    };
    const root = new TestRoot("root-optional");
    const target = new DockerTarget({ prefix: "psf-test", labels: {} }, root);
    const ssl = { certPem: pulumi.output("cert"), keyPem: pulumi.secret("key") };
    assert.throws(
      () =>
        new App(
          "worker",
          { service, image: service.image, results: { ssl }, target, secretFields },
          { parent: root },
        ),
      (e: Error) =>
        e instanceof pulumi.RunError &&
        /\{\{ ssl\.caPem \}\}: the configured ssl provider gives no "caPem"/.test(e.message),
    );
  });

  it("exposes the URL its proxy result gives (through the contract's hook) and its network address", async () => {
    // What the stack hands the app: the proxy contract's part of the service's outputs.
    const url = contracts.proxy.serviceOutputs!(results.proxy).url as pulumi.Output<string>;
    const { app } = build("notes", { url });
    assert.equal(await valueOf(app.url), "https://notes.example.org");
    assert.equal(app.address, "notes");
    assert.equal(build("worker").app.url, undefined);
  });
});
