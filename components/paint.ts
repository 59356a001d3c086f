/**
 * SVG paint of states and severities (the cluster timeline and the incident
 * page's mini timeline), derived from the one definition of how states and
 * severities look (components/status.ts): the same Tailwind colours as the
 * badges, as CSS colour values for `fill`/`stroke`, light and dark
 * (`light-dark()` follows the page's colour scheme like Tailwind's `dark:`).
 * Colour is never alone: every state also has a pattern (timeline/Patterns.tsx),
 * a word drawn in wide segments and in the legend, and an icon.
 */
import type { IncidentMsg, InstanceState } from "../server/protocol";
import { SEVERITY_LOOK, STATE_LOOK } from "./status";

export interface Paint {
  fill: string;
  text: string;
  stroke: string;
}

const colour = (name: string) => (name === "white" || name === "black" ? `var(--color-${name}, ${name})` : `var(--color-${name})`);

/** The Tailwind colour a utility (`bg`, `text`, `ring`) uses in light and dark, from a class list. */
export function utilityColour(classes: string, utility: "bg" | "text" | "ring"): { light: string; dark: string } | null {
  const tokens = classes.split(/\s+/);
  const re = new RegExp(`^${utility}-((?:[a-z]+-\\d{2,3})|white|black)$`);
  const reDark = new RegExp(`^dark:${utility}-((?:[a-z]+-\\d{2,3})|white|black)$`);
  const light = tokens.map((t) => re.exec(t)?.[1]).find(Boolean);
  if (!light) return null;
  const dark = tokens.map((t) => reDark.exec(t)?.[1]).find(Boolean) ?? light;
  return { light, dark };
}

function cssColour(classes: string, utility: "bg" | "text" | "ring", fallback: string): string {
  const c = utilityColour(classes, utility);
  if (!c) return fallback;
  return c.light === c.dark ? colour(c.light) : `light-dark(${colour(c.light)}, ${colour(c.dark)})`;
}

function paintOf(badge: string): Paint {
  return {
    fill: cssColour(badge, "bg", "GrayText"),
    text: cssColour(badge, "text", "CanvasText"),
    stroke: cssColour(badge, "ring", "GrayText"),
  };
}

export const STATE_PAINT: Record<InstanceState, Paint> = {
  MASTER: paintOf(STATE_LOOK.MASTER.badge),
  BACKUP: paintOf(STATE_LOOK.BACKUP.badge),
  FAULT: paintOf(STATE_LOOK.FAULT.badge),
  STOP: paintOf(STATE_LOOK.STOP.badge),
  UNKNOWN: paintOf(STATE_LOOK.UNKNOWN.badge),
};

export const SEVERITY_PAINT: Record<IncidentMsg["severity"], Paint> = {
  critical: paintOf(SEVERITY_LOOK.critical.badge),
  warning: paintOf(SEVERITY_LOOK.warning.badge),
  info: paintOf(SEVERITY_LOOK.info.badge),
};

export const STATES: InstanceState[] = ["MASTER", "BACKUP", "FAULT", "STOP", "UNKNOWN"];
