import { NODE_LOOK } from "./status";
import { StatusIcon } from "./StatusIcon";

/** Whether the node's agent is connected: word + icon + colour. */
export function NodeBadge({ online }: { online: boolean }) {
  const look = NODE_LOOK[online ? "online" : "offline"];
  return (
    <span
      data-online={online}
      title={look.description}
      className={`inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium ${look.badge}`}
    >
      <StatusIcon name={look.icon} className="size-2.5" />
      {look.label}
    </span>
  );
}
