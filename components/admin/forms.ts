/**
 * What the admin pages send, from what was typed: pure (no React, no I/O), unit-tested
 * (test/unit/settings-ui.test.ts). The pages (AuditLog, ChannelsPanel, SettingsPanel) only draw and call.
 */
import { fromInputValue } from "../format";

export interface AuditFilters {
  from: string;
  to: string;
  actor: string;
  action: string;
}

/** the query string of the filters: times typed as UTC (datetime-local), empty ones left out. Pure. */
export function auditSearch(f: AuditFilters, before?: string | null): string {
  const p = new URLSearchParams();
  for (const k of ["from", "to"] as const) {
    const t = fromInputValue(f[k]);
    if (Number.isFinite(t)) p.set(k, new Date(t).toISOString());
  }
  if (f.actor.trim()) p.set("actor", f.actor.trim());
  if (f.action.trim()) p.set("action", f.action.trim());
  if (before) p.set("before", before);
  return p.toString();
}

/** the body of POST /api/admin/channels from the add form; empty fields left out. Pure. */
export function newChannelBody(f: Record<string, string>): Record<string, unknown> {
  const format = f.format || "json";
  const body: Record<string, unknown> = { cluster: f.cluster.trim(), format };
  if (f.url?.trim()) body.url = f.url.trim();
  if (f.minSeverity) body.minSeverity = f.minSeverity;
  if (f.secret) body.secret = f.secret;
  if (format === "email") {
    body.email = {
      to: (f.to ?? "").split(",").map((s) => s.trim()).filter(Boolean),
      from: (f.from ?? "").trim(),
      ...(f.user?.trim() ? { user: f.user.trim() } : {}),
      ...(f.ca?.trim() ? { ca: f.ca } : {}),
    };
  }
  return body;
}

export const SETTING_HELP: Record<string, string> = {
  graceMs: "overlap tolerated before DUAL_MASTER (ms; empty: graceAdverts × advert_int)",
  graceAdverts: "grace in advert intervals when graceMs is empty",
  noMasterGraceMs: "absence of a MASTER tolerated before NO_MASTER (ms; empty: max(grace, 4 × advert_int))",
  flapCount: "FLAPPING: MASTER-role changes ...",
  flapWindowMs: "... within this window (ms)",
  flapQuietMs: "FLAPPING closes after this long without a change (ms)",
  offlineMs: "AGENT_OFFLINE after this long without hearing from an agent (ms)",
  holdDownMs: "a re-occurrence within this time re-opens the incident (ms)",
  futureSkewMs: "a record stamped this far ahead of its receipt is judged at the receipt (ms)",
  deliveryAllowanceMs: "STATE_MISMATCH waits this long for a late report (ms)",
};

/** the POST body from the form: a number per filled field, null (the default) per emptied one that was set. Pure. */
export function settingsPatch(form: Record<string, string>, set: Record<string, number>): { ok: true; patch: Record<string, number | null> } | { ok: false; message: string } {
  const patch: Record<string, number | null> = {};
  for (const k of Object.keys(SETTING_HELP)) {
    const v = (form[k] ?? "").trim();
    if (v === "") {
      if (k in set) patch[k] = null;
      continue;
    }
    const n = Number(v);
    if (!Number.isFinite(n)) return { ok: false, message: `${k}: a number` };
    if (set[k] !== n) patch[k] = n;
  }
  return { ok: true, patch };
}
