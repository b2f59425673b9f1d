import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** What the agent exposes on `/metrics`, in its own registry (never the library's global one). */
export class AgentMetrics {
  readonly registry = new Registry();
  readonly deployments: Counter<"result">;
  readonly deployDuration: Histogram<"result">;
  readonly reconciles: Counter<"result">;
  readonly driftFound: Counter;
  readonly driftHealed: Counter;
  readonly unhealthyRestarts: Counter<"workload">;
  readonly crashLooping: Gauge<"workload">;
  readonly lastSuccess: Gauge<"operation">;
  readonly webhooks: Counter<"outcome">;

  constructor(stack: string) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ stack });
    this.deployments = new Counter({
      name: "psf_deployments_total",
      help: "Deployments (psf up) run by the agent, by result.",
      labelNames: ["result"],
      registers,
    });
    this.deployDuration = new Histogram({
      name: "psf_deploy_duration_seconds",
      help: "Time from the start of a deployment (checkout update and psf up) to its end.",
      labelNames: ["result"],
      // From a no-op up (seconds) to a stack pulling images and waiting for health checks.
      buckets: [5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600],
      registers,
    });
    this.reconciles = new Counter({
      name: "psf_reconciles_total",
      help: "Scheduled reconciles (psf reconcile) run by the agent, by result.",
      labelNames: ["result"],
      registers,
    });
    this.driftFound = new Counter({
      name: "psf_drift_found_total",
      help: "Resources found drifted from the stack's state by a reconcile.",
      registers,
    });
    this.driftHealed = new Counter({
      name: "psf_drift_healed_total",
      help: "Drifted resources a reconcile put back.",
      registers,
    });
    this.unhealthyRestarts = new Counter({
      name: "psf_unhealthy_restarts_total",
      help: "Containers Docker reported unhealthy that the agent restarted, by workload.",
      labelNames: ["workload"],
      registers,
    });
    this.crashLooping = new Gauge({
      name: "psf_crash_looping",
      help: "1 while a workload stays unhealthy after repeated restarts and the agent has stopped restarting it.",
      labelNames: ["workload"],
      registers,
    });
    this.lastSuccess = new Gauge({
      name: "psf_last_success_timestamp_seconds",
      help: "Unix time of the last successful deploy or reconcile.",
      labelNames: ["operation"],
      registers,
    });
    this.webhooks = new Counter({
      name: "psf_webhook_requests_total",
      help: "Requests to /hooks/github, by outcome (accepted, or why refused).",
      labelNames: ["outcome"],
      registers,
    });
    // No collectDefaultMetrics(): its gauges named *_total (nodejs_active_handles_total...)
    // fail `promtool check metrics`, and a node exporter reports the process better.
  }

  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
