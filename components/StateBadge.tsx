import type { InstanceState } from "../server/protocol";
import { STATE_LOOK } from "./status";
import { StatusIcon } from "./StatusIcon";

/** VRRP instance state: colour + icon + word. The element's text is exactly the state word. */
export function StateBadge({ state, testId }: { state: InstanceState; testId?: string }) {
  const look = STATE_LOOK[state];
  return (
    <span
      data-testid={testId}
      data-state={state}
      title={look.description}
      className={`inline-flex items-center gap-1.5 rounded-md px-2 py-0.5 font-mono text-xs font-semibold tracking-wide ${look.badge}`}
    >
      <StatusIcon name={look.icon} />
      {look.label}
    </span>
  );
}
