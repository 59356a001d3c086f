/**
 * Which instance states one parsed log line changes: the one reading of keepalived's lines as state changes,
 * used by the engine as lines arrive and by the absence judge (absence.ts) to replay a node's lines over an
 * agent's absence. Pure: it reads the states it is given and returns the changes; the caller applies them.
 */
import type { KeepalivedEvent } from "../parser/types";
import type { KState } from "./model";

export interface InstView {
  name: string;
  state: KState | null;
  syncGroup: string | null;
}

export interface StateChange {
  instance: string;
  state: KState;
  /** the state a keepalived run starts in (`(init)`) */
  init: boolean;
}

export function stateChanges(ev: KeepalivedEvent, insts: Iterable<InstView>): StateChange[] {
  switch (ev.type) {
    case "state":
      return [{ instance: ev.instance, state: ev.state, init: ev.init === true }];
    case "fault_reason":
      return [{ instance: ev.instance, state: "FAULT", init: false }];
    case "group_sync": {
      // keepalived 2.2.7 moves a BACKUP member of a faulting sync group to FAULT without a line of its own
      // (seen in the truth lab, seeds 202 and 203 of session 22: "Syncing instances to FAULT state", then the
      // member's next line is "Entering BACKUP STATE" when the group recovers): the group line is its FAULT
      if (ev.state !== "FAULT") return [];
      const out: StateChange[] = [];
      for (const r of insts) {
        const member = ev.instance ? r.name === ev.instance : r.syncGroup === ev.group;
        if (member && r.state !== null && r.state !== "FAULT" && r.state !== "STOP") out.push({ instance: r.name, state: "FAULT", init: false });
      }
      return out;
    }
    case "daemon": {
      // shutting down stops every instance; a start voids states left by a run that ended without a
      // "Stopping" line (crash); instances never seen in a state stay unknown until their (init) line
      if (ev.what === "started") return [];
      const out: StateChange[] = [];
      for (const r of insts) if (ev.what !== "starting" || r.state !== null) out.push({ instance: r.name, state: "STOP", init: false });
      return out;
    }
    case "vips":
      // keepalived adds an instance's VIPs only as its MASTER. A reload that renames the MASTER's instance logs
      // no state line for the new name, only "(NEW) setting VIPs." (keepalived 2.2.7, truth lab seeds 708 and
      // 713 of session 25): without this the node held the VIP under a name of unknown state, and a split
      // brain that followed was blamed on a VIP "left behind" instead of on the adverts
      return ev.action === "set" ? [{ instance: ev.instance, state: "MASTER", init: false }] : [];
    default:
      return [];
  }
}
