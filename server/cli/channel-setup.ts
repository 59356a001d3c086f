/**
 * What `npm run admin -- webhook add|test` needs beyond the flags (issue 15): checks of an email channel's
 * settings and of a secret, the generated signing secret, and the test notifications.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import { UsageError, type Args } from "./args";
import type { EmailSettings } from "../incidents/channels";
import { alertmanagerPayload, notificationPayload } from "../incidents/notifier";
import type { ApiIncident } from "../incidents/incident-store";

const ADDRESS = /^[^\s@<>,;"]+@[^\s@<>,;"]+$/;

/** a new Standard Webhooks signing secret: whsec_ and 32 random bytes in base64 */
export const generateSigningSecret = () => `whsec_${crypto.randomBytes(32).toString("base64")}`;

/** why `secret` cannot be the secret of a channel of this format, or null */
export function secretProblem(format: string, secret: string): string | null {
  if (format === "json") {
    const m = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(secret);
    const bytes = m ? Buffer.from(m[1], "base64").length : 0;
    // Standard Webhooks: 24 to 64 random bytes
    if (bytes < 24 || bytes > 64) return "--secret-stdin: a signing secret is whsec_ followed by 24 to 64 bytes in base64 (leave it out to have one generated)";
  }
  if (format === "pagerduty" && !/^[A-Za-z0-9]{20,64}$/.test(secret)) return "--secret-stdin: a PagerDuty routing key is 32 letters and digits (the integration key of an Events API v2 service)";
  return null;
}

/** why `url` cannot be an email channel's SMTP server, or null */
export function smtpUrlProblem(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "must be smtp://HOST[:PORT] for --format email";
  }
  if (u.protocol !== "smtp:" || !u.hostname) return "must be smtp://HOST[:PORT] for --format email";
  if (u.username || u.password || (u.pathname && u.pathname !== "/") || u.search || u.hash) {
    return "must be smtp://HOST[:PORT] only (the user is --smtp-user, the password comes from --secret-stdin)";
  }
  return null;
}

/** the email settings of `webhook add` (recipients, sender, user, CA file) */
export function emailSettings(a: Args): EmailSettings {
  const to = a.need("to").split(",").map((s) => s.trim()).filter(Boolean);
  const bad = to.find((t) => !ADDRESS.test(t));
  if (to.length === 0 || bad !== undefined) throw new UsageError(`--to takes email addresses separated by commas${bad !== undefined ? ` (not "${bad}")` : ""}`);
  const from = a.need("from");
  if (!ADDRESS.test(from)) throw new UsageError(`--from takes an email address (not "${from}")`);
  const caFile = a.string("smtp-ca-file");
  let ca: string | undefined;
  if (caFile !== undefined) {
    try {
      ca = fs.readFileSync(caFile, "utf8");
    } catch (e) {
      throw new UsageError(`--smtp-ca-file: cannot read ${caFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (!ca.includes("-----BEGIN CERTIFICATE-----")) throw new UsageError(`--smtp-ca-file: ${caFile} holds no PEM certificate`);
  }
  const user = a.string("smtp-user");
  return { to, from, ...(user ? { user } : {}), ...(ca ? { ca } : {}) };
}

/**
 * The notifications `webhook test` sends, as [what, payload]: a made-up critical incident (it reaches any
 * minimum severity); pagerduty gets its trigger and then its resolve (no page is left open), Alertmanager an
 * alert that ends by itself after 5 minutes, the others the open.
 */
export function testNotifications(format: string, cluster: string, webhookId: number, dashboardUrl: string | null): [string, unknown][] {
  const now = new Date();
  const inc: ApiIncident = {
    id: `test-${webhookId}-${now.getTime()}`,
    cluster, kind: "DUAL_MASTER", severity: "critical", vrid: null, instances: {}, nodes: [],
    openedAt: now.toISOString(), closedAt: null, silenced: false,
    cause: { code: "test", summary: "A test notification sent by npm run admin -- webhook test: not an incident.", evidence: [] },
  };
  if (format === "alertmanager") return [["alert", alertmanagerPayload({ ...inc, closedAt: new Date(now.getTime() + 300_000).toISOString() }, dashboardUrl)]];
  if (format === "pagerduty") return [["trigger", notificationPayload(format, "opened", inc, dashboardUrl)], ["resolve", notificationPayload(format, "resolved", inc, dashboardUrl)]];
  return [["opened", notificationPayload(format, "opened", inc, dashboardUrl)]];
}
