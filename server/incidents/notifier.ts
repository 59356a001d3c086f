/**
 * Webhook notifications on incident open and resolve: a durable outbox table
 * (notification) drained by a background loop with exponential backoff, so a
 * slow or failing receiver never blocks ingest and a restart loses nothing.
 * During a maintenance window of the cluster, incidents are marked silenced
 * and nothing is sent.
 *
 * Several processes may drain the same outbox (replicas, issue 13): a pass
 * CLAIMS its rows (`FOR UPDATE SKIP LOCKED`, next_at moved CLAIM_LEASE_MS
 * ahead) before delivering them, so no two processes send the same row; one
 * that dies mid-delivery leaves its claim to expire and another process
 * retries it once. Every POST carries `Idempotency-Key:
 * kam-<incident>-<webhook>-<event>`, the same on every retry, so a receiver can
 * drop the second copy of that one retry.
 */
import { sqlOf, type Db } from "../db/database";
import type { Logger } from "../log";
import type { Counters } from "../metrics";
import type { ApiIncident } from "./incident-store";

const MAX_ATTEMPTS = 10;
const TIMEOUT_MS = 5000;
/** a claimed row is not due again for this long: far beyond one delivery (TIMEOUT_MS) */
export const CLAIM_LEASE_MS = 60_000;
/** rows claimed per pass */
const CLAIM_BATCH = 20;

/**
 * Claim the due rows of this pass: locked rows (another process claiming them now) are skipped, and the
 * claimed ones are due again only after the lease (a delivery sets next_at or delivered_at itself).
 */
const CLAIM_SQL = `UPDATE notification n SET next_at = $3::timestamptz
  FROM webhook w
  WHERE w.id = n.webhook_id
    AND n.id IN (SELECT id FROM notification
                 WHERE delivered_at IS NULL AND failed_at IS NULL AND next_at <= $2::timestamptz
                 ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
  RETURNING n.id::text AS id, n.incident_id::text AS incident, n.webhook_id AS webhook, n.event, n.attempts, n.payload, w.url`;

interface Claimed {
  id: string;
  incident: string;
  webhook: number;
  event: string;
  attempts: number;
  payload: unknown;
  url: string;
}

/** the key a receiver can deduplicate on: one per incident, webhook and event (unique in the outbox) */
export const idempotencyKey = (incident: string | bigint, webhook: number, event: string) => `kam-${incident}-${webhook}-${event}`;

export type NotifyEvent = "opened" | "resolved";

export function backoffMs(attempts: number, rand = Math.random()): number {
  const base = Math.min(1000 * 2 ** attempts, 300_000);
  return Math.round(base * (0.75 + rand * 0.5));
}

const EMOJI: Record<string, string> = { critical: ":red_circle:", warning: ":large_orange_circle:", info: ":large_blue_circle:" };

/**
 * Text from the data (node and instance names, log lines, summaries that quote
 * them) for Slack mrkdwn: &, < and > escaped as Slack asks, so no `<!channel>`,
 * `<@U…>` or `<https://evil|label>` can be formed from data; only the
 * dashboard link below is ours.
 */
export function slackEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** for inside a ``` code block: escaped, and no backtick can close the block (U+02CB looks alike) */
export function slackCode(s: string): string {
  return slackEscape(s).replace(/`/g, "\u02cb");
}

export function slackPayload(event: NotifyEvent, inc: ApiIncident, dashboardUrl: string | null) {
  const what = event === "opened" ? `${EMOJI[inc.severity] ?? ""} ${inc.kind} opened` : `:white_check_mark: ${inc.kind} resolved`;
  const where = `cluster *${slackEscape(inc.cluster)}*${inc.vrid != null ? `, VRID ${inc.vrid}` : ""}, nodes ${slackEscape(inc.nodes.join(", ")) || "-"}`;
  // the URL is the operator's KAM_PUBLIC_URL; | and > would end it early
  const link = dashboardUrl ? `\n<${dashboardUrl.replace(/[|<>]/g, encodeURIComponent)}/incidents/${encodeURIComponent(inc.id)}|open in the dashboard>` : "";
  const lines = inc.cause.evidence.slice(0, 5).map((e) => slackCode(`${e.node} ${e.at.slice(11, 19)}  ${e.line}`));
  const summary = slackEscape(inc.cause.summary);
  return {
    text: `${what}: ${where}. ${summary}${link}`,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: `*${what}*: ${where}\n${summary}${link}` } },
      ...(lines.length ? [{ type: "section", text: { type: "mrkdwn", text: "```" + lines.join("\n") + "```" } }] : []),
    ],
  };
}

function parseUrl(url: string): URL | null {
  try {
    const u = new URL(url);
    return u.protocol === "http:" || u.protocol === "https:" ? u : null;
  } catch {
    return null;
  }
}

export function jsonPayload(event: NotifyEvent, inc: ApiIncident, dashboardUrl: string | null) {
  return { event, incident: inc, url: dashboardUrl ? `${dashboardUrl}/incidents/${inc.id}` : null };
}

export class Notifier {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private kick = false;

  constructor(
    private db: Db,
    private log: Logger,
    private counters: Counters,
    private dashboardUrl: string | null,
  ) {}

  /** Queue one notification per enabled webhook of the cluster (idempotent per incident, webhook and event). */
  async enqueue(clusterId: number, incidentId: bigint, event: NotifyEvent, inc: ApiIncident): Promise<number> {
    const hooks = await this.db.webhook.findMany({ where: { clusterId, enabled: true } });
    const now = new Date();
    for (const h of hooks) {
      const payload = h.format === "slack" ? slackPayload(event, inc, this.dashboardUrl) : jsonPayload(event, inc, this.dashboardUrl);
      await this.db.notification.upsert({
        where: { incidentId_webhookId_event: { incidentId, webhookId: h.id, event } },
        create: { incidentId, webhookId: h.id, event, payload: payload as object, nextAt: now, createdAt: now },
        update: {},
      });
    }
    if (hooks.length) this.poke();
    return hooks.length;
  }

  start(everyMs = 500) {
    this.timer = setInterval(() => void this.drain(), everyMs);
    this.timer.unref();
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  poke() {
    if (this.running) this.kick = true;
    else void this.drain();
  }

  /** Deliver what is due; one pass at a time. */
  async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      do {
        this.kick = false;
        const now = Date.now();
        const due = (
          await sqlOf(this.db).query<Claimed>(CLAIM_SQL, [CLAIM_BATCH, new Date(now).toISOString(), new Date(now + CLAIM_LEASE_MS).toISOString()])
        ).rows.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
        await Promise.all(due.map((n) => this.deliver(BigInt(n.id), n.url, n.payload, n.attempts, idempotencyKey(n.incident, n.webhook, n.event))));
        if (due.length === CLAIM_BATCH) this.kick = true; // more may be due
      } while (this.kick);
    } catch (e) {
      this.log.warn({ err: e }, "notification pass failed; will retry");
    } finally {
      this.running = false;
    }
  }

  private async deliver(id: bigint, url: string, payload: unknown, attempts: number, key: string) {
    let error: string | null = null;
    // a URL that passed the webhook validation but that URL() refuses can never be delivered: give up at once
    // (before issue 19 the log line below threw on it, the row was never updated, and it was retried every pass)
    const target = parseUrl(url);
    if (!target) return this.failed(id, url, attempts, "not a usable URL", true);
    try {
      const r = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "keepalived-monitor", "idempotency-key": key },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(TIMEOUT_MS),
        redirect: "manual",
      });
      if (r.status < 200 || r.status >= 300) error = `HTTP ${r.status}`;
      await r.body?.cancel();
    } catch (e) {
      error = (e as Error).message;
    }
    const now = new Date();
    if (!error) {
      this.counters.inc("kam_notifications_total", { result: "delivered" });
      await this.db.notification.update({ where: { id }, data: { deliveredAt: now, attempts: attempts + 1, lastError: null } });
      return;
    }
    await this.failed(id, url, attempts, error, false);
  }

  private async failed(id: bigint, url: string, attempts: number, error: string, permanent: boolean) {
    const now = new Date();
    const n = attempts + 1;
    const giveUp = permanent || n >= MAX_ATTEMPTS;
    this.counters.inc("kam_notifications_total", { result: giveUp ? "failed" : "retry" });
    this.log.warn({ url: parseUrl(url)?.host ?? "(unparseable)", attempts: n, error }, giveUp ? "webhook failed, giving up" : "webhook failed, will retry");
    await this.db.notification.update({
      where: { id },
      data: { attempts: n, lastError: error.slice(0, 500), nextAt: new Date(now.getTime() + backoffMs(n)), failedAt: giveUp ? now : null },
    });
  }
}
