import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ClusterSummary } from "../../server/protocol";
import { capacityFor, gridFor, STALE_AFTER_MS, staleness, TILE_EM, tileFontSize, tileModels, tileStatus, vipHolders, wallPages } from "../../components/wall/wall";
import { incident } from "../helpers/incident";


const cluster = (name: string, status: ClusterSummary["status"] = "ok"): ClusterSummary => ({ name, status, nodes: [], openIncidents: 0 });

describe("wall tiles", () => {
  it("raises a tile to critical for an open critical incident, and orders tiles worst first then by name", () => {
    const tiles = tileModels(
      [cluster("lb10"), cluster("lb2"), cluster("db", "warning"), cluster("edge")],
      [
        incident({ id: "1", cluster: "edge", severity: "critical", kind: "NO_MASTER" }),
        incident({ id: "2", cluster: "lb2", severity: "warning", kind: "FLAPPING" }),
        incident({ id: "3", cluster: "lb10", severity: "critical", closedAt: "2024-05-01T12:01:00Z" }),
      ],
    );
    assert.deepEqual(tiles.map((t) => [t.cluster.name, t.status]), [
      ["edge", "critical"],
      ["db", "warning"],
      ["lb2", "warning"],
      ["lb10", "ok"],
    ]);
    assert.deepEqual(tiles[0]!.critical.map((i) => i.kind), ["NO_MASTER"]);
    assert.equal(tiles[3]!.incidents.length, 0, "closed incidents are not shown");
  });

  it("never lowers the cluster's own status, and ignores info incidents", () => {
    assert.equal(tileStatus(cluster("x", "critical"), [incident({ id: "1", severity: "warning" })]), "critical");
    assert.equal(tileStatus(cluster("x"), [incident({ id: "1", severity: "info" })]), "ok");
  });
});

describe("wall pages", () => {
  const isProblem = (t: string) => t.startsWith("P");
  it("shows everything on one page when it fits", () => {
    assert.deepEqual(wallPages(["P1", "a", "b"], 4, isProblem), [{ tiles: ["P1", "a", "b"], hiddenOk: [] }]);
  });

  it("keeps problems on every page and rotates the others through the free slots", () => {
    const pages = wallPages(["P1", "P2", "a", "b", "c", "d", "e"], 4, isProblem);
    assert.deepEqual(pages.map((p) => p.tiles), [
      ["P1", "P2", "a", "b"],
      ["P1", "P2", "c", "d"],
      ["P1", "P2", "e"],
    ]);
    assert.deepEqual(pages[0]!.hiddenOk, ["c", "d", "e"]);
    for (const p of pages) assert.ok(p.tiles.length <= 4);
  });

  it("rotates through the problems alone when they do not fit, counting the fine clusters", () => {
    const pages = wallPages(["P1", "P2", "P3", "P4", "P5", "a"], 2, isProblem);
    assert.deepEqual(pages.map((p) => p.tiles), [["P1", "P2"], ["P3", "P4"], ["P5"]]);
    assert.deepEqual(pages[0]!.hiddenOk, ["a"]);
  });

  it("shows every cluster on some page", () => {
    const tiles = ["P1", ...Array.from({ length: 30 }, (_, i) => `c${i}`)];
    const pages = wallPages(tiles, 7, isProblem);
    const seen = new Set(pages.flatMap((p) => p.tiles));
    assert.equal(seen.size, tiles.length);
    assert.ok(pages.every((p) => p.tiles[0] === "P1"));
  });
});

describe("wall layout", () => {
  it("picks a grid that holds every tile and fills a wide screen", () => {
    for (let n = 1; n <= 24; n++) {
      const g = gridFor(n, 16 / 9);
      assert.ok(g.cols * g.rows >= n, `${n} tiles fit in ${g.cols}x${g.rows}`);
      assert.ok(g.cols * g.rows - n < Math.max(g.cols, g.rows), `no empty row or column for ${n}`);
    }
    assert.deepEqual(gridFor(1, 16 / 9), { cols: 1, rows: 1 });
    assert.deepEqual(gridFor(4, 16 / 9), { cols: 2, rows: 2 });
  });

  it("offers the same number of tiles at 1080p and 4K (the tiles scale), fewer on a small screen", () => {
    assert.equal(capacityFor(1920, 1080), capacityFor(3840, 2160));
    assert.ok(capacityFor(1920, 1080) >= 8);
    assert.ok(capacityFor(800, 600) < capacityFor(1920, 1080));
    assert.ok(capacityFor(200, 100) >= 1);
  });
});

describe("wall staleness", () => {
  const t0 = 1_000_000;
  it("is fresh while live and recently updated", () => {
    assert.deepEqual(staleness("live", t0, t0, t0 + STALE_AFTER_MS), { stale: false, reason: null });
  });
  it("is stale when nothing confirmed the data for more than 30 s", () => {
    const s = staleness("live", t0, t0, t0 + STALE_AFTER_MS + 1000);
    assert.equal(s.stale, true);
    assert.match(s.reason!, /no update for 31 s/);
  });
  it("is stale at once when the socket is down", () => {
    assert.equal(staleness("reconnecting", t0, t0, t0 + 1).stale, true);
    assert.equal(staleness("offline", t0, t0, t0 + 1).stale, true);
  });
  it("gives a fresh start 30 s before calling missing data stale", () => {
    assert.equal(staleness("connecting", null, t0, t0 + 5000).stale, false);
    assert.equal(staleness("connecting", null, t0, t0 + STALE_AFTER_MS + 1).stale, true);
  });
});

describe("VIP holders on a tile", () => {
  it("names who holds each VIP: one node, nobody, or several", () => {
    const vip = (address: string, held: boolean) => ({ address, held });
    const c: ClusterSummary = {
      name: "shop",
      status: "critical",
      openIncidents: 1,
      nodes: [
        { name: "a", online: true, lastSeen: null, instances: [
          { name: "VI_1", vrid: 51, state: "MASTER", vips: [vip("198.18.0.100", true)] },
          { name: "VI_2", vrid: 52, state: "BACKUP", vips: [vip("198.18.0.102", false), vip("198.18.0.101", false)] },
        ] },
        { name: "b", online: true, lastSeen: null, instances: [
          { name: "VI_1", vrid: 51, state: "MASTER", vips: [vip("198.18.0.100", true)] },
          { name: "VI_2", vrid: 52, state: "BACKUP", vips: [vip("198.18.0.102", false), vip("198.18.0.101", true)] },
        ] },
      ],
    };
    assert.deepEqual(vipHolders(c), [
      { address: "198.18.0.100", vrid: 51, holders: ["a", "b"] },
      { address: "198.18.0.101", vrid: 52, holders: ["b"] },
      { address: "198.18.0.102", vrid: 52, holders: [] },
    ]);
  });
});

describe("tile text size", () => {
  const cqh = (css: string) => Number(/,\s*([\d.]+)cqh\)$/.exec(css)![1]);
  it("shrinks the text as rows are added, so every row fits the tile's height", () => {
    const calm = tileFontSize({ incidents: 0, vips: 1, nodes: 2 });
    const busy = tileFontSize({ incidents: 2, vips: 3, nodes: 4 });
    assert.ok(cqh(busy) < cqh(calm));
    // the busiest tile: 2 incidents, 3 VIPs + "more", 4 nodes + "more"
    const worst = tileFontSize({ incidents: 9, vips: 9, nodes: 9 });
    const em = TILE_EM.padding + TILE_EM.header + 3 * TILE_EM.gap + 3 * TILE_EM.incident + 4 * TILE_EM.vip + 5 * TILE_EM.node;
    assert.ok(cqh(worst) * em <= 100.01, "rows x size within the tile height");
    assert.match(worst, /^min\([\d.]+cqw, [\d.]+cqh\)$/);
  });
});
