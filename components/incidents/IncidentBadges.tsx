import type { IncidentKind, IncidentMsg } from "../../server/protocol";
import { INCIDENT_KIND_LOOK, INCIDENT_STATE_LOOK, SEVERITY_LOOK } from "../status";
import { StatusIcon } from "../StatusIcon";

/** CRITICAL / WARNING / INFO: colour + icon + word, as the cluster statuses. */
export function SeverityBadge({ severity, className = "" }: { severity: IncidentMsg["severity"]; className?: string }) {
  const look = SEVERITY_LOOK[severity];
  return (
    <span
      data-severity={severity}
      title={look.description}
      className={`inline-flex items-center gap-1.5 rounded-full px-2.5 py-0.5 text-xs font-bold tracking-wider ${look.badge} ${className}`}
    >
      <StatusIcon name={look.icon} />
      {look.label}
    </span>
  );
}

/** The incident kind in words ("DUAL MASTER"), with its meaning as a tooltip. */
export function KindLabel({ kind, className = "" }: { kind: IncidentKind; className?: string }) {
  const look = INCIDENT_KIND_LOOK[kind];
  return (
    <span data-kind={kind} title={look.description} className={`font-mono font-bold tracking-wide ${className}`}>
      {look.label}
    </span>
  );
}

/** OPEN / RESOLVED. */
export function IncidentStateBadge({ open }: { open: boolean }) {
  const look = INCIDENT_STATE_LOOK[open ? "open" : "resolved"];
  return (
    <span
      data-open={open}
      title={look.description}
      className={`inline-flex items-center gap-1 rounded-md px-2 py-0.5 text-xs font-bold tracking-wider ${look.badge}`}
    >
      <StatusIcon name={look.icon} className="size-2.5" />
      {look.label}
    </span>
  );
}
