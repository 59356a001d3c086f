import type { InstanceState } from "../../server/protocol";
import { STATE_PAINT, STATES } from "../paint";
import { patternId } from "./look";

/**
 * The fills of the timeline, defined once per page in an invisible SVG and
 * referenced by every lane: each state has its colour AND a texture, so states
 * differ without colour (MASTER solid, BACKUP light with an outline, FAULT
 * cross-hatched, STOP horizontal lines, UNKNOWN diagonal hatch like the
 * badges). Aggregated segments (many changes inside one pixel) add dense
 * vertical bars on top of their state's fill.
 */
function texture(state: InstanceState, stroke: string) {
  const line = { stroke, strokeWidth: 1.2, style: { stroke } };
  switch (state) {
    case "FAULT":
      return <path d="M0 0L8 8M8 0L0 8" {...line} />;
    case "STOP":
      return <path d="M0 2H8M0 6H8" {...line} />;
    case "UNKNOWN":
      return <path d="M-2 2L2 -2M0 8L8 0M6 10L10 6" {...line} strokeWidth={1.8} />;
    default:
      return null;
  }
}

export function Patterns({ prefix }: { prefix: string }) {
  return (
    <svg width="0" height="0" aria-hidden="true" focusable="false" style={{ position: "absolute" }}>
      <defs>
        {STATES.map((state) => {
          const paint = STATE_PAINT[state];
          // lines in the state's text colour, faint: readable as texture, not as noise
          const ink = `color-mix(in oklab, ${paint.text} 45%, transparent)`;
          return [false, true].map((agg) => (
            <pattern key={`${state}-${agg}`} id={patternId(prefix, state, agg)} width="8" height="8" patternUnits="userSpaceOnUse">
              <rect width="8" height="8" style={{ fill: paint.fill }} />
              {texture(state, ink)}
              {agg && <path d="M1 0V8M4 0V8M7 0V8" strokeWidth="1.4" style={{ stroke: `color-mix(in oklab, ${paint.text} 60%, transparent)` }} />}
            </pattern>
          ));
        })}
      </defs>
    </svg>
  );
}
