import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { objectName } from "./kubernetes-objects";
import { PublicRoute } from "./target";

export interface IngressArgs {
  namespace: pulumi.Input<string>;
  ingressClass?: string;
  labels: Record<string, string>;
  opts: pulumi.CustomResourceOptions;
}

/**
 * A public route served by the cluster's ingress controller: an Ingress on the ingress class,
 * TLS from the ssl contract in a `kubernetes.io/tls` Secret, forward auth through the SSO.
 * Annotations are ingress-nginx's; other controllers ignore them (docs/kubernetes.md).
 */
export function kubernetesIngress(r: PublicRoute, a: IngressArgs): pulumi.Resource[] {
  const name = objectName("route", r.name);
  const tls = new k8s.core.v1.Secret(
    `${name}-tls`,
    {
      metadata: { name: objectName(name, "tls"), namespace: a.namespace, labels: a.labels },
      type: "kubernetes.io/tls",
      stringData: { "tls.crt": r.tls.certPem, "tls.key": pulumi.secret(r.tls.keyPem) },
    },
    a.opts,
  );
  const annotations: Record<string, pulumi.Input<string>> = {
    "nginx.ingress.kubernetes.io/backend-protocol": r.upstream.scheme.toUpperCase(),
    "nginx.ingress.kubernetes.io/force-ssl-redirect": "true",
    ...(r.maxBodySize ? { "nginx.ingress.kubernetes.io/proxy-body-size": r.maxBodySize } : {}),
    ...(r.websockets
      ? {
          "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
          "nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
        }
      : {}),
    ...(r.auth
      ? {
          // The controller runs in another namespace: the verify URL names the Service in full.
          "nginx.ingress.kubernetes.io/auth-url": r.auth.forwardAuthUrl,
          "nginx.ingress.kubernetes.io/auth-method": "GET",
          "nginx.ingress.kubernetes.io/auth-signin": r.auth.signinUrl,
          ...(r.auth.headers?.length
            ? { "nginx.ingress.kubernetes.io/auth-response-headers": r.auth.headers.join(",") }
            : {}),
        }
      : {}),
  };
  const ingress = new k8s.networking.v1.Ingress(
    name,
    {
      metadata: { name, namespace: a.namespace, labels: a.labels, annotations },
      spec: {
        ingressClassName: a.ingressClass,
        tls: [{ hosts: [r.host], secretName: tls.metadata.name }],
        rules: [
          {
            host: r.host,
            http: {
              // The upstream is a workload of the stack: its Service has the workload's name.
              paths: [
                {
                  path: "/",
                  pathType: "Prefix",
                  backend: {
                    service: {
                      name: r.upstream.host.split(".")[0],
                      port: { number: r.upstream.port },
                    },
                  },
                },
              ],
            },
          },
        ],
      },
    },
    a.opts,
  );
  return [tls, ingress];
}
