/**
 * The alert channels of issue 15 beyond Slack and Alertmanager: what each sends (payload builders, pure)
 * and how one notification reaches one channel (sendTo, used by the outbox's Notifier and by
 * `npm run admin -- webhook test`).
 *
 * - json: the generic body, signed per Standard Webhooks (the `standardwebhooks` package): headers
 *   webhook-id (the notification's idempotency key, the same on every retry), webhook-timestamp and
 *   webhook-signature (HMAC-SHA256 with the webhook's whsec_ secret). A json webhook added before issue 15
 *   has no secret and is sent unsigned, as it was.
 * - pagerduty: Events API v2 (trigger on open, resolve on close, dedup_key kam-incident-<id>); the routing
 *   key is added at delivery, never stored in the outbox's payload.
 * - email: SMTP through nodemailer, STARTTLS required (implicit TLS on port 465), AUTH when a user is set;
 *   a text and an HTML body (every value from the data escaped) linking to the incident.
 * Secrets (signing secret, routing key, SMTP password) are sealed in the webhook row (secret-box.ts) and
 * opened only here, at the moment of sending.
 */
import nodemailer from "nodemailer";
import { Webhook as StandardWebhook } from "standardwebhooks";
import type { ApiIncident } from "./incident-store";
import type { SecretBox } from "./secret-box";

export const SEVERITIES = ["info", "warning", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];
/** whether an incident of `severity` goes to a channel whose minimum is `min` (an unknown value: everything) */
export const severityReaches = (severity: string, min: string) =>
  SEVERITIES.indexOf(severity as Severity) >= Math.max(0, SEVERITIES.indexOf(min as Severity));

export const PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue";
const TIMEOUT_MS = 5000;

/** the incident's page, or null without a public URL */
export const incidentLink = (inc: ApiIncident, dashboardUrl: string | null) =>
  dashboardUrl ? `${dashboardUrl.replace(/\/+$/, "")}/incidents/${encodeURIComponent(inc.id)}` : null;

const where = (inc: ApiIncident) => `cluster ${inc.cluster}${inc.vrid != null ? `, VRID ${inc.vrid}` : ""}`;

/** PagerDuty's stable key per incident: the trigger and the resolve of one incident carry the same */
export const pagerdutyDedupKey = (inc: ApiIncident) => `kam-incident-${inc.id}`;

export interface PagerDutyEvent {
  event_action: "trigger" | "resolve";
  dedup_key: string;
  payload?: {
    summary: string;
    severity: "critical" | "warning" | "info";
    source: string;
    component: string;
    group: string;
    class: string;
    timestamp: string;
    custom_details: Record<string, unknown>;
  };
  links?: { href: string; text: string }[];
  client?: string;
  client_url?: string;
}

/** Events API v2 event without its routing_key (added by sendTo): a trigger on open, a resolve on close */
export function pagerdutyPayload(event: "opened" | "resolved", inc: ApiIncident, dashboardUrl: string | null): PagerDutyEvent {
  const dedup_key = pagerdutyDedupKey(inc);
  if (event === "resolved") return { event_action: "resolve", dedup_key };
  const link = incidentLink(inc, dashboardUrl);
  return {
    event_action: "trigger",
    dedup_key,
    payload: {
      // PagerDuty cuts summaries at 1024 characters
      summary: `${inc.kind} in ${where(inc)}: ${inc.cause.summary}`.slice(0, 1024),
      severity: inc.severity,
      source: inc.nodes.join(", ") || inc.cluster,
      component: inc.vrid != null ? `VRID ${inc.vrid}` : "keepalived",
      group: inc.cluster,
      class: inc.kind,
      timestamp: inc.openedAt,
      custom_details: {
        cause_code: inc.cause.code,
        cause: inc.cause.summary,
        nodes: inc.nodes,
        instances: inc.instances,
        evidence: inc.cause.evidence.slice(0, 5).map((e) => `${e.node} ${e.at}  ${e.line}`),
        incident: inc.id,
      },
    },
    ...(link ? { links: [{ href: link, text: "Incident in keepalived-monitor" }] } : {}),
    client: "keepalived-monitor",
    ...(dashboardUrl ? { client_url: dashboardUrl } : {}),
  };
}

/** for HTML text and attribute values */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** no control characters (line breaks) from the data in a header line */
const oneLine = (s: string) => s.replace(/[\u0000-\u001f\u007f]+/g, " ");

export interface EmailMessage {
  subject: string;
  text: string;
  html: string;
}

/** the mail of an incident's open or resolve: a subject, a text body and the same as HTML, linking to the incident */
export function emailPayload(event: "opened" | "resolved", inc: ApiIncident, dashboardUrl: string | null): EmailMessage {
  const what = `${inc.kind} ${event === "opened" ? "opened" : "resolved"}`;
  const link = incidentLink(inc, dashboardUrl);
  const facts: [string, string][] = [
    ["Severity", inc.severity],
    ["Cluster", inc.cluster],
    ...(inc.vrid != null ? [["VRID", String(inc.vrid)] as [string, string]] : []),
    ["Nodes", inc.nodes.join(", ") || "-"],
    ["Opened", inc.openedAt],
    ...(inc.closedAt ? [["Closed", inc.closedAt] as [string, string]] : []),
    ["Cause", `${inc.cause.summary} (${inc.cause.code})`],
  ];
  const evidence = inc.cause.evidence.slice(0, 5).map((e) => `${e.node} ${e.at}  ${e.line}`);
  const text = [
    `${what} in ${where(inc)}`,
    "",
    ...facts.map(([k, v]) => `${k}: ${v}`),
    ...(evidence.length ? ["", "Evidence:", ...evidence.map((l) => `  ${l}`)] : []),
    ...(link ? ["", `Open in the dashboard: ${link}`] : []),
    "",
    "-- keepalived-monitor",
  ].join("\n");
  const e = escapeHtml;
  const html = [
    `<!doctype html><html><body style="font-family:sans-serif">`,
    `<h2>${e(what)} in ${e(where(inc))}</h2>`,
    `<table>${facts.map(([k, v]) => `<tr><th align="left">${e(k)}</th><td>${e(v)}</td></tr>`).join("")}</table>`,
    ...(evidence.length ? [`<h3>Evidence</h3><pre>${evidence.map(e).join("\n")}</pre>`] : []),
    ...(link ? [`<p><a href="${e(link)}">Open in the dashboard</a></p>`] : []),
    `</body></html>`,
  ].join("\n");
  return { subject: oneLine(`[keepalived-monitor] ${what}: ${where(inc)}`), text, html };
}

/** email settings of a webhook row (the password is its sealed secret) */
export interface EmailSettings {
  to: string[];
  from: string;
  user?: string;
  /** PEM CA certificate(s) trusted for the SMTP server's certificate, besides the system's */
  ca?: string;
}

/** one channel as its webhook row has it; `secret` still sealed */
export interface ChannelTarget {
  id: number;
  url: string;
  format: string;
  secret: string | null;
  settings: unknown;
}

export interface SendResult {
  /** null: delivered */
  error: string | null;
  /** the receiver's answer: "HTTP 202", "250 OK ..." or the error */
  answer: string;
  /**
   * the receiver refused this notification itself (HTTP 4xx other than 408 Request Timeout, 425 Too Early and
   * 429 Too Many Requests): sending it again cannot succeed, so it is not retried
   */
  permanent?: boolean;
}

/** a status that says the request itself is wrong (bad payload, bad routing key, gone): not worth a retry */
export const refusesForGood = (status: number) => status >= 400 && status < 500 && status !== 408 && status !== 425 && status !== 429;

/** where a channel sends, given its row's url; alertmanager posts to <base>/api/v2/alerts */
export const alertsUrl = (base: string) => `${base.replace(/\/+$/, "")}/api/v2/alerts`;

/**
 * Send one notification to one channel. `key` identifies the notification (the same on every retry): the
 * Idempotency-Key and webhook-id of json and slack posts, the Message-ID of an email. Never throws: a
 * failure (network, status, a secret that cannot be opened) is the result's error.
 */
export async function sendTo(target: ChannelTarget, payload: unknown, key: string, secrets: SecretBox | null): Promise<SendResult> {
  try {
    if (target.secret != null && !secrets) throw new Error("the webhook has a secret but no secrets key is loaded (KAM_SECRETS_KEY_FILE)");
    const secret = target.secret == null ? null : secrets!.open(target.secret, "webhook-secret");
    if (target.format === "email") return await sendMail(target, payload as EmailMessage, key, secret);
    let url = target.url;
    let body = JSON.stringify(payload);
    const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "keepalived-monitor" };
    if (target.format === "alertmanager") url = alertsUrl(target.url);
    else if (target.format === "pagerduty") {
      if (!secret) throw new Error("the PagerDuty webhook has no routing key");
      body = JSON.stringify({ routing_key: secret, ...(payload as PagerDutyEvent) });
    } else {
      headers["idempotency-key"] = key;
      if (secret && target.format === "json") {
        const at = new Date();
        headers["webhook-id"] = key;
        headers["webhook-timestamp"] = String(Math.floor(at.getTime() / 1000));
        headers["webhook-signature"] = new StandardWebhook(secret).sign(key, at, body);
      }
    }
    const r = await fetch(url, { method: "POST", headers, body, signal: AbortSignal.timeout(TIMEOUT_MS), redirect: "manual" });
    await r.body?.cancel();
    const answer = `HTTP ${r.status}`;
    return { error: r.status < 200 || r.status >= 300 ? answer : null, answer, ...(refusesForGood(r.status) ? { permanent: true } : {}) };
  } catch (e) {
    const error = (e as Error).message || String(e);
    return { error, answer: error };
  }
}

async function sendMail(target: ChannelTarget, msg: EmailMessage, key: string, password: string | null): Promise<SendResult> {
  const s = target.settings as EmailSettings;
  const u = new URL(target.url);
  const port = Number(u.port || 587);
  const transport = nodemailer.createTransport({
    host: u.hostname.replace(/^\[|\]$/g, ""),
    port,
    // 465: TLS from the first byte; any other port: STARTTLS, and no mail without it
    secure: port === 465,
    requireTLS: port !== 465,
    ...(s.user ? { auth: { user: s.user, pass: password ?? "" } } : {}),
    tls: { ...(s.ca ? { ca: s.ca } : {}), minVersion: "TLSv1.2" },
    connectionTimeout: TIMEOUT_MS,
    greetingTimeout: TIMEOUT_MS,
    socketTimeout: 2 * TIMEOUT_MS,
  });
  try {
    const info = await transport.sendMail({
      from: s.from,
      to: s.to,
      subject: msg.subject,
      text: msg.text,
      html: msg.html,
      // the same on every retry: a receiving system may drop a second copy
      messageId: `<${key}@keepalived-monitor>`,
    });
    return { error: null, answer: String(info.response ?? "sent") };
  } finally {
    transport.close();
  }
}
