"use client";
import { useState } from "react";
import { IncidentMsg } from "../../server/protocol";
import { send } from "../http";
import { atLeast, useSession } from "../auth/session";
import { formatTime } from "../format";

/** Who acknowledged the incident and when; operators and admins can acknowledge it. */
export function AckControl({ incident, onAcked }: { incident: IncidentMsg; onAcked(inc: IncidentMsg): void }) {
  const session = useSession();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (incident.ackedAt) {
    return (
      <p data-testid="incident-ack" className="text-sm">
        Acknowledged by <strong>{incident.ackedBy}</strong> at <time dateTime={incident.ackedAt}>{formatTime(incident.ackedAt)}</time>
      </p>
    );
  }
  if (!atLeast(session, "operator")) return <p className="text-sm text-slate-500">Not acknowledged.</p>;
  const ack = async () => {
    setBusy(true);
    const r = await send("POST", `/api/incidents/${encodeURIComponent(incident.id)}/ack`, session.csrf, {}, IncidentMsg);
    setBusy(false);
    if (r.ok) onAcked(r.data);
    else setError(r.error.message);
  };
  return (
    <div className="flex items-center gap-3 text-sm">
      <button type="button" data-testid="ack-button" disabled={busy} onClick={() => void ack()}
        className="rounded bg-slate-900 px-3 py-1 font-medium text-white disabled:opacity-60 dark:bg-slate-100 dark:text-slate-900">
        Acknowledge
      </button>
      {error && <span role="alert" className="text-red-700 dark:text-red-400">{error}</span>}
    </div>
  );
}
