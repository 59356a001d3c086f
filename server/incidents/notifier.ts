/**
 * Notifications of the alert channels (webhook rows: json, slack, alertmanager, pagerduty, email; what
 * each sends and how: channels.ts) on incident open and resolve: a durable outbox table
 * (notification) drained by a background loop with exponential backoff, so a
 * slow or failing receiver never blocks ingest and a restart loses nothing.
 * During a maintenance window of the cluster, incidents are marked silenced
 * and nothing is sent.
 *
 * Several processes may drain the same outbox (replicas, issue 13): a pass
 * CLAIMS its rows (`FOR UPDATE SKIP LOCKED`, next_at and claimed_until moved
 * CLAIM_LEASE_MS ahead) before delivering them, so no two processes send the
 * same row; one that dies mid-delivery leaves its claim to expire and another
 * process retries it once. Every json and slack POST carries `Idempotency-Key:
 * kam-<incident>-<webhook>-<event>`, the same on every retry, so a receiver can
 * drop the second copy of that one retry.
 *
 * Routing (issue 15): an incident below a webhook's min_severity queues nothing for it, and a resolve is
 * queued only where the incident's open was. Secrets (json signing secret, PagerDuty routing key, SMTP
 * password) are never in the outbox: sendTo opens them from the webhook row when it sends.
 *
 * Alertmanager (format "alertmanager", issue 15) forgets an alert that is not
 * sent again within its resolve_timeout (5 min by default), so its webhooks
 * get ONE row per incident (event "alert") holding the incident's current
 * state as an API v2 alert: re-armed (due now) whenever that state changes
 * (opened, updated, closed, re-opened), pushed again every ALERT_REPUSH_MS
 * while the incident is open, and delivered once its resolution (endsAt) was
 * pushed. One row means one push in flight per incident and webhook, so a
 * firing push can never overtake the resolution. A row re-armed while a
 * process delivers it keeps that claim (claimed_until); the delivery, finding
 * a payload other than the one it sent, leaves the row due at once. Those
 * posts carry no Idempotency-Key: every push is meant to arrive, and
 * Alertmanager identifies an alert by its labels.
 */
import { sqlOf, type Db } from "../db/database";
import type { Logger } from "../log";
import type { Counters } from "../metrics";
import type { IncidentKind } from "../detect/types";
import type { Prisma } from "../generated/prisma/client";
import type { ApiIncident } from "./incident-store";
import { alertsUrl, emailPayload, pagerdutyPayload, sendTo, severityReaches } from "./channels";
import type { SecretBox } from "./secret-box";

const MAX_ATTEMPTS = 10;
/** a claimed row is not due again for this long: far beyond one delivery (TIMEOUT_MS) */
export const CLAIM_LEASE_MS = 60_000;
/** rows claimed per pass */
const CLAIM_BATCH = 20;
/**
 * an open incident's alert is pushed to Alertmanager again this long after its last push: well within
 * Alertmanager's resolve_timeout (default 5 min), after which an alert not sent again counts as resolved
 */
export const ALERT_REPUSH_MS = 60_000;

/**
 * Claim the due rows of this pass: locked rows (another process claiming them now) are skipped, and the
 * claimed ones are due again only after the lease (a delivery sets next_at or delivered_at itself).
 * claimed_until records the claim apart from next_at, for the re-arming of an alert row (ARM_SQL).
 */
const CLAIM_SQL = `UPDATE notification n SET next_at = $3::timestamptz, claimed_until = $3::timestamptz
  FROM webhook w
  WHERE w.id = n.webhook_id
    AND n.id IN (SELECT id FROM notification
                 WHERE delivered_at IS NULL AND failed_at IS NULL AND next_at <= $2::timestamptz
                 ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
  RETURNING n.id::text AS id, n.incident_id::text AS incident, n.webhook_id AS webhook, n.event, n.attempts, n.payload,
            w.url, w.format, w.secret, w.settings`;

/**
 * Queue or re-arm the alert row of an Alertmanager webhook: a new payload (the incident's state changed)
 * makes it due now with a fresh count of attempts, also after it was delivered or given up; the same
 * payload again (an update that changed nothing the alert shows) changes nothing. A row claimed by a process delivering it
 * keeps its claim and lease: that delivery sees the new payload and leaves the row due (settle).
 */
const ARM_SQL = `INSERT INTO notification (incident_id, webhook_id, event, payload, next_at, created_at)
  VALUES ($1, $2, 'alert', $3::jsonb, $4::timestamptz, $4::timestamptz)
  ON CONFLICT (incident_id, webhook_id, event) DO UPDATE SET
    payload = EXCLUDED.payload, attempts = 0, last_error = NULL, delivered_at = NULL, failed_at = NULL,
    next_at = CASE WHEN notification.claimed_until > EXCLUDED.next_at THEN notification.next_at ELSE EXCLUDED.next_at END
  WHERE notification.payload IS DISTINCT FROM EXCLUDED.payload`;

interface Claimed {
  id: string;
  incident: string;
  webhook: number;
  event: string;
  attempts: number;
  payload: unknown;
  url: string;
  format: string;
  /** sealed (secret-box.ts) */
  secret: string | null;
  settings: unknown;
}

/** the key a receiver can deduplicate on: one per incident, webhook and event (unique in the outbox) */
export const idempotencyKey = (incident: string | bigint, webhook: number, event: string) => `kam-${incident}-${webhook}-${event}`;

export type NotifyEvent = "opened" | "resolved";
/** what the notifier hears of an incident: json and slack send "opened" and "resolved"; Alertmanager's alert follows every change */
export type IncidentEvent = NotifyEvent | "updated";

export const WEBHOOK_FORMATS = ["json", "slack", "alertmanager", "pagerduty", "email"] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];
export const isWebhookFormat = (s: string): s is WebhookFormat => (WEBHOOK_FORMATS as readonly string[]).includes(s);

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

/**
 * Why `url` cannot be a webhook of this format, or null. Refused when the webhook is added: what no
 * delivery could use (not http/https, unparseable, a user or password, which fetch() refuses) and, for
 * Alertmanager, anything but its base URL (the posts go to <url>/api/v2/alerts).
 */
export function webhookUrlProblem(url: string, format: WebhookFormat): string | null {
  const u = /^https?:\/\/[^\s]+$/.test(url) ? parseUrl(url) : null;
  if (!u) return "must be an http:// or https:// URL";
  if (u.username || u.password) return "must not carry a user name or password (fetch() refuses such URLs)";
  if (format !== "alertmanager") return null;
  if (/\/api\/v\d\/alerts\/?$/.test(u.pathname)) return `is Alertmanager's base URL, without /api/v2/alerts (e.g. ${u.origin}${u.pathname.replace(/\/api\/v\d\/alerts\/?$/, "")})`;
  if (u.search || u.hash) return "is Alertmanager's base URL: no ?query or #fragment (the posts go to <url>/api/v2/alerts)";
  return null;
}

/** where an Alertmanager webhook posts: its base URL (a path prefix kept) + /api/v2/alerts */
export { alertsUrl };

/** Alertmanager's alertname per kind; a Record, so that a new kind cannot go without one */
export const ALERTNAMES: Record<IncidentKind, string> = {
  FAULT: "KeepalivedFault",
  DUAL_MASTER: "KeepalivedDualMaster",
  NO_MASTER: "KeepalivedNoMaster",
  FLAPPING: "KeepalivedFlapping",
  AGENT_OFFLINE: "KeepalivedAgentOffline",
  STATE_MISMATCH: "KeepalivedStateMismatch",
  CONFIG_DRIFT: "KeepalivedConfigDrift",
  KEEPALIVED_DOWN: "KeepalivedDown",
};

/**
 * kinds about one node, which stays the same for the incident's life (it is part of the detector's slot):
 * they get a `node` label. Other kinds list their nodes in an annotation only, because the nodes of an
 * open incident may grow and a changed label would make another alert.
 */
const ONE_NODE = new Set<IncidentKind>(["FAULT", "STATE_MISMATCH", "AGENT_OFFLINE", "KEEPALIVED_DOWN"]);

export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL?: string;
}

/**
 * The incident as Alertmanager API v2 postable alerts (one). Its labels identify it (the `incident` label
 * makes each incident its own alert) and never change while it lives; a closed incident carries
 * endsAt = closedAt (resolved), an open one no endsAt (Alertmanager then keeps it for its resolve_timeout
 * after each push, hence the re-push).
 */
export function alertmanagerPayload(inc: ApiIncident, dashboardUrl: string | null): PostableAlert[] {
  const labels: Record<string, string> = {
    alertname: ALERTNAMES[inc.kind],
    cluster: inc.cluster,
    kind: inc.kind,
    severity: inc.severity,
    incident: inc.id,
  };
  if (inc.vrid != null) labels.vrid = String(inc.vrid);
  if (ONE_NODE.has(inc.kind) && inc.nodes.length === 1) labels.node = inc.nodes[0];
  const where = `cluster ${inc.cluster}${inc.vrid != null ? `, VRID ${inc.vrid}` : ""}`;
  const nodes = inc.nodes.join(", ");
  return [
    {
      labels,
      annotations: {
        summary: `${inc.kind} in ${where}${nodes ? ` (${nodes})` : ""}`,
        description: inc.cause.summary,
        cause_code: inc.cause.code,
        ...(nodes ? { nodes } : {}),
      },
      startsAt: inc.openedAt,
      ...(inc.closedAt ? { endsAt: inc.closedAt } : {}),
      ...(dashboardUrl ? { generatorURL: `${dashboardUrl}/incidents/${encodeURIComponent(inc.id)}` } : {}),
    },
  ];
}

/** a pushed alert payload that resolves its alert: after it, nothing is left to push */
function resolvesAlert(payload: unknown): boolean {
  return Array.isArray(payload) && payload.every((a: PostableAlert) => typeof a.endsAt === "string");
}

/** what one notification of a json, slack, pagerduty or email webhook carries (built when it is queued) */
export function notificationPayload(format: string, event: NotifyEvent, inc: ApiIncident, dashboardUrl: string | null): unknown {
  switch (format) {
    case "slack":
      return slackPayload(event, inc, dashboardUrl);
    case "pagerduty":
      return pagerdutyPayload(event, inc, dashboardUrl);
    case "email":
      return emailPayload(event, inc, dashboardUrl);
    default:
      return jsonPayload(event, inc, dashboardUrl);
  }
}

/** a target's host (and port) for logs and listings: never its path, query or credentials */
export function targetHost(url: string): string {
  try {
    return new URL(url).host || "(no host)";
  } catch {
    return "(unparseable)";
  }
}

export class Notifier {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private kick = false;
  private readonly repushMs: number;

  private readonly secrets: SecretBox | null;

  constructor(
    private db: Db,
    private log: Logger,
    private counters: Counters,
    private dashboardUrl: string | null,
    /**
     * secrets: the key that opens the channels' sealed secrets (signing secret, routing key, SMTP password);
     * without it a channel with a secret fails (counted, logged) and is retried.
     * testOnlyRepushMs: the Alertmanager re-push interval, shortened by tests (default ALERT_REPUSH_MS)
     */
    opts: { testOnlyRepushMs?: number; secrets?: SecretBox | null } = {},
  ) {
    this.repushMs = opts.testOnlyRepushMs ?? ALERT_REPUSH_MS;
    this.secrets = opts.secrets ?? null;
  }

  /**
   * Queue one notification per enabled webhook of the cluster whose minimum severity the incident reaches
   * (json, slack, pagerduty, email: idempotent per incident, webhook and event; "updated" is not sent to
   * them; a resolve only where the open was queued), and bring each Alertmanager webhook's alert row to the
   * incident's current state (ARM_SQL).
   */
  async enqueue(clusterId: number, incidentId: bigint, event: IncidentEvent, inc: ApiIncident): Promise<number> {
    const all = await this.db.webhook.findMany({ where: { clusterId, enabled: true, ...(event === "updated" ? { format: "alertmanager" } : {}) } });
    let hooks = all.filter((h) => severityReaches(inc.severity, h.minSeverity));
    if (event === "resolved" && hooks.some((h) => h.format !== "alertmanager")) {
      const opened = new Set(
        (await this.db.notification.findMany({ where: { incidentId, event: "opened" }, select: { webhookId: true } })).map((r) => r.webhookId),
      );
      hooks = hooks.filter((h) => h.format === "alertmanager" || opened.has(h.id));
    }
    const now = new Date();
    for (const h of hooks) {
      if (h.format === "alertmanager") {
        const payload = JSON.stringify(alertmanagerPayload(inc, this.dashboardUrl));
        await sqlOf(this.db).query(ARM_SQL, [incidentId.toString(), h.id, payload, now.toISOString()]);
      } else if (event !== "updated") {
        const payload = notificationPayload(h.format, event, inc, this.dashboardUrl);
        await this.db.notification.upsert({
          where: { incidentId_webhookId_event: { incidentId, webhookId: h.id, event } },
          create: { incidentId, webhookId: h.id, event, payload: payload as object, nextAt: now, createdAt: now },
          update: {},
        });
      }
    }
    if (hooks.length) this.poke();
    return hooks.length;
  }

  /**
   * At start: the channels whose secret was sealed under another key than the one loaded (a replica or
   * CLI with another KAM_SECRETS_KEY_FILE), logged as an error naming the setting, before any delivery
   * fails on them. Returns their ids.
   */
  async checkSecrets(): Promise<number[]> {
    const rows = await this.db.webhook.findMany({ where: { secret: { not: null } }, select: { id: true, secret: true }, orderBy: { id: "asc" } });
    const bad = rows.filter((r) => !this.secrets || r.secret!.split(".")[1] !== this.secrets.keyId).map((r) => r.id);
    if (bad.length) {
      this.log.error(
        { webhooks: bad, keyFile: this.secrets?.source ?? null },
        "alert channels sealed with another key than KAM_SECRETS_KEY_FILE's: their notifications will fail until KAM_SECRETS_KEY_FILE names the key they were sealed with",
      );
    }
    return bad;
  }

  start(everyMs = 500) {
    this.timer = setInterval(() => void this.drain(), everyMs);
    this.timer.unref();
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * Drain now rather than at the next tick. Not before start(): while the engines replay stored history
   * (restore) an alert row passes through the replayed states, and only the state they end in is to be sent.
   */
  poke() {
    if (!this.timer) return;
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
        await Promise.all(due.map((n) => this.deliver(n)));
        if (due.length === CLAIM_BATCH) this.kick = true; // more may be due
      } while (this.kick);
    } catch (e) {
      this.log.warn({ err: e }, "notification pass failed; will retry");
    } finally {
      this.running = false;
    }
  }

  private async deliver(n: Claimed) {
    const alert = n.format === "alertmanager";
    // a URL that passed the webhook validation but that URL() refuses can never be delivered: give up at once
    // (before issue 19 the log line below threw on it, the row was never updated, and it was retried every pass)
    if (!parseUrl(alert ? alertsUrl(n.url) : n.url) && n.format !== "email") return this.failed(n, "not a usable URL", true);
    const { error, permanent } = await sendTo(
      { id: n.webhook, url: n.url, format: n.format, secret: n.secret, settings: n.settings },
      n.payload,
      idempotencyKey(n.incident, n.webhook, n.event),
      this.secrets,
    );
    const now = new Date();
    if (!error) {
      this.counters.inc("kam_notifications_total", { result: "delivered", format: n.format });
      if (!alert) await this.settle(n, { deliveredAt: now, attempts: n.attempts + 1, lastError: null });
      else if (resolvesAlert(n.payload)) await this.settle(n, { deliveredAt: now, attempts: 0, lastError: null });
      // the incident is still open: push it again before Alertmanager's resolve_timeout forgets it
      else await this.settle(n, { nextAt: new Date(now.getTime() + this.repushMs), attempts: 0, lastError: null });
      return;
    }
    await this.failed(n, error, permanent === true);
  }

  private async failed(n: Claimed, error: string, permanent: boolean) {
    const now = new Date();
    const attempts = n.attempts + 1;
    const giveUp = permanent || attempts >= MAX_ATTEMPTS;
    this.counters.inc("kam_notifications_total", { result: giveUp ? "failed" : "retry", format: n.format });
    // the host only: a URL's path or query may hold a token (Slack, PagerDuty), and no secret is ever logged
    this.log.warn({ webhook: n.webhook, format: n.format, host: targetHost(n.url), attempts, error }, giveUp ? "webhook failed, giving up" : "webhook failed, will retry");
    await this.settle(n, { attempts, lastError: error.slice(0, 500), nextAt: new Date(now.getTime() + backoffMs(attempts)), failedAt: giveUp ? now : null });
  }

  /**
   * Record the outcome of a delivery and end its claim. A row whose payload is no longer the one sent was
   * re-armed meanwhile (an Alertmanager alert whose incident changed, ARM_SQL): it is left as re-armed and
   * due now, so the new state is pushed next, by whichever process claims it.
   */
  private async settle(n: Claimed, data: Prisma.NotificationUpdateManyMutationInput) {
    const id = BigInt(n.id);
    const r = await this.db.notification.updateMany({ where: { id, payload: { equals: n.payload as Prisma.InputJsonValue } }, data: { ...data, claimedUntil: null } });
    if (r.count === 0) await this.db.notification.updateMany({ where: { id }, data: { claimedUntil: null, nextAt: new Date() } });
  }
}
