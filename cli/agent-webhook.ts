import * as crypto from "crypto";
import type * as http from "http";
import type { AgentLog } from "./agent-log";
import { RateLimit, RecentIds } from "./agent-rate-limit";

/** A push to the deployed branch, as the deploy queue needs it. */
export interface PushEvent {
  delivery: string;
  ref: string;
  /** The commit the branch points to after the push. */
  after: string;
  pusher?: string;
}

export interface WebhookOptions {
  /** The shared secret; undefined: every delivery is refused (no secret configured). */
  secret?: string;
  branch: string;
  maxBodyBytes: number;
  perMinute: number;
  log: AgentLog;
  /** Counts each request by outcome (`accepted`, `bad_signature`...). */
  count: (outcome: string) => void;
  onPush: (push: PushEvent) => void;
}

/** Events answered; any other is refused with 400, so a misconfigured hook shows as failing. */
const EVENTS = new Set(["ping", "push"]);

/**
 * `POST /hooks/github`. Checks run cheapest first and nothing is acted on before the
 * signature is proven: rate limit, size (while reading, so a large body is never held),
 * `X-Hub-Signature-256` over the raw bytes compared in constant time, event, delivery id.
 */
export function githubWebhook(o: WebhookOptions): http.RequestListener {
  const limit = new RateLimit(o.perMinute);
  const deliveries = new RecentIds();
  return (req, res) => {
    const delivery = header(req, "x-github-delivery");
    const event = header(req, "x-github-event");
    const refuse = (status: number, outcome: string, message: string, extra = {}) => {
      o.count(outcome);
      o.log.warn("webhook refused", { status, outcome, reason: message, delivery, event });
      res.writeHead(status, { "content-type": "application/json", ...extra });
      res.end(`${JSON.stringify({ error: message })}\n`);
    };
    if (req.method !== "POST") return refuse(405, "bad_method", "use POST", { allow: "POST" });
    if (!limit.take()) {
      req.resume();
      return refuse(429, "rate_limited", "too many requests", {
        "retry-after": String(limit.retryAfterSeconds()),
      });
    }
    const declared = Number(req.headers["content-length"] ?? 0);
    // An oversized body is not read: the connection is closed once the answer is out.
    const tooLarge = () => {
      res.setHeader("connection", "close");
      res.on("finish", () => req.socket.destroy());
      refuse(413, "too_large", `body over ${o.maxBodyBytes} bytes`);
    };
    if (declared > o.maxBodyBytes) return tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > o.maxBodyBytes) {
        if (!over) tooLarge();
        over = true;
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => {
      if (over) return;
      const body = Buffer.concat(chunks);
      if (o.secret === undefined)
        return refuse(
          403,
          "no_secret",
          "webhooks are off: psf:agent.webhookSecret is not set in the stack's config",
        );
      const signature = header(req, "x-hub-signature-256");
      if (!signature) return refuse(401, "missing_signature", "no X-Hub-Signature-256 header");
      if (!signatureMatches(o.secret, body, signature))
        return refuse(401, "bad_signature", "X-Hub-Signature-256 does not match the body");
      if (!event || !EVENTS.has(event))
        return refuse(400, "unknown_event", `event ${event ?? "(none)"} is not handled`);
      if (!delivery) return refuse(400, "no_delivery", "no X-GitHub-Delivery header");
      if (!deliveries.add(delivery))
        return refuse(409, "replayed", `delivery ${delivery} was received already`);
      const payload = parsePayload(body, header(req, "content-type"));
      if (payload === undefined) return refuse(400, "bad_payload", "the body is not JSON");
      const answer = (status: number, outcome: string, fields: Record<string, unknown>) => {
        o.count(outcome);
        res.writeHead(status, { "content-type": "application/json" });
        res.end(`${JSON.stringify(fields)}\n`);
      };
      if (event === "ping") {
        o.log.info("webhook ping", { delivery, hook: payload.hook_id });
        return answer(200, "ping", { pong: true });
      }
      const ref = typeof payload.ref === "string" ? payload.ref : "";
      const after = typeof payload.after === "string" ? payload.after : "";
      if (ref !== `refs/heads/${o.branch}` || /^0+$/.test(after)) {
        o.log.info("webhook push ignored", { delivery, ref, reason: "not the deployed branch" });
        return answer(202, "ignored", { ignored: `not a push to ${o.branch}` });
      }
      const pusher = (payload.pusher as { name?: unknown } | undefined)?.name;
      o.onPush({ delivery, ref, after, pusher: typeof pusher === "string" ? pusher : undefined });
      return answer(202, "accepted", { queued: "deploy", after });
    });
  };
}

/** `sha256=<hex>` of the body under the secret, compared without leaking where it differs. */
export function signatureMatches(secret: string, body: Buffer, signature: string): boolean {
  const expected = Buffer.from(
    `sha256=${crypto.createHmac("sha256", secret).update(body).digest("hex")}`,
  );
  const given = Buffer.from(signature);
  // timingSafeEqual needs equal lengths; a wrong length says nothing about the secret.
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** GitHub sends JSON, or a form with the JSON in `payload` (the hook's content type). */
function parsePayload(
  body: Buffer,
  contentType: string | undefined,
): Record<string, unknown> | undefined {
  try {
    const text = contentType?.startsWith("application/x-www-form-urlencoded")
      ? (new URLSearchParams(body.toString("utf8")).get("payload") ?? "")
      : body.toString("utf8");
    const v = JSON.parse(text);
    return v && typeof v === "object" && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}
