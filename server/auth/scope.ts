/**
 * Per-cluster permissions (issue 19): THE place that decides which clusters a caller may see.
 * A user (viewer, operator), a read-only API token and a NOC wall token are either unscoped
 * (every cluster: the default, as before) or scoped to a set of cluster names; an admin is
 * always unscoped, and so is an anonymous loopback read. Every read route, every write on a
 * cluster, the pages and the /live namespace ask a ClusterScope: `allows(name)` for one
 * cluster, `filter()` for a list in memory, `onCluster()` / `onRelated()` for a Prisma where,
 * `sqlNames()` for a raw SQL parameter. What is outside the scope answers as if it did not
 * exist (404, an empty list, a refused subscription).
 *
 * Pure (no I/O): importable from app/ (pages read the scope from the gate's x-kam-scope header).
 */
import type { Role } from "./roles";

/** a stored scope: app_user, api_token and wall_token carry these two columns */
export interface ScopeColumns {
  allClusters: boolean;
  clusters: string[] | null;
}

export class ClusterScope {
  /** every cluster */
  static readonly ALL = new ClusterScope(null);

  private constructor(private readonly names: ReadonlySet<string> | null) {}

  /** scoped to exactly these cluster names (none: nothing is visible) */
  static only(names: Iterable<string>): ClusterScope {
    return new ClusterScope(new Set(names));
  }

  /** the scope a stored row gives; an admin always sees every cluster */
  static of(row: ScopeColumns, role?: Role): ClusterScope {
    if (role === "admin" || row.allClusters) return ClusterScope.ALL;
    return ClusterScope.only(row.clusters ?? []);
  }

  /** true when every cluster is visible */
  get all(): boolean {
    return this.names === null;
  }

  /** may this cluster (by name) be seen or acted on? */
  allows(cluster: string): boolean {
    return this.names === null || this.names.has(cluster);
  }

  /** the visible cluster names, sorted; null for every cluster */
  list(): string[] | null {
    return this.names === null ? null : [...this.names].sort();
  }

  /** the items of visible clusters */
  filter<T>(items: readonly T[], clusterOf: (item: T) => string): T[] {
    return this.names === null ? [...items] : items.filter((i) => this.allows(clusterOf(i)));
  }

  /** `load()` for a visible cluster, else null without loading: the caller answers as for a cluster that does not exist */
  async ifAllows<T>(cluster: string, load: () => Promise<T | null>): Promise<T | null> {
    return this.allows(cluster) ? load() : null;
  }

  /** a Prisma where on the Cluster model: {} for every cluster */
  onCluster(): { name?: { in: string[] } } {
    const names = this.list();
    return names === null ? {} : { name: { in: names } };
  }

  /** a Prisma where on a model with a `cluster` relation (incident, maintenance window, ...): {} for every cluster */
  onRelated(): { cluster?: { name: { in: string[] } } } {
    const names = this.list();
    return names === null ? {} : { cluster: { name: { in: names } } };
  }

  /** the value of a SQL parameter used as `($n::text[] IS NULL OR c.name = ANY($n::text[]))`: null for every cluster */
  sqlNames(): string[] | null {
    return this.list();
  }

  equals(other: ClusterScope): boolean {
    if (this.names === null || other.names === null) return this.names === other.names;
    return this.names.size === other.names.size && [...this.names].every((n) => other.names!.has(n));
  }

  /** for people: "every cluster" or "a, b" ("no cluster" when empty) */
  describe(): string {
    const l = this.list();
    if (l === null) return "every cluster";
    return l.length ? l.join(", ") : "no cluster";
  }

  /** the API's shape: null for every cluster, else the names */
  toJson(): string[] | null {
    return this.list();
  }

  /** the x-kam-scope request header the gate sets for pages: "*" or the names, each URI-encoded, comma-separated */
  toHeader(): string {
    const l = this.list();
    return l === null ? "*" : l.map(encodeURIComponent).join(",");
  }

  /**
   * The scope a page reads from the gate's header. A missing header is NO cluster, never all:
   * a page reached without the gate's identification shows nothing rather than everything.
   */
  static fromHeader(value: string | null | undefined): ClusterScope {
    if (value === "*") return ClusterScope.ALL;
    if (!value) return ClusterScope.only([]);
    return ClusterScope.only(value.split(",").map(decodeURIComponent));
  }
}
