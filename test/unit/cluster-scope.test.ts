/**
 * The one decision on per-cluster permissions (server/auth/scope.ts) and the admin CLI's scope
 * flags as the parser reads them (server/cli/users.ts). The server's use of it:
 * test/integration/cluster-scope.test.ts.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ClusterScope } from "../../server/auth/scope";
import { parseCommandLine, type CliSpec, type CommandSpec } from "../../server/cli/args";
import { ACCESS_COMMANDS } from "../../server/cli/users";

describe("ClusterScope", () => {
  const ab = ClusterScope.only(["b", "a", "a"]);

  it("is every cluster by default, for an admin whatever is stored, and for a row with all_clusters", () => {
    assert.equal(ClusterScope.ALL.all, true);
    assert.equal(ClusterScope.ALL.allows("anything"), true);
    assert.equal(ClusterScope.of({ allClusters: true, clusters: ["a"] }).all, true);
    assert.equal(ClusterScope.of({ allClusters: false, clusters: ["a"] }, "admin").all, true, "an admin always sees every cluster");
    const viewer = ClusterScope.of({ allClusters: false, clusters: ["a"] }, "viewer");
    assert.deepEqual([viewer.all, viewer.allows("a"), viewer.allows("b")], [false, true, false]);
    assert.equal(ClusterScope.of({ allClusters: false, clusters: null }).allows("a"), false, "scoped to nothing: nothing");
  });

  it("filters lists, and says how to filter queries", async () => {
    assert.deepEqual(ab.list(), ["a", "b"]);
    assert.equal(ab.allows("c"), false);
    assert.deepEqual(ab.filter([{ n: "a" }, { n: "c" }, { n: "b" }], (x) => x.n), [{ n: "a" }, { n: "b" }]);
    assert.deepEqual(ClusterScope.ALL.filter([{ n: "c" }], (x) => x.n), [{ n: "c" }]);
    assert.deepEqual(ab.onCluster(), { name: { in: ["a", "b"] } });
    assert.deepEqual(ab.onRelated(), { cluster: { name: { in: ["a", "b"] } } });
    assert.deepEqual([ClusterScope.ALL.onCluster(), ClusterScope.ALL.onRelated()], [{}, {}]);
    assert.deepEqual([ab.sqlNames(), ClusterScope.ALL.sqlNames()], [["a", "b"], null]);
    let loaded = 0;
    const load = () => Promise.resolve(++loaded);
    assert.equal(await ab.ifAllows("c", load), null);
    assert.equal(loaded, 0, "a cluster outside the scope is not even loaded");
    assert.equal(await ab.ifAllows("a", load), 1);
  });

  it("compares, describes, and goes through the gate's header and back; a missing header is no cluster", () => {
    assert.ok(ab.equals(ClusterScope.only(["a", "b"])));
    assert.ok(!ab.equals(ClusterScope.only(["a"])));
    assert.ok(!ab.equals(ClusterScope.ALL) && !ClusterScope.ALL.equals(ab) && ClusterScope.ALL.equals(ClusterScope.ALL));
    assert.deepEqual([ab.describe(), ClusterScope.ALL.describe(), ClusterScope.only([]).describe()], ["a, b", "every cluster", "no cluster"]);
    assert.deepEqual([ab.toJson(), ClusterScope.ALL.toJson()], [["a", "b"], null]);
    for (const s of [ab, ClusterScope.ALL, ClusterScope.only([]), ClusterScope.only(["x.y_z-1"])]) assert.ok(ClusterScope.fromHeader(s.toHeader()).equals(s), s.describe());
    for (const missing of [null, undefined, ""]) assert.deepEqual(ClusterScope.fromHeader(missing).list(), [], String(missing));
  });
});

describe("the admin CLI's scope flags", () => {
  const spec: CliSpec = { name: "admin", invoke: "npm run admin --", summary: "admin", commands: ACCESS_COMMANDS };
  const parse = (argv: string[]) => parseCommandLine<CommandSpec>(spec, argv);
  const error = (argv: string[]) => {
    const r = parse(argv);
    assert.equal(r.kind, "error", argv.join(" "));
    return r.kind === "error" ? r.message : "";
  };

  it("user scope takes --clusters A,B or --all, one of them", () => {
    assert.equal(parse(["user", "scope", "ann", "--clusters", "a,b.c"]).kind, "ok");
    assert.equal(parse(["user", "scope", "ann", "--all"]).kind, "ok");
    assert.match(error(["user", "scope", "ann"]), /--clusters A,B or --all/);
    assert.match(error(["user", "scope", "ann", "--clusters", "a", "--all"]), /--clusters A,B or --all/);
    assert.match(error(["user", "scope", "--all"]), /needs NAME/);
  });

  it("--clusters takes cluster names separated by commas, on user add and the token commands too", () => {
    for (const bad of ["a b", "a,,b", "a,", "ä"]) assert.match(error(["user", "scope", "ann", "--clusters", bad]), /--clusters: cluster names/, bad);
    for (const cmd of [["user", "add", "ann"], ["api-token", "create", "--name", "x"], ["wall-token", "create", "--name", "x"]]) {
      assert.equal(parse([...cmd, "--clusters", "a,b"]).kind, "ok", cmd.join(" "));
      assert.match(error([...cmd, "--clusters", "a b"]), /--clusters: cluster names/, cmd.join(" "));
    }
  });
});
