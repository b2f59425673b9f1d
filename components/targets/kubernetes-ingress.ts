import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { objectName } from "./kubernetes-objects";
import { IngressRoute } from "./target";

export interface IngressArgs {
  namespace: pulumi.Input<string>;
  labels: Record<string, string>;
  opts: pulumi.CustomResourceOptions;
}

/**
 * A public route served by the cluster's ingress controller: an Ingress on the route's ingress
 * class with the route's annotations, TLS from the ssl contract in a `kubernetes.io/tls` Secret.
 */
export function kubernetesIngress(r: IngressRoute, a: IngressArgs): pulumi.Resource[] {
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
  const ingress = new k8s.networking.v1.Ingress(
    name,
    {
      metadata: { name, namespace: a.namespace, labels: a.labels, annotations: r.annotations },
      spec: {
        ingressClassName: r.ingressClass,
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
