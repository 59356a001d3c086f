/**
 * Managing the alert channels (issue 15): list, add, edit, enable or disable, remove, send a test, and the
 * delivery log. The one implementation behind both the admin CLI (`npm run admin -- webhook ...`) and the
 * admin API (/api/admin/channels...). Transport-free: bad input is a ChannelInputError (a typed code and
 * a message saying what is expected), which each caller turns into its own error (usage error, HTTP 400).
 *
 * Secrets (json signing secret, PagerDuty routing key, SMTP password) are sealed with the secret box before
 * they are stored and are never given back: a channel's view says whether it has one ("***") and shows
 * its URL up to the host only (a path or query may hold a token: Slack's do).
 */
import crypto from "node:crypto";
import type { Db } from "../db/database";
import type { Webhook } from "../generated/prisma/client";
import { MASK, maskUrl } from "../audit/redact";
import { PAGERDUTY_URL, sendTo, type EmailSettings, type SEVERITIES } from "./channels";
import type { ApiIncident } from "./incident-store";
import { alertmanagerPayload, notificationPayload, WEBHOOK_FORMATS, webhookUrlProblem, type WebhookFormat } from "./notifier";
import type { SecretBox } from "./secret-box";

export class ChannelInputError extends Error {
  constructor(
    readonly code: "invalid_message" | "not_found",
    message: string,
  ) {
    super(message);
    this.name = "ChannelInputError";
  }
}

const ADDRESS = /^[^\s@<>,;"]+@[^\s@<>,;"]+$/;

/** a new Standard Webhooks signing secret: whsec_ and 32 random bytes in base64 */
export const generateSigningSecret = () => `whsec_${crypto.randomBytes(32).toString("base64")}`;

/** why `secret` cannot be the secret of a channel of this format, or null */
export function secretProblem(format: string, secret: string): string | null {
  if (format === "json") {
    const m = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(secret);
    const bytes = m ? Buffer.from(m[1], "base64").length : 0;
    // Standard Webhooks: 24 to 64 random bytes
    if (bytes < 24 || bytes > 64) return "a signing secret is whsec_ followed by 24 to 64 bytes in base64 (leave it out to have one generated)";
  }
  if (format === "pagerduty" && !/^[A-Za-z0-9]{20,64}$/.test(secret)) return "a PagerDuty routing key is 32 letters and digits (the integration key of an Events API v2 service)";
  if ((format === "slack" || format === "alertmanager") && secret) return `a ${format} channel takes no secret`;
  return null;
}

/** why `url` cannot be an email channel's SMTP server, or null */
export function smtpUrlProblem(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "must be smtp://HOST[:PORT] for an email channel";
  }
  if (u.protocol !== "smtp:" || !u.hostname) return "must be smtp://HOST[:PORT] for an email channel";
  if (u.username || u.password || (u.pathname && u.pathname !== "/") || u.search || u.hash) {
    return "must be smtp://HOST[:PORT] only (the user and the password are given apart: --smtp-user and --secret-stdin on the CLI, email.user and secret in the API)";
  }
  return null;
}

/** an email channel's settings: recipients, sender, SMTP user, CA certificate(s) (PEM) */
export interface EmailInput {
  to: string[];
  from: string;
  user?: string;
  ca?: string;
}

function emailProblem(e: EmailInput): string | null {
  const bad = e.to.find((t) => !ADDRESS.test(t));
  if (e.to.length === 0 || bad !== undefined) return `to: email addresses${bad !== undefined ? ` (not "${bad}")` : ""}`;
  if (!ADDRESS.test(e.from)) return `from: an email address (not "${e.from}")`;
  if (e.ca !== undefined && !e.ca.includes("-----BEGIN CERTIFICATE-----")) return "ca: PEM certificate(s) (-----BEGIN CERTIFICATE-----)";
  return null;
}

export interface NewChannel {
  cluster: string;
  format: WebhookFormat;
  /** json, slack, alertmanager: required; pagerduty: default PAGERDUTY_URL; email: smtp://HOST[:PORT] */
  url?: string;
  minSeverity?: (typeof SEVERITIES)[number];
  /** json: the signing secret (generated when missing); pagerduty: the routing key; email: the SMTP password */
  secret?: string;
  email?: EmailInput;
}

export interface ChannelPatch {
  url?: string;
  minSeverity?: (typeof SEVERITIES)[number];
  enabled?: boolean;
  /** a new secret (json, pagerduty, email); the old one is replaced */
  secret?: string;
  email?: EmailInput;
}

export interface ChannelView {
  id: number;
  cluster: string;
  format: string;
  /** up to the host: a path or query may hold a token */
  url: string;
  enabled: boolean;
  minSeverity: string;
  /** "***" when the channel has a secret (never shown), null when not */
  secret: string | null;
  /** email: recipients, sender, SMTP user, whether a CA is set; null for the others */
  email: { to: string[]; from: string; user: string | null; ca: boolean } | null;
  createdAt: string;
  lastTest: { at: string; ok: boolean; answer: string } | null;
}

type Row = Webhook & { cluster: { name: string } };

/** what the API and the audit log show of a channel: no secret, the URL up to its host */
export function channelView(h: Row): ChannelView {
  const s = h.settings as unknown as Partial<EmailSettings>;
  return {
    id: h.id, cluster: h.cluster.name, format: h.format, url: maskUrl(h.url), enabled: h.enabled, minSeverity: h.minSeverity,
    secret: h.secret === null ? null : MASK,
    email: h.format === "email" ? { to: s.to ?? [], from: s.from ?? "", user: s.user ?? null, ca: !!s.ca } : null,
    createdAt: h.createdAt.toISOString(),
    lastTest: h.lastTestAt ? { at: h.lastTestAt.toISOString(), ok: h.lastTestError === null, answer: h.lastTestAnswer ?? h.lastTestError ?? "" } : null,
  };
}

/**
 * The stored url and settings of a channel of `format`, checked with its secret: `secret` a new one (checked),
 * or whether it keeps one already stored. A problem is a ChannelInputError.
 */
function checked(format: WebhookFormat, url: string, email: EmailInput | undefined, secret: string | boolean): { url: string; settings: object } {
  const problem = format === "email" ? smtpUrlProblem(url) : webhookUrlProblem(url, format);
  if (problem) throw new ChannelInputError("invalid_message", `url: ${problem}`);
  if (format === "email") {
    if (!email) throw new ChannelInputError("invalid_message", "an email channel needs its recipients (to) and sender (from)");
    const bad = emailProblem(email);
    if (bad) throw new ChannelInputError("invalid_message", bad);
    if (email.user && !secret) throw new ChannelInputError("invalid_message", "an SMTP user needs its password (secret)");
  } else if (email) throw new ChannelInputError("invalid_message", "to, from, user and ca are for an email channel");
  if (format === "pagerduty" && !secret) throw new ChannelInputError("invalid_message", "a PagerDuty channel needs its routing key (secret)");
  if (typeof secret === "string") {
    const bad = secretProblem(format, secret);
    if (bad) throw new ChannelInputError("invalid_message", `secret: ${bad}`);
  }
  const settings = format === "email" ? { to: email!.to, from: email!.from, ...(email!.user ? { user: email!.user } : {}), ...(email!.ca ? { ca: email!.ca } : {}) } : {};
  return { url, settings };
}

async function rowOf(db: Db, id: number): Promise<Row> {
  const h = await db.webhook.findUnique({ where: { id }, include: { cluster: true } });
  if (!h) throw new ChannelInputError("not_found", `no webhook ${id}`);
  return h;
}

/** every channel, oldest first */
export async function listChannels(db: Db): Promise<ChannelView[]> {
  return (await db.webhook.findMany({ include: { cluster: true }, orderBy: { id: "asc" } })).map(channelView);
}

/**
 * Adds a channel. Returns its view and, for a json channel given no secret, the signing secret generated
 * for it (to be shown once: the receiver needs it to verify signatures).
 */
export async function addChannel(db: Db, box: () => SecretBox, c: NewChannel, now = new Date()): Promise<{ channel: ChannelView; signingSecret: string | null }> {
  if (!(WEBHOOK_FORMATS as readonly string[]).includes(c.format)) throw new ChannelInputError("invalid_message", `format: one of ${WEBHOOK_FORMATS.join(", ")}`);
  const generated = c.format === "json" && !c.secret ? generateSigningSecret() : null;
  const secret = c.secret || generated;
  const { url, settings } = checked(c.format, c.url ?? (c.format === "pagerduty" ? PAGERDUTY_URL : ""), c.email, secret ?? false);
  const cluster = await db.cluster.findUnique({ where: { name: c.cluster } });
  if (!cluster) throw new ChannelInputError("not_found", `no cluster "${c.cluster}" (clusters appear when a token is created for them)`);
  const h = await db.webhook.create({
    data: {
      clusterId: cluster.id, url, format: c.format, minSeverity: c.minSeverity ?? "info", settings,
      secret: secret ? box().seal(secret, "webhook-secret") : null, createdAt: now,
    },
    include: { cluster: true },
  });
  return { channel: channelView(h), signingSecret: generated };
}

/** Changes a channel: what `patch` names; the result is checked as a whole (an email channel keeps its recipients...). */
export async function editChannel(db: Db, box: () => SecretBox, id: number, patch: ChannelPatch): Promise<ChannelView> {
  const h = await rowOf(db, id);
  const format = h.format as WebhookFormat;
  const stored = h.settings as unknown as Partial<EmailSettings>;
  const email = patch.email ?? (format === "email" ? { to: stored.to ?? [], from: stored.from ?? "", ...(stored.user ? { user: stored.user } : {}), ...(stored.ca ? { ca: stored.ca } : {}) } : undefined);
  // the secret is checked only when a new one is given; the stored one was checked when it was set
  const secretGiven = patch.secret !== undefined && patch.secret !== "";
  const { url, settings } = checked(format, patch.url ?? h.url, email, secretGiven ? patch.secret! : h.secret !== null);
  const row = await db.webhook.update({
    where: { id },
    data: {
      url, settings,
      ...(patch.minSeverity !== undefined ? { minSeverity: patch.minSeverity } : {}),
      ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
      ...(secretGiven ? { secret: box().seal(patch.secret!, "webhook-secret") } : {}),
    },
    include: { cluster: true },
  });
  return channelView(row);
}

/** false when there was no such channel; its queued notifications go with it */
export async function removeChannel(db: Db, id: number): Promise<boolean> {
  return (await db.webhook.deleteMany({ where: { id } })).count > 0;
}

/**
 * The notifications a test sends, as [what, payload]: a made-up critical incident (it reaches any minimum
 * severity); pagerduty gets its trigger and then its resolve (no page is left open), Alertmanager an alert
 * that ends by itself after 5 minutes, the others the open.
 */
export function testNotifications(format: string, cluster: string, webhookId: number, dashboardUrl: string | null, now = new Date()): [string, unknown][] {
  const inc: ApiIncident = {
    id: `test-${webhookId}-${now.getTime()}`,
    cluster, kind: "DUAL_MASTER", severity: "critical", vrid: null, instances: {}, nodes: [],
    openedAt: now.toISOString(), closedAt: null, silenced: false,
    cause: { code: "test", summary: "A test notification sent from keepalived-monitor's channel settings: not an incident.", evidence: [] },
  };
  if (format === "alertmanager") return [["alert", alertmanagerPayload({ ...inc, closedAt: new Date(now.getTime() + 300_000).toISOString() }, dashboardUrl)]];
  if (format === "pagerduty") return [["trigger", notificationPayload(format, "opened", inc, dashboardUrl)], ["resolve", notificationPayload(format, "resolved", inc, dashboardUrl)]];
  return [["opened", notificationPayload(format, "opened", inc, dashboardUrl)]];
}

export interface TestStep {
  event: string;
  ok: boolean;
  /** the receiver's answer ("HTTP 202", "250 OK ...") or the error */
  answer: string;
}

/**
 * Sends a test notification to a channel now (disabled or not) and keeps the outcome on the channel (its
 * last test). Stops at the first step that fails. The steps say what the receiver answered.
 */
export async function testChannel(db: Db, box: () => SecretBox, id: number, dashboardUrl: string | null, now = new Date()): Promise<{ ok: boolean; steps: TestStep[] }> {
  const h = await rowOf(db, id);
  const secrets = h.secret === null ? null : box();
  const steps: TestStep[] = [];
  for (const [event, payload] of testNotifications(h.format, h.cluster.name, h.id, dashboardUrl, now)) {
    const r = await sendTo(h, payload, `kam-test-${h.id}-${now.getTime()}`, secrets);
    steps.push({ event, ok: r.error === null, answer: r.error ?? r.answer });
    if (r.error) break;
  }
  const failed = steps.find((s) => !s.ok);
  await db.webhook.update({
    where: { id },
    data: { lastTestAt: now, lastTestAnswer: steps.map((s) => `${s.event}: ${s.answer}`).join("; "), lastTestError: failed ? failed.answer : null },
  });
  return { ok: !failed, steps };
}

export interface Delivery {
  incident: string;
  event: string;
  /** delivered; failed (given up); retrying (failed, tried again later); pending (not tried yet) */
  status: "delivered" | "failed" | "retrying" | "pending";
  attempts: number;
  error: string | null;
  createdAt: string;
  /** when it was delivered or given up, else when it is tried next */
  at: string;
}

/** a channel's newest notifications (the outbox rows), newest first */
export async function channelDeliveries(db: Db, id: number, limit = 50): Promise<Delivery[]> {
  await rowOf(db, id);
  const rows = await db.notification.findMany({ where: { webhookId: id }, orderBy: { id: "desc" }, take: limit });
  return rows.map(deliveryOf);
}

/** every channel's newest notification, by channel id (two queries, whatever the number of channels) */
export async function lastDeliveries(db: Db): Promise<Map<number, Delivery>> {
  const newest = await db.notification.groupBy({ by: ["webhookId"], _max: { id: true } });
  const ids = newest.flatMap((g) => (g._max.id === null ? [] : [g._max.id]));
  const rows = ids.length ? await db.notification.findMany({ where: { id: { in: ids } } }) : [];
  return new Map(rows.map((n) => [n.webhookId, deliveryOf(n)]));
}

type NotificationRow = Awaited<ReturnType<Db["notification"]["findMany"]>>[number];

function deliveryOf(n: NotificationRow): Delivery {
  return {
    incident: n.incidentId.toString(),
    event: n.event,
    status: n.deliveredAt ? "delivered" : n.failedAt ? "failed" : n.attempts > 0 ? "retrying" : "pending",
    attempts: n.attempts,
    error: n.lastError,
    createdAt: n.createdAt.toISOString(),
    at: (n.deliveredAt ?? n.failedAt ?? n.nextAt).toISOString(),
  };
}
