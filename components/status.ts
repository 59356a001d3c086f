/**
 * The one place that decides how states and statuses look: word, colour classes, icon.
 * Every badge, legend and tile uses these so a state always reads the same everywhere.
 * Colour is never the only signal: each entry has a word and an icon (and UNKNOWN a hatch).
 */
import type { ClusterStatus, IncidentKind, IncidentMsg, InstanceState } from "../server/protocol";

export type IconName = "dot" | "ring" | "cross" | "square" | "question" | "check" | "bang";

export interface Look {
  /** the word shown to users (also the text tests read) */
  label: string;
  /** one-line explanation for tooltips and screen readers */
  description: string;
  /** Tailwind classes of the badge (background, text, ring; light and dark) */
  badge: string;
  /** Tailwind class of a coloured edge (card border) */
  accent: string;
  icon: IconName;
}

export const STATE_LOOK: Record<InstanceState, Look> = {
  MASTER: {
    label: "MASTER",
    description: "holds the virtual router (should own its VIPs)",
    badge: "bg-emerald-600 text-white ring-1 ring-emerald-700 dark:bg-emerald-500 dark:text-emerald-950 dark:ring-emerald-400",
    accent: "border-l-emerald-600 dark:border-l-emerald-500",
    icon: "dot",
  },
  BACKUP: {
    label: "BACKUP",
    description: "standing by, ready to take over",
    badge: "bg-sky-100 text-sky-900 ring-1 ring-sky-400 dark:bg-sky-950 dark:text-sky-100 dark:ring-sky-600",
    accent: "border-l-sky-500",
    icon: "ring",
  },
  FAULT: {
    label: "FAULT",
    description: "interface, tracked script or sync group failed on this node",
    badge: "bg-red-600 text-white ring-1 ring-red-700 dark:bg-red-500 dark:text-red-950 dark:ring-red-400",
    accent: "border-l-red-600 dark:border-l-red-500",
    icon: "cross",
  },
  STOP: {
    label: "STOP",
    description: "instance stopped (keepalived shut down or instance removed)",
    badge: "bg-slate-200 text-slate-800 ring-1 ring-slate-400 dark:bg-slate-700 dark:text-slate-100 dark:ring-slate-500",
    accent: "border-l-slate-400",
    icon: "square",
  },
  UNKNOWN: {
    label: "UNKNOWN",
    description: "state not known: the node's agent is offline or has not reported yet",
    badge: "hatched bg-amber-200 text-amber-950 ring-1 ring-amber-500 dark:bg-amber-400 dark:text-amber-950 dark:ring-amber-300",
    accent: "border-l-amber-500",
    icon: "question",
  },
};

export const CLUSTER_LOOK: Record<ClusterStatus, Look> = {
  ok: {
    label: "OK",
    description: "every virtual router has exactly one MASTER and no open incident",
    badge: "bg-emerald-600 text-white ring-1 ring-emerald-700 dark:bg-emerald-500 dark:text-emerald-950 dark:ring-emerald-400",
    accent: "border-l-emerald-600 dark:border-l-emerald-500",
    icon: "check",
  },
  warning: {
    label: "WARNING",
    description: "something needs attention (e.g. an agent offline, flapping, config drift)",
    badge: "bg-amber-300 text-amber-950 ring-1 ring-amber-500 dark:bg-amber-400 dark:text-amber-950 dark:ring-amber-300",
    accent: "border-l-amber-500 dark:border-l-amber-400",
    icon: "bang",
  },
  critical: {
    label: "CRITICAL",
    description: "service at risk: FAULT, split brain (two MASTERs) or a VIP held nowhere",
    badge: "bg-red-600 text-white ring-1 ring-red-700 dark:bg-red-500 dark:text-red-950 dark:ring-red-400",
    accent: "border-l-red-600 dark:border-l-red-500",
    icon: "cross",
  },
};

/** Node agent connectivity (offline makes its instances UNKNOWN). */
export const NODE_LOOK: Record<"online" | "offline", Look> = {
  online: {
    label: "online",
    description: "the agent is connected",
    badge: "bg-emerald-50 text-emerald-800 ring-1 ring-emerald-300 dark:bg-emerald-950 dark:text-emerald-200 dark:ring-emerald-700",
    accent: "border-l-emerald-600",
    icon: "dot",
  },
  offline: {
    label: "offline",
    description: "the agent is not connected: this node's states are unknown",
    badge: "hatched bg-amber-100 text-amber-900 ring-1 ring-amber-400 dark:bg-amber-950 dark:text-amber-200 dark:ring-amber-600",
    accent: "border-l-amber-500",
    icon: "question",
  },
};

/** keepalived's process seen down by the agent's process watch (killed, crashed, or its VRRP child gone) */
export const KEEPALIVED_DOWN_LOOK: Look = {
  label: "keepalived down",
  description: "the agent sees no keepalived process (or no VRRP child) on this node: its instances are shown STOP",
  badge: "bg-red-50 text-red-800 ring-1 ring-red-400 dark:bg-red-950 dark:text-red-200 dark:ring-red-700",
  accent: "border-l-red-600",
  icon: "bang",
};

/** Lower is worse: used to sort worst first. */
export const CLUSTER_STATUS_RANK: Record<ClusterStatus, number> = { critical: 0, warning: 1, ok: 2 };

/** Lower is worse. */
export const STATE_RANK: Record<InstanceState, number> = { FAULT: 0, UNKNOWN: 1, STOP: 2, BACKUP: 3, MASTER: 4 };

/** The browser's live connection (see components/live/connection.ts). */
export const CONNECTION_LOOK: Record<"connecting" | "live" | "reconnecting" | "offline", Look> = {
  connecting: {
    label: "connecting",
    description: "opening the live connection",
    badge: "bg-slate-200 text-slate-800 ring-1 ring-slate-400 dark:bg-slate-700 dark:text-slate-100 dark:ring-slate-500",
    accent: "border-l-slate-400",
    icon: "ring",
  },
  live: {
    label: "live",
    description: "connected: changes appear as they happen",
    badge: "bg-emerald-600 text-white ring-1 ring-emerald-700 dark:bg-emerald-500 dark:text-emerald-950 dark:ring-emerald-400",
    accent: "border-l-emerald-600",
    icon: "dot",
  },
  reconnecting: {
    label: "reconnecting",
    description: "connection lost, retrying: the view may be out of date",
    badge: "hatched bg-amber-300 text-amber-950 ring-1 ring-amber-500 dark:bg-amber-400 dark:text-amber-950 dark:ring-amber-300",
    accent: "border-l-amber-500",
    icon: "bang",
  },
  offline: {
    label: "offline",
    description: "no connection to the server: the view is frozen",
    badge: "hatched bg-red-600 text-white ring-1 ring-red-700 dark:bg-red-500 dark:text-red-950 dark:ring-red-400",
    accent: "border-l-red-600",
    icon: "cross",
  },
};

/** Incident severity: the same words, colours and icons as the cluster status they cause. */
export const SEVERITY_LOOK: Record<IncidentMsg["severity"], Look> = {
  critical: { ...CLUSTER_LOOK.critical, description: "service at risk: act now" },
  warning: { ...CLUSTER_LOOK.warning, description: "needs attention, service not yet at risk" },
  info: {
    label: "INFO",
    description: "for information only (e.g. instance names differ between peers)",
    badge: "bg-slate-100 text-slate-800 ring-1 ring-slate-400 dark:bg-slate-800 dark:text-slate-100 dark:ring-slate-500",
    accent: "border-l-slate-400",
    icon: "ring",
  },
};

/** Lower is worse. */
export const SEVERITY_RANK: Record<IncidentMsg["severity"], number> = { critical: 0, warning: 1, info: 2 };

/** Incident kinds: the word shown (the API's kind with spaces), a few words of meaning, a sentence. */
export const INCIDENT_KIND_LOOK: Record<IncidentKind, { label: string; short: string; description: string }> = {
  FAULT: { label: "FAULT", short: "instance in FAULT", description: "an interface, tracked script or sync group failed on a node" },
  DUAL_MASTER: { label: "DUAL MASTER", short: "split brain", description: "two nodes are MASTER (or one VIP is held twice) past the grace period" },
  NO_MASTER: { label: "NO MASTER", short: "VIP held nowhere", description: "no node is MASTER of the virtual router: its VIPs are down" },
  FLAPPING: { label: "FLAPPING", short: "MASTER keeps moving", description: "the MASTER role of a virtual router changed hands too often in a short time" },
  AGENT_OFFLINE: { label: "AGENT OFFLINE", short: "node not reporting", description: "a node's agent stopped reporting: its states are unknown" },
  STATE_MISMATCH: { label: "STATE MISMATCH", short: "state and VIPs disagree", description: "keepalived's state contradicts the VIPs the kernel holds" },
  CONFIG_DRIFT: { label: "CONFIG DRIFT", short: "peers configured differently", description: "peers of a virtual router disagree on their keepalived configuration" },
  KEEPALIVED_DOWN: { label: "KEEPALIVED DOWN", short: "keepalived not running", description: "keepalived stopped on a node without logging a shutdown (killed, crashed): its VRIDs lost a member" },
};

/** Whether an incident is still going. */
export const INCIDENT_STATE_LOOK: Record<"open" | "resolved", Look> = {
  open: {
    label: "OPEN",
    description: "the condition is still going on",
    badge: "bg-white text-red-800 ring-2 ring-red-600 dark:bg-slate-950 dark:text-red-200 dark:ring-red-400",
    accent: "border-l-red-600 dark:border-l-red-500",
    icon: "bang",
  },
  resolved: {
    label: "RESOLVED",
    description: "the condition ended",
    badge: "bg-slate-100 text-slate-700 ring-1 ring-slate-300 dark:bg-slate-800 dark:text-slate-200 dark:ring-slate-600",
    accent: "border-l-slate-400",
    icon: "check",
  },
};
