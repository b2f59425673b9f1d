import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { checkAgent } from "../../components/agent-config";
import { Issue } from "../../components/errors";
import { SecureValue } from "../../components/validate/schema";
import { RestartBackoff } from "../../cli/agent-backoff";
import { AgentLog } from "../../cli/agent-log";
import { JobQueue, Job } from "../../cli/agent-queue";
import { RateLimit, RecentIds } from "../../cli/agent-rate-limit";
import { reconcileOutcome } from "../../cli/agent-reconcile";
import type { ReconcileReport } from "../../cli/reconcile";
import { signatureMatches } from "../../cli/agent-webhook";
import { secretMasker } from "../../cli/secret-mask";

/** The parts of `psf agent` that decide (test/e2e/agent.test.ts runs the whole process). */
describe("psf agent's parts", () => {
  describe("the webhook signature", () => {
    const secret = "It's a Secret to Everybody";
    const body = Buffer.from("Hello, World!");
    // GitHub's documented example (docs: validating webhook deliveries), checked by openssl.
    const documented = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    it("accepts GitHub's documented example, which openssl computes alike", () => {
      const r = spawnSync("openssl", ["dgst", "-sha256", "-hmac", secret], {
        input: body,
        encoding: "utf8",
      });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(`sha256=${r.stdout.trim().split(" ").pop()}`, documented);
      assert.ok(signatureMatches(secret, body, documented));
    });

    it("refuses another secret, a changed body, a bare or truncated or upper-case digest", () => {
      assert.ok(!signatureMatches("another secret", body, documented));
      assert.ok(!signatureMatches(secret, Buffer.from("Hello, World?"), documented));
      assert.ok(!signatureMatches(secret, body, documented.slice(7)));
      assert.ok(!signatureMatches(secret, body, documented.slice(0, -1)));
      assert.ok(!signatureMatches(secret, body, "sha256="));
      assert.ok(!signatureMatches(secret, body, documented.toUpperCase()));
    });
  });

  describe("the restart back-off", () => {
    const policy = { baseMs: 1000, maxMs: 4000, maxRestarts: 4, windowMs: 60_000 };

    it("restarts at once, then after waits that double, then reports a crash loop once", () => {
      const b = new RestartBackoff(policy);
      assert.deepEqual(b.decide("app", 0), { action: "restart", attempt: 1 });
      b.restarted("app", 0);
      assert.deepEqual(b.decide("app", 500), { action: "wait", untilMs: 1000 });
      assert.deepEqual(b.decide("app", 1000), { action: "restart", attempt: 2 });
      b.restarted("app", 1000);
      assert.deepEqual(b.decide("app", 2999), { action: "wait", untilMs: 3000 });
      b.restarted("app", 3000);
      // The third wait (4 s) meets the cap.
      assert.deepEqual(b.decide("app", 6000), { action: "wait", untilMs: 7000 });
      b.restarted("app", 7000);
      assert.deepEqual(b.decide("app", 20_000), { action: "give-up", restarts: 4, first: true });
      assert.deepEqual(b.decide("app", 30_000), { action: "give-up", restarts: 4, first: false });
      assert.deepEqual(b.givenUp(), ["app"]);
      // Other workloads are unaffected.
      assert.deepEqual(b.decide("db", 30_000), { action: "restart", attempt: 1 });
    });

    it("treats a workload as new once its restarts have left the window", () => {
      const b = new RestartBackoff(policy);
      for (const t of [0, 1000, 3000, 7000]) b.restarted("app", t);
      assert.equal(b.decide("app", 8000).action, "give-up");
      assert.deepEqual(b.decide("app", 67_001), { action: "restart", attempt: 1 });
      assert.deepEqual(b.givenUp(), []);
    });
  });

  describe("the rate limit and the delivery ids", () => {
    it("lets a burst of its size through, then one per refill interval", () => {
      let now = 0;
      const limit = new RateLimit(3, () => now);
      assert.deepEqual(
        [1, 2, 3, 4].map(() => limit.take()),
        [true, true, true, false],
      );
      assert.equal(limit.retryAfterSeconds(), 20);
      now = 19_000;
      assert.equal(limit.take(), false);
      now = 20_000;
      assert.equal(limit.take(), true);
      assert.equal(limit.take(), false);
    });

    it("refuses a delivery id seen before and forgets the oldest past its size", () => {
      const ids = new RecentIds(2);
      assert.equal(ids.add("a"), true);
      assert.equal(ids.add("a"), false);
      ids.add("b");
      ids.add("c");
      assert.equal(ids.add("a"), true, "a was forgotten");
      assert.equal(ids.add("c"), false);
    });
  });

  describe("the job queue", () => {
    it("runs one job at a time and folds pushes that wait into one deploy", async () => {
      const ran: Job[] = [];
      const release: Array<() => void> = [];
      const q = new JobQueue(
        (job) =>
          new Promise<void>((resolve) => {
            ran.push(job);
            release.push(resolve);
          }),
      );
      const push = (n: number) => ({ delivery: `d${n}`, ref: "refs/heads/main", after: `${n}` });
      assert.equal(q.deploy(push(1)), false);
      assert.equal(q.busy?.kind, "deploy");
      assert.equal(q.deploy(push(2)), false, "the first waiting deploy");
      assert.equal(q.deploy(push(3)), true, "joins it");
      assert.equal(q.reconcile(), false, "a reconcile is dropped while jobs run or wait");
      release.shift()!();
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(
        ran.map((j) => (j.kind === "deploy" ? j.pushes.map((p) => p.after) : j.kind)),
        [["1"], ["2", "3"]],
      );
      release.shift()!();
      await new Promise((r) => setImmediate(r));
      assert.equal(q.busy, undefined);
      assert.equal(q.reconcile(), true);
      assert.equal(ran[2].kind, "reconcile");
      const stopped = q.stop();
      assert.equal(q.deploy(push(4)), false);
      release.shift()!();
      await stopped;
      assert.equal(ran.length, 3, "nothing starts after stop");
    });
  });

  describe("the JSON log", () => {
    it("writes one JSON object per line with every secret masked, quotes and all", () => {
      const lines: string[] = [];
      const log = new AgentLog((l) => lines.push(l));
      const tricky = 'pa"ss\\word-123';
      log.setMask(secretMasker([tricky, "s3cr3t-token"]));
      log.info(`engine said ${tricky}`, {
        nested: { list: ["x s3cr3t-token y"], [tricky]: 1 },
        error: new Error(`failed with s3cr3t-token`),
      });
      assert.equal(lines.length, 1);
      assert.match(lines[0], /\n$/);
      const entry = JSON.parse(lines[0]);
      assert.equal(entry.level, "info");
      assert.equal(entry.msg, "engine said ***");
      assert.deepEqual(entry.nested, { list: ["x *** y"], "***": 1 });
      assert.equal(entry.error, "failed with ***");
      assert.ok(!lines[0].includes("s3cr3t") && !lines[0].includes("ss\\\\word"));
    });
  });

  describe("reading psf reconcile --json", () => {
    const report = (r: Partial<ReconcileReport>): string =>
      JSON.stringify({
        stack: "s",
        dryRun: false,
        outcome: "noDrift",
        exitCode: 0,
        startedAt: "2026-01-01T00:00:00Z",
        durationMs: 1,
        drift: [],
        changes: [],
        ...r,
      } satisfies ReconcileReport);
    const drifted = {
      resource: "whoami",
      type: "docker:index/container:Container",
      urn: "urn:x",
      kind: "missing" as const,
      fields: [],
    };

    it("counts drift found and healed, and tells a lock or an interrupt from a failure", () => {
      const healed = reconcileOutcome(4, report({ outcome: "healed", drift: [drifted] }));
      assert.deepEqual([healed.result, healed.drifted, healed.healed], ["success", 1, 1]);
      assert.deepEqual(healed.summary.drifted, ["whoami (missing)"]);
      assert.equal(reconcileOutcome(0, report({})).result, "success");
      assert.equal(reconcileOutcome(6, report({ outcome: "locked" })).result, "locked");
      assert.equal(reconcileOutcome(130, report({ outcome: "interrupted" })).result, "cancelled");
      const failed = reconcileOutcome(1, report({ outcome: "failed", error: "boom" }));
      assert.deepEqual([failed.result, failed.summary.error], ["failure", "boom"]);
      assert.equal(reconcileOutcome(2, "error: no stack file\n").result, "failure");
    });
  });

  describe("psf:agent", () => {
    it("takes the defaults and an encrypted secret", () => {
      const issues: Issue[] = [];
      const s = checkAgent({ webhookSecret: new SecureValue("v1:abc") }, issues);
      assert.deepEqual(issues, []);
      assert.equal(s.branch, "main");
      assert.equal(s.webhookMaxBodyBytes, 1024 * 1024);
      assert.equal(s.webhookRateLimit, 60);
      assert.ok(s.webhookSecret instanceof SecureValue);
    });

    it("reports a plain-text secret and every bad setting at its path", () => {
      const issues: Issue[] = [];
      checkAgent(
        { webhookSecret: "plain-text-secret-123", webhookMaxBody: "lots", webhookRateLimit: 0 },
        issues,
      );
      assert.deepEqual(issues.map((i) => i.path).sort(), [
        "agent.webhookMaxBody",
        "agent.webhookRateLimit",
        "agent.webhookSecret",
      ]);
      assert.match(
        issues.find((i) => i.path === "agent.webhookSecret")!.hint!,
        /pulumi config set --secret --path psf:agent\.webhookSecret/,
      );
    });
  });
});
