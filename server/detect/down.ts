/**
 * KEEPALIVED_DOWN: keepalived is not running on a configured node and no shutdown was logged (SIGKILL, a
 * crash, the OOM killer). Learnt from the agent's `process` fact ("vanished": gone without a shutdown the
 * agent could see; "stopped": a shutdown) and from the log ("Stopping"/"Stopped" lines = graceful, a
 * "Starting" line = running again).
 *
 * - The node's instances stop being MASTER/BACKUP at once (state STOP): the other detectors no longer
 *   count it as a peer or a backup.
 * - The incident is confirmed DOWN_CONFIRM_MS after the process was seen gone (the journal may deliver a
 *   "Stopping" line a little after the process watch): a shutdown logged by this keepalived run, from
 *   SHUTDOWN_LOOKBACK_MS before until then, makes it a planned stop, with no incident (a shutdown of an
 *   earlier run, before a restart, does not). openedAt = the process fact's time.
 * - Severity: critical when the node was MASTER of a VRID or its only BACKUP, warning otherwise.
 * - Closes when keepalived runs again: a `process` fact with running = true, or a start line.
 * - A "stopped"/"vanished" fact is about the run the process watch last reported running. When keepalived
 *   logged a start more than START_SLACK_MS after that report, the fact ends an earlier run (a restart the watch saw late): it does
 *   not touch the newer run's instances, unless the watch reports no running keepalived within
 *   RESTART_SETTLE_MS.
 */
import type { Evidence, Fact } from "./types";
import { iso, list, logEv, subject, type Ctx } from "./context";
import type { Group, KState, LogEntry, NodeRec } from "./model";

export const DOWN_CONFIRM_MS = 2000;
export const SHUTDOWN_LOOKBACK_MS = 30_000;
/**
 * how long the end of an earlier keepalived run waits for the process watch to report the newer run running
 * (the watch polls every second, waits up to 1.5 s for the VRRP child, and reports a stop 0.5 s after it saw it)
 */
export const RESTART_SETTLE_MS = 5000;
/**
 * the process watch reports a run once its VRRP child exists, after the run logged "Starting Keepalived"; a log
 * stamp may be late by its resolution (a second, for syslog and console files) or by the file tail's read time
 * (lines without a stamp): a start logged up to this long after the watch's report is that same run
 */
export const START_SLACK_MS = 2000;

type ProcessFact = Extract<Fact, { kind: "process" }>;
export type SetState = (node: NodeRec, instance: string, state: KState, e: LogEntry) => void;
export type Reevaluate = (groups: Set<Group>, at: number) => void;

export const downSlotOf = (node: string) => `KEEPALIVED_DOWN:keepalived:${node}`;

export function onProcess(ctx: Ctx, node: NodeRec, f: ProcessFact, setState: SetState, reevaluate: Reevaluate): void {
  const entry: LogEntry = { node: node.name, ts: f.ts, id: String(f.id), line: processLine(node.name, f), event: null };
  if (f.running) {
    if (f.event === "child_vanished") return; // the parent runs and respawns its VRRP child: not down
    node.watchedRunAt = f.ts;
    ctx.timers.cancel(`kearlier:${node.name}`); // the newer run the log showed starting is running
    up(ctx, node, f.ts, [{ node: node.name, at: f.ts, kind: "liveness", ref: String(f.id), line: entry.line }]);
    return;
  }
  const watched = node.watchedRunAt;
  node.watchedRunAt = null;
  if (watched !== null && (f.event === "stopped" || f.event === "vanished") && node.startLoggedAt !== null && node.startLoggedAt > watched + START_SLACK_MS && node.startLoggedAt <= f.ts) {
    // the process that ended is the one the watch reported running at `watched`; keepalived logged a start
    // after that (by more than the stamps' slack: the watch reports a run after its own start line): a newer run (a restart the watch sees late, in one poll: stopped, then started). The end of
    // the earlier run says nothing about this run's instances (truth lab seeds 1811 and 1814 of session 28:
    // it erased the new run's (init) state and its preemption counted as a MASTER change). Applied only if
    // the watch reports no running keepalived within RESTART_SETTLE_MS (then the newer run is not running)
    ctx.timers.set(`kearlier:${node.name}`, f.ts + RESTART_SETTLE_MS, () => gone(ctx, node, f, entry, setState, reevaluate));
    return;
  }
  gone(ctx, node, f, entry, setState, reevaluate);
}

function gone(ctx: Ctx, node: NodeRec, f: ProcessFact, entry: LogEntry, setState: SetState, reevaluate: Reevaluate): void {
  if (node.keepalived === "down" || node.keepalived === "stopped") return; // already known
  const graceful = f.event === "stopped" || (node.shutdownAt !== null && node.shutdownAt >= f.ts - SHUTDOWN_LOOKBACK_MS);
  // what the node was before it died: MASTER of a VRID, or the only BACKUP
  const before = new Map<Group, KState | null>();
  for (const r of node.insts.values()) if (!before.has(r.group) || r.state === "MASTER") before.set(r.group, r.state);
  node.keepalived = graceful ? "stopped" : "down";
  node.keepaliveSince = f.ts;
  for (const r of [...node.insts.values()]) if (r.state !== null && r.state !== "STOP") setState(node, r.name, "STOP", entry);
  if (graceful) return;
  node.downBefore = before;
  node.downEntry = entry;
  ctx.timers.set(`kdown:${node.name}`, f.ts + DOWN_CONFIRM_MS, (t) => confirm(ctx, node, t, reevaluate));
}

/** a logged shutdown ("Stopping", "Stopped"): a planned stop */
export function onShutdownLogged(ctx: Ctx, node: NodeRec, e: LogEntry): void {
  // a shutdown logged before the current run started belongs to an earlier keepalived process (a late journal
  // line of the stop before a restart): it says nothing about how this one ends
  if (node.keepalived === "running" && node.keepaliveSince !== null && e.ts < node.keepaliveSince) return;
  node.shutdownAt = e.ts;
  if (node.keepalived === "down" && node.downSlot === null && node.keepaliveSince !== null && e.ts >= node.keepaliveSince - SHUTDOWN_LOOKBACK_MS) {
    // the "Stopping" line arrived after the process watch reported it gone, within the confirmation time
    ctx.timers.cancel(`kdown:${node.name}`);
    node.keepalived = "stopped";
  }
}

/** a logged start ("Starting Keepalived v..."): a new keepalived run */
export function onStartLogged(ctx: Ctx, node: NodeRec, e: LogEntry): void {
  node.startLoggedAt = e.ts;
  up(ctx, node, e.ts, [logEv(e)]);
}

/** a start line ("Starting Keepalived") or a running process: keepalived runs again */
export function up(ctx: Ctx, node: NodeRec, at: number, evidence: Evidence[]): void {
  ctx.timers.cancel(`kdown:${node.name}`);
  // a new keepalived run: the shutdown of the previous one does not make this one's end graceful (a restart,
  // then a SIGKILL within SHUTDOWN_LOOKBACK_MS was taken for a planned stop). Also when keepalived was already
  // taken for running: a restart read from the journal backlog (Stopping, then Starting) that no process fact
  // reported as a stop (truth lab seed 204)
  if (node.keepalived !== "running" || (node.shutdownAt !== null && at > node.shutdownAt)) node.shutdownAt = null;
  node.keepalived = "running";
  node.keepaliveSince = at;
  node.downBefore = null;
  if (node.downSlot !== null) {
    ctx.reg.close(node.downSlot, at, evidence);
    node.downSlot = null;
  }
}

function confirm(ctx: Ctx, node: NodeRec, at: number, reevaluate: Reevaluate): void {
  if (node.keepalived !== "down" || node.downSlot !== null) return;
  const since = node.keepaliveSince ?? at;
  const before = node.downBefore ?? new Map<Group, KState | null>();
  const mastered: string[] = [];
  const noBackup: string[] = [];
  let onlyBackup = false;
  for (const [g, st] of [...before].sort((a, b) => (a[0].key < b[0].key ? -1 : 1))) {
    if (g.vrid === null) continue; // unknown VRID: never above info, not a VRID to name
    const others = [...g.members.values()].filter((r) => r.node !== node.name);
    const backups = others.filter((r) => r.state === "BACKUP" && ctx.model.nodes.get(r.node)?.keepalived !== "down");
    if (st === "MASTER") mastered.push(subject(g));
    if (st === "BACKUP" && backups.length === 0 && others.some((r) => r.state === "MASTER")) onlyBackup = true;
    if (backups.length === 0) noBackup.push(subject(g));
  }
  const critical = mastered.length > 0 || onlyBackup;
  const tail = noBackup.length ? `; ${list(noBackup)} ${noBackup.length > 1 ? "have" : "has"} no backup` : "";
  const evidence: Evidence[] = [];
  if (node.downEntry) evidence.push({ node: node.name, at: node.downEntry.ts, kind: "liveness", ref: node.downEntry.id, line: node.downEntry.line });
  evidence.push(...[...node.lines].slice(-5).filter((e) => e.ts <= since).map(logEv));
  node.downSlot = downSlotOf(node.name);
  ctx.reg.open({
    kind: "KEEPALIVED_DOWN", slot: node.downSlot, severity: critical ? "critical" : "warning", scope: "keepalived", vrid: null, family: null,
    instances: node.insts.size ? { [node.name]: [...node.insts.keys()].sort().join(",") } : {}, nodes: [node.name], openedAt: since,
    cause: {
      code: "keepalived_vanished",
      summary: `keepalived is not running on ${node.name} since ${iso(since)} and no shutdown was logged${mastered.length ? ` (it was MASTER of ${list(mastered)})` : ""}${tail}`,
    },
    evidence,
  });
  reevaluate(ctx.model.groupsOfNode(node), at);
}

function processLine(node: string, f: ProcessFact): string {
  const exit = f.exit ? ` (${f.exit})` : "";
  switch (f.event) {
    case "vanished": return `keepalived on ${node} vanished without a logged shutdown${exit}`;
    case "child_vanished": return `keepalived's VRRP child on ${node} vanished${exit}`;
    case "stopped": return `keepalived on ${node} stopped${exit}`;
    case "started": return `keepalived on ${node} started`;
    default: return `keepalived on ${node} is ${f.running ? "running" : "not running"}${exit}`;
  }
}
