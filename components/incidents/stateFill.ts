/**
 * SVG fills of the instance states in the mini timeline: the same hues as STATE_LOOK's badges
 * (components/status.ts), as `fill-*` classes because SVG shapes do not take backgrounds.
 * TODO(lead): the cluster timeline needs the same; one shared entry in status.ts would be better.
 */
import type { InstanceState } from "../../server/protocol";

export const STATE_FILL: Record<InstanceState, { shape: string; text: string }> = {
  MASTER: { shape: "fill-emerald-600 dark:fill-emerald-500", text: "fill-white dark:fill-emerald-950" },
  BACKUP: { shape: "fill-sky-200 stroke-sky-500 dark:fill-sky-900 dark:stroke-sky-500", text: "fill-sky-950 dark:fill-sky-100" },
  FAULT: { shape: "fill-red-600 dark:fill-red-500", text: "fill-white dark:fill-red-950" },
  STOP: { shape: "fill-slate-300 dark:fill-slate-600", text: "fill-slate-900 dark:fill-slate-100" },
  UNKNOWN: { shape: "fill-amber-300 dark:fill-amber-400", text: "fill-amber-950" },
};
