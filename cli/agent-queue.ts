import type { PushEvent } from "./agent-webhook";

export type Job = { kind: "deploy"; pushes: PushEvent[] } | { kind: "reconcile" };

/**
 * One job at a time. Pushes that arrive while a job runs wait as one deploy: the checkout is
 * updated to whatever the branch holds then, so the later pushes are deployed together
 * (coalesced), never one `up` each. A scheduled reconcile is dropped while anything runs or
 * waits: a deploy's `up` puts drift back too, and the next tick comes soon enough.
 */
export class JobQueue {
  private running?: Job;
  private pendingDeploy?: Extract<Job, { kind: "deploy" }>;
  private pendingReconcile = false;
  private stopped = false;
  private idle: Promise<void> = Promise.resolve();

  constructor(private readonly run: (job: Job) => Promise<void>) {}

  /** Queues a deploy; true when it joined one that was already waiting. */
  deploy(push: PushEvent): boolean {
    if (this.stopped) return false;
    if (this.pendingDeploy) {
      this.pendingDeploy.pushes.push(push);
      return true;
    }
    this.pendingDeploy = { kind: "deploy", pushes: [push] };
    this.kick();
    return false;
  }

  /** Queues a reconcile unless a job runs or waits; false when dropped. */
  reconcile(): boolean {
    if (this.stopped || this.running || this.pendingDeploy || this.pendingReconcile) return false;
    this.pendingReconcile = true;
    this.kick();
    return true;
  }

  get busy(): Job | undefined {
    return this.running;
  }

  /** Drops what waits; resolves when the running job (cancelled by its owner) has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pendingDeploy = undefined;
    this.pendingReconcile = false;
    await this.idle;
  }

  private kick(): void {
    if (this.running) return;
    const next: Job | undefined =
      this.pendingDeploy ?? (this.pendingReconcile ? { kind: "reconcile" } : undefined);
    if (!next || this.stopped) return;
    if (next.kind === "deploy") this.pendingDeploy = undefined;
    else this.pendingReconcile = false;
    this.running = next;
    this.idle = this.run(next)
      .catch(() => undefined)
      .finally(() => {
        this.running = undefined;
        this.kick();
      });
  }
}
