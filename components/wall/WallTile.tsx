import type { ClusterSummary } from "../../server/protocol";
import { CLUSTER_LOOK, INCIDENT_KIND_LOOK, KEEPALIVED_DOWN_LOOK, STATE_LOOK, STATE_RANK } from "../status";
import { StatusIcon } from "../StatusIcon";
import { formatDuration } from "../format";
import { TILE_LIMITS, tileFontSize, vipHolders, type TileModel, type VipHolding } from "./wall";

type Node = ClusterSummary["nodes"][number];

const TILE: Record<TileModel["status"], string> = {
  critical: "bg-red-700 text-white ring-4 ring-red-300",
  warning: "bg-slate-900 text-slate-100 ring-4 ring-amber-400",
  ok: "bg-slate-900 text-slate-100 ring-1 ring-slate-700",
};

function NodeLine({ node }: { node: Node }) {
  const instances = [...node.instances].sort((a, b) => STATE_RANK[a.state] - STATE_RANK[b.state]);
  const shown = instances.slice(0, 3);
  return (
    <li data-testid={`wall-node-${node.name}`} className="flex h-[1.6em] min-w-0 items-center gap-[0.35em]">
      <span className="min-w-0 truncate font-mono font-semibold">{node.name}</span>
      {!node.online && (
        <span className="hatched shrink-0 rounded bg-amber-300 px-[0.3em] text-amber-950" title="agent offline: states unknown">
          offline
        </span>
      )}
      {node.online && node.keepalived === "down" && (
        <span data-testid="wall-keepalived-down" className="shrink-0 rounded bg-red-600 px-[0.3em] text-white" title={KEEPALIVED_DOWN_LOOK.description}>
          keepalived down
        </span>
      )}
      {shown.map((i) => (
        <span
          key={i.name}
          data-state={i.state}
          className={`inline-flex shrink-0 items-center gap-[0.2em] rounded px-[0.3em] font-mono font-bold ${STATE_LOOK[i.state].badge}`}
        >
          <StatusIcon name={STATE_LOOK[i.state].icon} className="size-[0.8em]" />
          {STATE_LOOK[i.state].label}
        </span>
      ))}
      {instances.length > shown.length && <span className="shrink-0 opacity-80">+{instances.length - shown.length}</span>}
    </li>
  );
}

/** "198.18.0.100 → lb1", "→ NOBODY", "→ lb1 + lb2 (held twice)": words, not only colour. */
function VipLine({ h, critical }: { h: VipHolding; critical: boolean }) {
  const problem = h.holders.length !== 1;
  return (
    <li data-testid="wall-vip" data-holders={h.holders.length} className="flex min-w-0 items-baseline gap-[0.35em]">
      <span className="shrink-0 font-mono">{h.address}</span>
      <span aria-hidden="true" className="opacity-70">→</span>
      <span className={`min-w-0 truncate font-mono font-bold ${problem ? (critical ? "underline underline-offset-[0.15em]" : "text-amber-300") : ""}`}>
        {h.holders.length === 0 ? "NOBODY" : h.holders.join(" + ")}
        {h.holders.length > 1 ? " (held twice)" : ""}
      </span>
    </li>
  );
}

/**
 * One cluster on the wall: name, status word, what is wrong, who holds the VIPs, its nodes. The
 * base font is as large as the tile allows for its number of rows (see tileFontSize).
 */
export function WallTile({ tile, now }: { tile: TileModel; now: number }) {
  const { cluster, status } = tile;
  const look = CLUSTER_LOOK[status];
  // what makes the tile red or amber: its critical incidents, else its warnings (info ones never show)
  const incidents = status === "critical" ? tile.critical : tile.incidents.filter((i) => i.severity === "warning");
  const listed = incidents.slice(0, TILE_LIMITS.incidents);
  const vips = vipHolders(cluster);
  const nodes = cluster.nodes;
  const fontSize = tileFontSize({ incidents: incidents.length, vips: vips.length, nodes: nodes.length });
  return (
    <section
      data-testid={`wall-tile-${cluster.name}`}
      data-status={status}
      aria-label={`${cluster.name}: ${look.label}`}
      className={`relative min-h-0 min-w-0 overflow-hidden rounded-xl [container-type:size] ${TILE[status]}`}
    >
      {status === "critical" && (
        <div aria-hidden="true" className="pointer-events-none absolute inset-0 rounded-xl ring-[1.2cqh] ring-white/70 ring-inset motion-safe:animate-pulse" />
      )}
      <div style={{ fontSize }} className="flex h-full flex-col gap-[0.45em] p-[0.6em_0.8em] leading-tight">
        <header className="flex h-[1.9em] shrink-0 items-center justify-between gap-[0.5em]">
          <h2 className="min-w-0 truncate text-[1.6em] leading-[1.15] font-extrabold">{cluster.name}</h2>
          <span
            data-testid="wall-status"
            className={`inline-flex shrink-0 items-center gap-[0.25em] rounded-full px-[0.5em] py-[0.1em] text-[1.05em] font-black tracking-wider ${
              status === "critical" ? "bg-white text-red-800" : look.badge
            }`}
          >
            <StatusIcon name={look.icon} className="size-[0.9em]" />
            {look.label}
          </span>
        </header>

        {listed.length > 0 && (
          <ul className="shrink-0">
            {listed.map((i) => (
              <li key={i.id} data-testid="wall-incident" data-kind={i.kind} className="flex h-[1.3em] min-w-0 items-baseline gap-x-[0.4em] whitespace-nowrap">
                <span className={`shrink-0 font-mono font-black ${status === "critical" ? "" : "text-amber-300"}`}>{INCIDENT_KIND_LOOK[i.kind].label}</span>
                <span className="shrink-0">
                  {i.vrid !== null ? `VRID ${i.vrid} · ` : ""}
                  {formatDuration(Math.max(0, now - Date.parse(i.openedAt)))}
                </span>
                <span className="min-w-0 truncate opacity-85">· {INCIDENT_KIND_LOOK[i.kind].short}</span>
              </li>
            ))}
            {incidents.length > listed.length && <li className="h-[1.3em] opacity-90">+{incidents.length - listed.length} more</li>}
          </ul>
        )}

        {vips.length > 0 && (
          <ul className="shrink-0 text-[0.85em] leading-[1.35]">
            {vips.slice(0, TILE_LIMITS.vips).map((h) => (
              <VipLine key={h.address} h={h} critical={status === "critical"} />
            ))}
            {vips.length > TILE_LIMITS.vips && <li className="opacity-80">+{vips.length - TILE_LIMITS.vips} more VIPs</li>}
          </ul>
        )}

        <ul className="mt-auto shrink-0 text-[0.9em]">
          {nodes.length === 0 && <li className="h-[1.6em] opacity-80">no node has reported yet</li>}
          {nodes.slice(0, TILE_LIMITS.nodes).map((n) => (
            <NodeLine key={n.name} node={n} />
          ))}
          {nodes.length > TILE_LIMITS.nodes && <li className="h-[1.6em] opacity-80">+{nodes.length - TILE_LIMITS.nodes} more nodes</li>}
        </ul>
      </div>
    </section>
  );
}
