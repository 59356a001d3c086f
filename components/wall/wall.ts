/**
 * Pure logic of the NOC wall: which clusters need attention, how tiles are paged and laid out,
 * what each tile says, and when the screen must call itself STALE.
 * Unit-tested in test/unit/incidents-ui-wall.test.ts.
 */
import type { ClusterStatus, ClusterSummary, IncidentMsg } from "../../server/protocol";
import type { ConnectionStatus } from "../live/connection";
import { CLUSTER_STATUS_RANK, SEVERITY_RANK } from "../status";

/** Seconds without any confirmed update after which the wall says STALE. */
export const STALE_AFTER_MS = 30_000;
/** A page of tiles stays this long before the next one. */
export const PAGE_MS = 10_000;

/** The status a tile shows: the cluster's, raised by its open incidents (a critical incident is critical). */
export function tileStatus(cluster: ClusterSummary, open: readonly IncidentMsg[]): ClusterStatus {
  let s: ClusterStatus = cluster.status;
  for (const i of open) {
    const fromIncident: ClusterStatus | null = i.severity === "critical" ? "critical" : i.severity === "warning" ? "warning" : null;
    if (fromIncident && CLUSTER_STATUS_RANK[fromIncident] < CLUSTER_STATUS_RANK[s]) s = fromIncident;
  }
  return s;
}

export interface TileModel {
  cluster: ClusterSummary;
  status: ClusterStatus;
  /** open incidents of the cluster, worst first, newest first */
  incidents: IncidentMsg[];
  critical: IncidentMsg[];
}

const byName = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

/** One tile per cluster, worst first (critical, warning, ok), then by name. */
export function tileModels(clusters: readonly ClusterSummary[], open: readonly IncidentMsg[]): TileModel[] {
  const byCluster = new Map<string, IncidentMsg[]>();
  for (const i of open) {
    if (i.closedAt !== null) continue;
    byCluster.set(i.cluster, [...(byCluster.get(i.cluster) ?? []), i]);
  }
  return clusters
    .map((cluster) => {
      const incidents = (byCluster.get(cluster.name) ?? []).sort(
        (a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || Date.parse(b.openedAt) - Date.parse(a.openedAt),
      );
      return { cluster, status: tileStatus(cluster, incidents), incidents, critical: incidents.filter((i) => i.severity === "critical") };
    })
    .sort((a, b) => CLUSTER_STATUS_RANK[a.status] - CLUSTER_STATUS_RANK[b.status] || byName.compare(a.cluster.name, b.cluster.name));
}

export interface WallPage<T> {
  tiles: T[];
  /** clusters that are fine and not on this page */
  hiddenOk: T[];
}

/**
 * Pages of at most `capacity` tiles. Problem tiles come first and are on EVERY page while they fit
 * (leaving at least one slot for the rotating others); the fine ones rotate through the remaining
 * slots. When the problems alone do not fit, the pages rotate through the problems and the fine
 * clusters are only counted.
 */
export function wallPages<T>(tiles: readonly T[], capacity: number, isProblem: (t: T) => boolean): WallPage<T>[] {
  const cap = Math.max(1, Math.floor(capacity));
  if (tiles.length <= cap) return [{ tiles: [...tiles], hiddenOk: [] }];
  const problems = tiles.filter(isProblem);
  const fine = tiles.filter((t) => !isProblem(t));
  const pages: WallPage<T>[] = [];
  if (problems.length >= cap) {
    for (let i = 0; i < problems.length; i += cap) pages.push({ tiles: problems.slice(i, i + cap), hiddenOk: fine });
    return pages;
  }
  const free = cap - problems.length;
  for (let i = 0; i < fine.length; i += free) {
    const shown = fine.slice(i, i + free);
    pages.push({ tiles: [...problems, ...shown], hiddenOk: fine.filter((t) => !shown.includes(t)) });
  }
  return pages;
}

/** Columns x rows for `n` tiles on a screen of this aspect ratio (width / height), filling it. */
export function gridFor(n: number, aspect: number): { cols: number; rows: number } {
  const count = Math.max(1, n);
  let best = { cols: count, rows: 1, score: -Infinity };
  for (let cols = 1; cols <= count; cols++) {
    const rows = Math.ceil(count / cols);
    // tiles are best a little wider than tall (about 1.6:1); penalise empty cells
    const tileAspect = aspect * (rows / cols);
    const score = -Math.abs(Math.log(tileAspect / 1.6)) - (cols * rows - count) * 0.15;
    if (score > best.score) best = { cols, rows, score };
  }
  return { cols: best.cols, rows: best.rows };
}

/** How many tiles fit on one page at this viewport (a tile needs about 440 x 260 CSS px; scaled for 4K). */
export function capacityFor(width: number, height: number): number {
  const scale = Math.max(1, Math.min(width / 1920, height / 1080));
  const cols = Math.max(1, Math.floor(width / (440 * scale)));
  const rows = Math.max(1, Math.floor((height * 0.84) / (260 * scale)));
  return Math.min(24, cols * rows);
}

export interface Staleness {
  stale: boolean;
  reason: string | null;
}

/**
 * STALE when the live socket is not connected, or nothing confirmed the data for STALE_AFTER_MS
 * (a push, a snapshot or a successful poll), or nothing ever arrived that long after the start.
 */
export function staleness(connection: ConnectionStatus, lastUpdate: number | null, startedAt: number, now: number): Staleness {
  if (connection === "reconnecting" || connection === "offline") return { stale: true, reason: `live connection ${connection}` };
  if (lastUpdate === null) {
    return now - startedAt > STALE_AFTER_MS ? { stale: true, reason: "no data received yet" } : { stale: false, reason: null };
  }
  const age = now - lastUpdate;
  if (age > STALE_AFTER_MS) return { stale: true, reason: `no update for ${Math.floor(age / 1000)} s` };
  if (connection === "connecting" && now - startedAt > STALE_AFTER_MS) return { stale: true, reason: "live connection not established" };
  return { stale: false, reason: null };
}

export interface VipHolding {
  address: string;
  vrid: number | null;
  /** nodes holding it now (ip addr is the ground truth) */
  holders: string[];
}

/** Who holds each configured VIP of the cluster, by VRID then address. */
export function vipHolders(cluster: ClusterSummary): VipHolding[] {
  const byAddress = new Map<string, VipHolding>();
  for (const node of cluster.nodes) {
    for (const inst of node.instances) {
      for (const vip of inst.vips) {
        let h = byAddress.get(vip.address);
        if (!h) byAddress.set(vip.address, (h = { address: vip.address, vrid: inst.vrid, holders: [] }));
        if (vip.held && !h.holders.includes(node.name)) h.holders.push(node.name);
      }
    }
  }
  return [...byAddress.values()].sort(
    (a, b) => (a.vrid ?? Infinity) - (b.vrid ?? Infinity) || byName.compare(a.address, b.address),
  );
}

/** Heights, in em of a tile's base font, of the parts of a tile (see WallTile.tsx, which uses the same sizes). */
export const TILE_EM = { padding: 1.2, header: 1.9, gap: 0.45, incident: 1.3, vip: 1.15, node: 1.45 } as const;
export const TILE_LIMITS = { incidents: 2, vips: 3, nodes: 4 } as const;

/** Rows a list of `n` items takes on a tile showing at most `max` of them ("+k more" is a row). */
export const shownRows = (n: number, max: number): number => (n > max ? max + 1 : n);

/**
 * The tile's base font size as a CSS length: as large as fits the tile's height with all its rows
 * (container query units of the tile), and never wider than the width allows.
 */
export function tileFontSize(rows: { incidents: number; vips: number; nodes: number }): string {
  const inc = shownRows(rows.incidents, TILE_LIMITS.incidents);
  const vips = shownRows(rows.vips, TILE_LIMITS.vips);
  const nodes = Math.max(1, shownRows(rows.nodes, TILE_LIMITS.nodes));
  const sections = (inc > 0 ? 1 : 0) + (vips > 0 ? 1 : 0) + 1;
  const em = TILE_EM.padding + TILE_EM.header + sections * TILE_EM.gap + inc * TILE_EM.incident + vips * TILE_EM.vip + nodes * TILE_EM.node;
  return `min(4.4cqw, ${(100 / em).toFixed(2)}cqh)`;
}
