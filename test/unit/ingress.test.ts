import { strict as assert } from "assert";
import * as path from "path";
import * as YAML from "yaml";
import { PlannedResource, evaluate, mask } from "../../cli/mock-engine";
import { RawConfig } from "../../components/config";
import { runProgram } from "../../components/program";
import { readStackFile } from "../../components/stack-file";
import { validateConfig } from "../../components/validate-config";
import { registry } from "../../providers";
import { validateObject } from "../support/kubernetes-schema";

const root = path.join(__dirname, "..", "..");
const I = "nginx.ingress.kubernetes.io";

/** The dev stack (nginx on 8443) moved to Kubernetes with `target` and `proxy` as given. */
function devOn(target: Record<string, unknown>, proxy?: Record<string, unknown>): RawConfig {
  const raw = structuredClone(
    readStackFile(path.join(root, "stacks", "Pulumi.dev.yaml")).raw,
  ) as any;
  raw.target = { kind: "kubernetes", namespace: "psf", ...target };
  if (proxy) raw.providers.proxy = proxy;
  return raw;
}
const plan = (raw: RawConfig) =>
  evaluate(registry, raw, "dev", (r, s) => runProgram(registry, { raw: r, stackName: s }));
const issuesOf = (raw: RawConfig) => validateConfig(raw, "dev", registry).issues;
const kindOf = (r: PlannedResource) => r.type.split(":").pop()!;
const find = (rs: PlannedResource[], kind: string, name: string) => {
  const r = rs.find((x) => kindOf(x) === kind && x.name === name);
  assert.ok(r, `no ${kind} ${name} among ${rs.map((x) => `${kindOf(x)}/${x.name}`).join(", ")}`);
  return mask(r!.inputs, true) as any;
};
const envOf = (rs: PlannedResource[], deployment: string): Record<string, string> =>
  Object.fromEntries(
    find(rs, "Deployment", deployment)
      .spec.template.spec.containers[0].env.filter((e: any) => e.value !== undefined)
      .map((e: any) => [e.name, e.value]),
  );
/** Authelia's configuration.yml, as the pod gets it from its Secret. */
const autheliaConfig = (rs: PlannedResource[]): any => {
  const data = find(rs, "Secret", "authelia-secret").stringData;
  const key = Object.keys(data).find((k) => k.endsWith("configuration.yml"));
  assert.ok(key, Object.keys(data).join(", "));
  return YAML.parse(data[key!]);
};
/** Every public URL the plan puts anywhere (env, config files, annotations): `https://<x>.psf.localhost[:port]`. */
const publicOrigins = (rs: PlannedResource[]): string[] => {
  const text = rs.map((r) => JSON.stringify(mask(r.inputs, true))).join("\n");
  return [...new Set(text.match(/https:\/\/[a-z0-9-]+\.psf\.localhost(?::\d+)?/g) ?? [])].sort();
};

/**
 * What must agree on one origin per host: the app's own URL, its OIDC issuer, the redirect
 * URIs the SSO accepts, the SSO's portal, and where the Ingress sends a browser to sign in.
 */
async function urlsOf(rs: PlannedResource[]) {
  const env = envOf(rs, "whoami");
  const authelia = autheliaConfig(rs);
  const client = authelia.identity_providers.oidc.clients.find(
    (c: any) => c.client_id === "whoami",
  );
  return {
    PUBLIC_URL: env.PUBLIC_URL,
    OIDC_ISSUER: env.OIDC_ISSUER,
    redirectUris: client.redirect_uris,
    portal: authelia.session.cookies[0].authelia_url,
  };
}

describe("ingress proxy provider: one origin for every public URL", function () {
  this.timeout(120_000);

  it("reports the former ingress mode (target proxyMode: ingress) at its path, with the provider to use instead", () => {
    // The shape that gave PUBLIC_URL https://whoami... but OIDC_ISSUER https://auth...:8443.
    const issues = issuesOf(devOn({ proxyMode: "ingress", ingressClass: "nginx" }));
    assert.deepEqual(
      issues.map((i) => i.path),
      ["target.proxyMode"],
    );
    assert.match(issues[0].hint!, /use: ingress/);
  });

  it("with use: ingress, the app's URL, its issuer, its redirect URIs, the portal and auth-signin all use https://<host>, no port", async () => {
    const rs = await plan(devOn({}, { use: "ingress", ingressClass: "nginx" }));
    assert.deepEqual(await urlsOf(rs), {
      PUBLIC_URL: "https://whoami.psf.localhost",
      OIDC_ISSUER: "https://auth.psf.localhost",
      redirectUris: ["https://whoami.psf.localhost/oauth2/callback"],
      portal: "https://auth.psf.localhost",
    });
    assert.equal(
      find(rs, "Ingress", "route-whoami").metadata.annotations[`${I}/auth-signin`],
      "https://auth.psf.localhost/?rd=$scheme://$http_host$escaped_request_uri",
    );
    assert.deepEqual(publicOrigins(rs), [
      "https://auth.psf.localhost",
      "https://miniflux.psf.localhost",
      "https://whoami.psf.localhost",
    ]);
  });

  it("with nginx (httpsPort 8443) as a Deployment on the cluster, every one of them carries :8443", async () => {
    const rs = await plan(devOn({ proxyMode: "loadbalancer" }));
    assert.deepEqual(await urlsOf(rs), {
      PUBLIC_URL: "https://whoami.psf.localhost:8443",
      OIDC_ISSUER: "https://auth.psf.localhost:8443",
      redirectUris: ["https://whoami.psf.localhost:8443/oauth2/callback"],
      portal: "https://auth.psf.localhost:8443",
    });
    assert.deepEqual(publicOrigins(rs), [
      "https://auth.psf.localhost:8443",
      "https://miniflux.psf.localhost:8443",
      "https://whoami.psf.localhost:8443",
    ]);
    // nginx serves the routes: no Ingress, and its Service publishes the port in the URLs.
    assert.ok(!rs.some((r) => kindOf(r) === "Ingress"));
    const ports = find(rs, "Service", "nginx-service").spec.ports.map((p: any) => p.port);
    assert.ok(ports.includes(8443), JSON.stringify(ports));
  });
});

describe("ingress proxy provider: the Ingress objects", function () {
  this.timeout(120_000);
  let rs: PlannedResource[];
  before(async () => {
    rs = await plan(
      devOn(
        { ingressClass: "from-target" },
        {
          use: "ingress",
          ingressClass: "public",
          annotations: {
            "cert-manager.io/cluster-issuer": "letsencrypt",
            [`${I}/proxy-connect-timeout`]: "5",
            [`${I}/force-ssl-redirect`]: "false",
          },
        },
      ),
    );
  });

  it("declares one Ingress per route, on the provider's ingress class, with TLS from the ssl contract in a kubernetes.io/tls Secret", () => {
    const names = rs
      .filter((r) => r.type === "kubernetes:networking.k8s.io/v1:Ingress")
      .map((r) => r.name)
      .sort();
    assert.deepEqual(names, ["route-authelia", "route-miniflux", "route-whoami"]);
    const ing = find(rs, "Ingress", "route-whoami");
    assert.equal(ing.spec.ingressClassName, "public");
    assert.deepEqual(ing.spec.tls, [
      { hosts: ["whoami.psf.localhost"], secretName: "route-whoami-tls" },
    ]);
    assert.deepEqual(ing.spec.rules[0].http.paths[0].backend, {
      service: { name: "whoami", port: { number: 80 } },
    });
    const tls = find(rs, "Secret", "route-whoami-tls");
    assert.equal(tls.type, "kubernetes.io/tls");
    assert.match(tls.stringData["tls.crt"], /^-----BEGIN CERTIFICATE-----/);
    assert.match(tls.stringData["tls.key"], /PRIVATE KEY-----/);
    for (const r of rs.filter((x) => x.type === "kubernetes:networking.k8s.io/v1:Ingress"))
      assert.doesNotThrow(() => validateObject(mask(r.inputs, true) as any), r.name);
    assert.doesNotThrow(() => validateObject(tls), "the TLS Secret");
  });

  it("forwards auth to the SSO's Service by its cluster name and passes the sso contract's identity headers", () => {
    const a = find(rs, "Ingress", "route-whoami").metadata.annotations;
    assert.equal(
      a[`${I}/auth-url`],
      "http://authelia.psf.svc.cluster.local:9091/api/authz/auth-request",
    );
    assert.equal(a[`${I}/auth-method`], "GET");
    assert.equal(
      a[`${I}/auth-response-headers`],
      "Remote-User,Remote-Groups,Remote-Email,Remote-Name",
    );
    // Routes without auth (miniflux signs in with OIDC itself; the portal) get none.
    for (const open of ["route-miniflux", "route-authelia"])
      assert.equal(
        find(rs, "Ingress", open).metadata.annotations[`${I}/auth-url`],
        undefined,
        open,
      );
  });

  it("adds the user's annotations verbatim to every Ingress, winning over its own by key", () => {
    for (const name of ["route-whoami", "route-miniflux", "route-authelia"]) {
      const a = find(rs, "Ingress", name).metadata.annotations;
      assert.equal(a["cert-manager.io/cluster-issuer"], "letsencrypt", name);
      assert.equal(a[`${I}/proxy-connect-timeout`], "5", name);
      assert.equal(a[`${I}/force-ssl-redirect`], "false", name);
      assert.equal(a[`${I}/backend-protocol`], "HTTP", name);
    }
  });

  it("takes the ingress class from psf:target when the provider sets none", async () => {
    const other = await plan(devOn({ ingressClass: "from-target" }, { use: "ingress" }));
    assert.equal(find(other, "Ingress", "route-whoami").spec.ingressClassName, "from-target");
    const none = await plan(devOn({}, { use: "ingress" }));
    assert.equal(find(none, "Ingress", "route-whoami").spec.ingressClassName, undefined);
  });

  it("uses an SSO's own forward-auth URL for a route where it gives one (oidc: per-route access)", async () => {
    const raw = structuredClone(
      readStackFile(path.join(root, "test", "providers", "fixtures", "Pulumi.oidc.yaml")).raw,
    ) as any;
    raw.target = { kind: "kubernetes", namespace: "apps" };
    raw.providers.proxy = { use: "ingress" };
    const oidc = await plan(raw);
    const url = (route: string) =>
      new URL(find(oidc, "Ingress", route).metadata.annotations[`${I}/auth-url`]);
    // wiki is for admins, photos for bob: their own URLs ask oauth2-proxy for those.
    assert.equal(url("route-wiki").searchParams.get("allowed_groups"), "admins");
    assert.equal(url("route-notes").searchParams.get("allowed_groups"), null);
    assert.notEqual(url("route-photos").search, url("route-notes").search);
    assert.equal(url("route-notes").hostname, "oauth2-proxy.apps.svc.cluster.local");
  });
});

describe("ingress proxy provider: validation", () => {
  it("refuses a Docker target at providers.proxy.use, naming the provider that runs there", () => {
    const raw = structuredClone(
      readStackFile(path.join(root, "stacks", "Pulumi.dev.yaml")).raw,
    ) as any;
    raw.providers.proxy = { use: "ingress" };
    const issues = issuesOf(raw);
    assert.deepEqual(
      issues.map((i) => i.path),
      ["providers.proxy.use"],
    );
    assert.match(issues[0].message, /target is docker/);
    assert.match(issues[0].hint!, /nginx/);
  });

  it("reports every bad setting at its path at once", () => {
    const issues = issuesOf(
      devOn(
        {},
        {
          use: "ingress",
          ingressClass: "Not A Class",
          annotations: { "bad key!": "x", "ok.example/fine": "y", "/leading": "z" },
          httpsPort: 8443,
        },
      ),
    );
    assert.deepEqual(issues.map((i) => i.path).sort(), [
      'providers.proxy.annotations["/leading"]',
      'providers.proxy.annotations["bad key!"]',
      "providers.proxy.httpsPort",
      "providers.proxy.ingressClass",
    ]);
  });
});
