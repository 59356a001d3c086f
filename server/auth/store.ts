/**
 * Users, sessions and tokens in the database. Secrets (session cookies, API,
 * wall and setup tokens) are stored as SHA-256 only; passwords as scrypt.
 * Used by the server (gate and routes) and by the admin CLI.
 */
import type { Db } from "../db/database";
import { Prisma } from "../generated/prisma/client";
import { dummyHash, hashPassword, passwordProblem, verifyPassword } from "./password";
import { displayPrefix, newSecret, parseSecret, sha256 } from "./secrets";
import { isRole, type Role } from "./roles";
import { ClusterScope, type ScopeColumns } from "./scope";
import { CLUSTER_NAME_RE } from "../ingest/tokens";

export class AuthInputError extends Error {
  constructor(
    readonly code: "invalid_message" | "not_found" | "forbidden",
    message: string,
  ) {
    super(message);
  }
}

const NAME = /^[A-Za-z0-9._@-]{1,64}$/;
export function checkUserName(name: unknown): string {
  if (typeof name !== "string" || !NAME.test(name)) throw new AuthInputError("invalid_message", "a user name is 1-64 letters, digits, '.', '_', '@' or '-'");
  return name;
}
function checkPassword(password: unknown): string {
  if (typeof password !== "string") throw new AuthInputError("invalid_message", "password missing");
  const p = passwordProblem(password);
  if (p) throw new AuthInputError("invalid_message", p);
  return password;
}
function checkRole(role: unknown): Role {
  if (!isRole(role)) throw new AuthInputError("invalid_message", "role is viewer, operator or admin");
  return role;
}
function checkLabel(label: unknown): string {
  if (typeof label !== "string" || !/^[\p{L}\p{N} ._@:-]{1,64}$/u.test(label)) throw new AuthInputError("invalid_message", "a name is 1-64 letters, digits, spaces or . _ @ : -");
  return label;
}

/**
 * The columns that store a cluster scope (server/auth/scope.ts): null is every cluster; a list
 * names clusters that exist (a cluster appears with its first agent token), at least one.
 */
async function scopeColumns(db: Db, clusters: readonly string[] | null): Promise<ScopeColumns & { clusters: string[] }> {
  if (clusters === null) return { allClusters: true, clusters: [] };
  const names = [...new Set(clusters)].sort();
  if (names.length === 0) throw new AuthInputError("invalid_message", "clusters: name at least one cluster (or none at all for every cluster)");
  const bad = names.find((n) => !CLUSTER_NAME_RE.test(n));
  if (bad !== undefined) throw new AuthInputError("invalid_message", `clusters: "${bad}" is not a cluster name (letters, digits, '.', '_', '-')`);
  const known = new Set((await db.cluster.findMany({ where: { name: { in: names } }, select: { name: true } })).map((c) => c.name));
  const missing = names.filter((n) => !known.has(n));
  if (missing.length) throw new AuthInputError("not_found", `clusters: no cluster ${missing.map((n) => `"${n}"`).join(", ")} (a cluster appears when its first agent token is created)`);
  return { allClusters: false, clusters: names };
}

const ADMIN_UNSCOPED = "an admin always sees every cluster: give the user another role to limit it to some clusters";

// ---------- users ----------

export interface UserInfo {
  id: number;
  name: string;
  role: Role;
}

/** a user with the clusters they may see: null for every cluster */
export type ScopedUser = UserInfo & { clusters: string[] | null };

const scopedUser = (u: { id: number; name: string; role: string } & ScopeColumns): ScopedUser => {
  const role = u.role as Role;
  return { id: u.id, name: u.name, role, clusters: ClusterScope.of(u, role).toJson() };
};

export async function countUsers(db: Db): Promise<number> {
  return db.user.count();
}

/** a new user; `clusters`: the clusters a viewer or operator may see (null: every cluster; an admin sees every one) */
export async function createUser(db: Db, name: unknown, role: unknown, password: unknown, clusters: readonly string[] | null = null, now = new Date()): Promise<ScopedUser> {
  const n = checkUserName(name);
  const r = checkRole(role);
  if (r === "admin" && clusters !== null) throw new AuthInputError("invalid_message", ADMIN_UNSCOPED);
  const scope = await scopeColumns(db, clusters);
  const hash = await hashPassword(checkPassword(password));
  if (await db.user.findUnique({ where: { name: n } })) throw new AuthInputError("invalid_message", `user "${n}" exists already`);
  const u = await db.user.create({ data: { name: n, role: r, passwordHash: hash, createdAt: now, updatedAt: now, ...scope } });
  return scopedUser(u);
}

export async function listUsers(db: Db) {
  const rows = await db.user.findMany({ orderBy: { id: "asc" }, include: { _count: { select: { sessions: true } } } });
  return rows.map((u) => ({ ...scopedUser(u), createdAt: u.createdAt, lastLoginAt: u.lastLoginAt, sessions: u._count.sessions, signIn: u.oidcIssuer ? ("oidc" as const) : ("password" as const) }));
}

async function findUser(db: Db, nameOrId: string | number) {
  const u = typeof nameOrId === "number" ? await db.user.findUnique({ where: { id: nameOrId } }) : await db.user.findUnique({ where: { name: nameOrId } });
  if (!u) throw new AuthInputError("not_found", `no user ${typeof nameOrId === "number" ? nameOrId : `"${nameOrId}"`}`);
  return u;
}

async function otherAdmins(db: Db, id: number): Promise<number> {
  return db.user.count({ where: { role: "admin", NOT: { id } } });
}

/** new password; ends the user's sessions */
export async function setPassword(db: Db, nameOrId: string | number, password: unknown, now = new Date()): Promise<void> {
  const u = await findUser(db, nameOrId);
  if (u.oidcIssuer) throw new AuthInputError("invalid_message", `user "${u.name}" signs in through the identity provider (OIDC): it has no password here`);
  const hash = await hashPassword(checkPassword(password));
  await db.$transaction([
    db.user.update({ where: { id: u.id }, data: { passwordHash: hash, updatedAt: now } }),
    db.session.deleteMany({ where: { userId: u.id } }),
  ]);
}

/**
 * New role, and with `clusters` a new scope (undefined: the scope stays; null: every cluster). The last
 * admin cannot lose the role; a new admin loses any scope (an admin sees every cluster). Applies at once.
 */
export async function setRole(db: Db, nameOrId: string | number, role: unknown, clusters?: readonly string[] | null, now = new Date()): Promise<ScopedUser> {
  const u = await findUser(db, nameOrId);
  const r = checkRole(role);
  if (r === "admin" && clusters !== undefined && clusters !== null) throw new AuthInputError("invalid_message", ADMIN_UNSCOPED);
  if (u.role === "admin" && r !== "admin" && (await otherAdmins(db, u.id)) === 0) throw new AuthInputError("forbidden", "the last admin cannot lose the admin role");
  const scope = r === "admin" ? await scopeColumns(db, null) : clusters === undefined ? {} : await scopeColumns(db, clusters);
  return scopedUser(await db.user.update({ where: { id: u.id }, data: { role: r, updatedAt: now, ...scope } }));
}

/** The clusters a viewer or operator may see (null: every cluster); refused for an admin. Applies at once. */
export async function setUserScope(db: Db, nameOrId: string | number, clusters: readonly string[] | null, now = new Date()): Promise<ScopedUser> {
  const u = await findUser(db, nameOrId);
  if (u.role === "admin") throw new AuthInputError("invalid_message", ADMIN_UNSCOPED);
  return scopedUser(await db.user.update({ where: { id: u.id }, data: { updatedAt: now, ...(await scopeColumns(db, clusters)) } }));
}

/** removes a user and their sessions; the last admin cannot be removed */
export async function removeUser(db: Db, nameOrId: string | number): Promise<ScopedUser> {
  const u = await findUser(db, nameOrId);
  if (u.role === "admin" && (await otherAdmins(db, u.id)) === 0) throw new AuthInputError("forbidden", "the last admin cannot be removed");
  await db.user.delete({ where: { id: u.id } });
  return scopedUser(u);
}

// ---------- users of the identity provider (OIDC, server/auth/oidc.ts) ----------

/** the user of an issuer's subject, if one signed in before */
export async function findOidcUser(db: Db, issuer: string, subject: string): Promise<UserInfo | null> {
  const u = await db.user.findUnique({ where: { oidcIssuer_oidcSubject: { oidcIssuer: issuer, oidcSubject: subject } } });
  return u && isRole(u.role) ? { id: u.id, name: u.name, role: u.role } : null;
}

/**
 * The user of an OIDC sign-in, made on the first one (no password: only the provider signs it in; every
 * cluster) and given the role the mapping says at each one (a new admin loses any scope, as with setRole;
 * a scope an admin set otherwise stays). The user name is kept from the first sign-in; a name already used
 * by another user (a local one: the break-glass accounts) is refused, never taken over.
 */
export async function upsertOidcUser(
  db: Db,
  who: { issuer: string; subject: string; name: string; role: Role },
  now = new Date(),
): Promise<{ user: UserInfo } | { nameTaken: string }> {
  const key = { oidcIssuer_oidcSubject: { oidcIssuer: who.issuer, oidcSubject: who.subject } };
  const known = await db.user.findUnique({ where: key });
  if (known) {
    const u = known.role === who.role ? known : await db.user.update({ where: key, data: { role: who.role, updatedAt: now, ...(who.role === "admin" ? { allClusters: true, clusters: [] } : {}) } });
    return { user: { id: u.id, name: u.name, role: who.role } };
  }
  const name = NAME.test(who.name) ? who.name : "";
  if (!name || (await db.user.findUnique({ where: { name } }))) return { nameTaken: name || JSON.stringify(who.name) };
  try {
    const u = await db.user.create({
      data: { name, role: who.role, passwordHash: null, oidcIssuer: who.issuer, oidcSubject: who.subject, createdAt: now, updatedAt: now },
    });
    return { user: { id: u.id, name: u.name, role: who.role } };
  } catch (e) {
    // two first sign-ins at once (two tabs, two replicas): the other one made the user, or took the name
    if (!(e instanceof Prisma.PrismaClientKnownRequestError && e.code === "P2002")) throw e;
    const made = await db.user.findUnique({ where: key });
    return made ? { user: { id: made.id, name: made.name, role: who.role } } : { nameTaken: name };
  }
}

/** The user if name and password match; the same work (one scrypt) whether or not the user exists. */
export async function checkLogin(db: Db, name: string, password: string): Promise<UserInfo | null> {
  const u = NAME.test(name) ? await db.user.findUnique({ where: { name } }) : null;
  const ok = await verifyPassword(password, u?.passwordHash ?? (await dummyHash()));
  if (!u || !ok || !isRole(u.role)) return null;
  return { id: u.id, name: u.name, role: u.role };
}

// ---------- sessions ----------

export interface SessionPolicy {
  idleMs: number;
  maxMs: number;
  wallMaxMs: number;
}

/** a session, with the clusters it may see (server/auth/scope.ts) */
export type SessionInfo =
  | { kind: "user"; id: bigint; user: UserInfo; scope: ClusterScope }
  | { kind: "wall"; id: bigint; wallTokenId: number; wallName: string; scope: ClusterScope };

export async function createSession(
  db: Db,
  who: { userId: number } | { wallTokenId: number },
  policy: SessionPolicy,
  meta: { ip?: string; userAgent?: string } = {},
  now = new Date(),
): Promise<{ secret: string; id: bigint; expiresAt: Date }> {
  const secret = newSecret("session");
  const wall = "wallTokenId" in who;
  const expiresAt = new Date(now.getTime() + (wall ? policy.wallMaxMs : policy.maxMs));
  const row = await db.session.create({
    data: {
      tokenHash: sha256(secret), ...(wall ? { wallTokenId: who.wallTokenId } : { userId: who.userId }),
      createdAt: now, lastSeenAt: now, expiresAt, ip: (meta.ip ?? "").slice(0, 64), userAgent: (meta.userAgent ?? "").slice(0, 256),
    },
  });
  if (!wall) await db.user.update({ where: { id: who.userId }, data: { lastLoginAt: now } });
  return { secret, id: row.id, expiresAt };
}

/** how often a used session's last_seen_at is written (idle expiry is coarser than this) */
const TOUCH_MS = 60_000;

/** The session of a cookie value, or null when unknown, expired (absolute or idle), or its wall token is revoked. */
export async function lookupSession(db: Db, cookie: string | null, policy: SessionPolicy, now = new Date()): Promise<SessionInfo | null> {
  const secret = parseSecret("session", cookie);
  if (!secret) return null;
  const s = await db.session.findUnique({ where: { tokenHash: sha256(secret) }, include: { user: true, wallToken: true } });
  if (!s) return null;
  const idleEnd = s.lastSeenAt.getTime() + (s.wallTokenId != null ? policy.wallMaxMs : policy.idleMs);
  if (s.expiresAt <= now || idleEnd <= now.getTime() || (s.wallToken && s.wallToken.revokedAt)) {
    await db.session.deleteMany({ where: { id: s.id } });
    return null;
  }
  if (now.getTime() - s.lastSeenAt.getTime() > TOUCH_MS) {
    await db.session.updateMany({ where: { id: s.id }, data: { lastSeenAt: now } });
  }
  if (s.user && isRole(s.user.role)) {
    return { kind: "user", id: s.id, user: { id: s.user.id, name: s.user.name, role: s.user.role }, scope: ClusterScope.of(s.user, s.user.role) };
  }
  if (s.wallToken) return { kind: "wall", id: s.id, wallTokenId: s.wallToken.id, wallName: s.wallToken.name, scope: ClusterScope.of(s.wallToken) };
  return null;
}

const SCOPE_COLUMNS = { allClusters: true, clusters: true } as const;

/**
 * Of the given session ids, those that still exist and are not expired, with the clusters each may
 * see now (for open sockets: an ended session loses them, a changed scope applies to them).
 */
export async function liveSessionScopes(db: Db, ids: bigint[], policy: SessionPolicy, now = new Date()): Promise<Map<bigint, ClusterScope>> {
  if (ids.length === 0) return new Map();
  const rows = await db.session.findMany({
    where: { id: { in: ids }, expiresAt: { gt: now } },
    include: { user: { select: { role: true, ...SCOPE_COLUMNS } }, wallToken: { select: { revokedAt: true, ...SCOPE_COLUMNS } } },
  });
  const alive = new Map<bigint, ClusterScope>();
  for (const s of rows) {
    const idle = s.wallTokenId != null ? policy.wallMaxMs : policy.idleMs;
    if (s.lastSeenAt.getTime() + idle <= now.getTime() || s.wallToken?.revokedAt) continue;
    if (s.user && isRole(s.user.role)) alive.set(s.id, ClusterScope.of(s.user, s.user.role));
    else if (s.wallToken) alive.set(s.id, ClusterScope.of(s.wallToken));
  }
  // an open dashboard is activity: keep its session from idling out
  const stale = rows.filter((s) => alive.has(s.id) && now.getTime() - s.lastSeenAt.getTime() > TOUCH_MS).map((s) => s.id);
  if (stale.length) await db.session.updateMany({ where: { id: { in: stale } }, data: { lastSeenAt: now } });
  return alive;
}

export async function deleteSession(db: Db, id: bigint): Promise<void> {
  await db.session.deleteMany({ where: { id } });
}

export async function listSessions(db: Db) {
  return db.session.findMany({ include: { user: { select: { name: true } }, wallToken: { select: { name: true } } }, orderBy: { id: "asc" } });
}

/** ids of the sessions of a user or of a wall token (to close their /live sockets once they end) */
export async function sessionIdsOf(db: Db, of: { userId: number } | { wallTokenId: number }): Promise<bigint[]> {
  return (await db.session.findMany({ where: of, select: { id: true } })).map((s) => s.id);
}

/** revokes sessions: one by id, or all of a user */
export async function revokeSessions(db: Db, which: { id: bigint } | { user: string | number }): Promise<number> {
  if ("id" in which) return (await db.session.deleteMany({ where: { id: which.id } })).count;
  const u = await findUser(db, which.user);
  return (await db.session.deleteMany({ where: { userId: u.id } })).count;
}

export async function pruneSessions(db: Db, now = new Date()): Promise<number> {
  return (await db.session.deleteMany({ where: { expiresAt: { lte: now } } })).count;
}

// ---------- API and wall tokens ----------

const lastTouch = new Map<string, number>();
function shouldTouch(key: string, now: number): boolean {
  const t = lastTouch.get(key) ?? 0;
  if (now - t < TOUCH_MS) return false;
  lastTouch.set(key, now);
  if (lastTouch.size > 10_000) lastTouch.delete(lastTouch.keys().next().value!);
  return true;
}

/** a new read-only API token; `clusters`: the clusters it may read (null: every cluster) */
export async function createApiToken(db: Db, name: unknown, createdBy: string, clusters: readonly string[] | null = null, now = new Date()): Promise<{ id: number; token: string }> {
  const label = checkLabel(name);
  const scope = await scopeColumns(db, clusters);
  const token = newSecret("api");
  const row = await db.apiToken.create({ data: { name: label, tokenHash: sha256(token), prefix: displayPrefix(token), createdBy, createdAt: now, ...scope } });
  return { id: row.id, token };
}

export async function verifyApiToken(db: Db, value: string | null, now = new Date()): Promise<{ id: number; name: string; scope: ClusterScope } | null> {
  const token = parseSecret("api", value);
  if (!token) return null;
  const row = await db.apiToken.findUnique({ where: { tokenHash: sha256(token) } });
  if (!row || row.revokedAt) return null;
  if (shouldTouch(`api:${row.id}`, now.getTime())) await db.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: now } });
  return { id: row.id, name: row.name, scope: ClusterScope.of(row) };
}

/** a token row's scope for lists: null for every cluster */
const withClusters = <T extends ScopeColumns>({ allClusters, clusters, ...rest }: T) => ({ ...rest, clusters: ClusterScope.of({ allClusters, clusters }).toJson() });

export async function listApiTokens(db: Db) {
  const rows = await db.apiToken.findMany({
    orderBy: { id: "asc" }, select: { id: true, name: true, prefix: true, createdBy: true, createdAt: true, lastUsedAt: true, revokedAt: true, ...SCOPE_COLUMNS },
  });
  return rows.map(withClusters);
}

export async function revokeApiToken(db: Db, id: number, now = new Date()): Promise<boolean> {
  return (await db.apiToken.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: now } })).count === 1;
}

/** a new NOC wall token; `clusters`: the clusters its wall shows (null: every cluster) */
export async function createWallToken(db: Db, name: unknown, createdBy: string, clusters: readonly string[] | null = null, now = new Date()): Promise<{ id: number; token: string }> {
  const label = checkLabel(name);
  const scope = await scopeColumns(db, clusters);
  const token = newSecret("wall");
  const row = await db.wallToken.create({ data: { name: label, tokenHash: sha256(token), prefix: displayPrefix(token), createdBy, createdAt: now, ...scope } });
  return { id: row.id, token };
}

export async function verifyWallToken(db: Db, value: unknown, now = new Date()): Promise<{ id: number; name: string } | null> {
  const token = parseSecret("wall", value);
  if (!token) return null;
  const row = await db.wallToken.findUnique({ where: { tokenHash: sha256(token) } });
  if (!row || row.revokedAt) return null;
  await db.wallToken.update({ where: { id: row.id }, data: { lastUsedAt: now } });
  return { id: row.id, name: row.name };
}

export async function listWallTokens(db: Db) {
  const rows = await db.wallToken.findMany({
    orderBy: { id: "asc" },
    select: { id: true, name: true, prefix: true, createdBy: true, createdAt: true, lastUsedAt: true, revokedAt: true, _count: { select: { sessions: true } }, ...SCOPE_COLUMNS },
  });
  return rows.map(withClusters);
}

/** revokes a wall token and ends its sessions (open sockets are closed by the server's sweep) */
export async function revokeWallToken(db: Db, id: number, now = new Date()): Promise<boolean> {
  const r = await db.wallToken.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: now } });
  await db.session.deleteMany({ where: { wallTokenId: id } });
  return r.count === 1;
}

// ---------- first admin: one-time setup link ----------

export const SETUP_TTL_MS = 24 * 3600_000;

/** A new setup token (older unused ones are dropped); only while no user exists. */
export async function createSetupToken(db: Db, now = new Date()): Promise<string | null> {
  if ((await countUsers(db)) > 0) return null;
  const token = newSecret("setup");
  await db.$transaction([
    db.setupToken.deleteMany({ where: { usedAt: null } }),
    db.setupToken.create({ data: { tokenHash: sha256(token), createdAt: now, expiresAt: new Date(now.getTime() + SETUP_TTL_MS) } }),
  ]);
  return token;
}

export async function setupTokenValid(db: Db, value: unknown, now = new Date()): Promise<boolean> {
  const token = parseSecret("setup", value);
  if (!token) return false;
  const row = await db.setupToken.findUnique({ where: { tokenHash: sha256(token) } });
  return !!row && !row.usedAt && row.expiresAt > now && (await countUsers(db)) === 0;
}

/** Uses the setup token once to create the first admin. */
export async function useSetupToken(db: Db, value: unknown, name: unknown, password: unknown, now = new Date()): Promise<UserInfo> {
  const n = checkUserName(name);
  const p = checkPassword(password);
  const token = parseSecret("setup", value);
  if (!token) throw new AuthInputError("forbidden", "invalid or expired setup link");
  const hash = await hashPassword(p);
  return db.$transaction(async (tx) => {
    const used = await tx.setupToken.updateMany({ where: { tokenHash: sha256(token), usedAt: null, expiresAt: { gt: now } }, data: { usedAt: now } });
    if (used.count !== 1 || (await tx.user.count()) > 0) throw new AuthInputError("forbidden", "invalid or expired setup link");
    const u = await tx.user.create({ data: { name: n, role: "admin", passwordHash: hash, createdAt: now, updatedAt: now } });
    return { id: u.id, name: u.name, role: "admin" as Role };
  });
}
