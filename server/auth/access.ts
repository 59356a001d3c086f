/**
 * Access control state of one server process: session policy, login rate
 * limits, principal resolution from a request's cookie or bearer token, and
 * the registry of open /live sockets per session (so that logout and
 * revocation close them, and a changed cluster scope applies to them: at once
 * when done through this process, within the sweep interval when done by the
 * admin CLI or another replica).
 */
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import type { Db } from "../db/database";
import type { Logger } from "../log";
import type { Counters } from "../metrics";
import type { ServerConfig } from "../config";
import { normaliseOrigins, type OriginPolicy } from "./csrf";
import { clientAddress, hasProxyHeaders, isLoopback } from "./net";
import { WindowLimiter } from "./rate-limit";
import { parseBearer, readCookie } from "./secrets";
import { liveSessionScopes, lookupSession, sessionIdsOf, verifyApiToken, type SessionInfo, type SessionPolicy } from "./store";
import { SESSION_COOKIE } from "./identity";
import { ClusterScope } from "./scope";
import type { OidcSignIn } from "./oidc";

export type Principal =
  | (SessionInfo & { secret: string })
  | { kind: "api"; tokenId: number; name: string; scope: ClusterScope }
  | { kind: "anonymous"; badBearer: boolean };

/** the clusters a principal may see: its session's or token's scope; an anonymous loopback read sees every cluster */
export function scopeOf(p: Principal): ClusterScope {
  return p.kind === "anonymous" ? ClusterScope.ALL : p.scope;
}

const LOGIN_WINDOW_MS = 15 * 60_000;
/**
 * How often a server process checks that the sessions and agent tokens of its open sockets still hold
 * (ended or revoked elsewhere: the admin CLI, another replica): one small query per sweep and process,
 * so a revocation reaches every replica within SWEEP_MS plus that query (issue 13: within 2 s).
 */
export const SWEEP_MS = 1000;

/** an open /live socket of a session: closed when the session ends, told when its cluster scope changes */
export interface Closable {
  disconnect(close?: boolean): unknown;
  /** the session's scope as it is now (called after every sweep and scope change; act only on a change) */
  rescope?(scope: ClusterScope): void;
}

/** refused enrolment exchanges one client address may make per window before it is answered rate_limited */
export const ENROL_FAILURES_PER_IP = 20;
export const ENROL_WINDOW_MS = 10 * 60_000;

export class Access {
  readonly policy: SessionPolicy;
  readonly origins: OriginPolicy;
  readonly loginPerIp: WindowLimiter;
  readonly loginPerUser: WindowLimiter;
  /** refused enrolment code exchanges per client address (POST /api/enrol): guessing codes is bounded */
  readonly enrolFailures = new WindowLimiter(ENROL_FAILURES_PER_IP, ENROL_WINDOW_MS);
  readonly trustedProxies: string[];
  /** sign-in with the identity provider (./oidc.ts); null when KAM_OIDC_ISSUER is not set (set by server/main.ts) */
  oidc: OidcSignIn | null = null;
  private readonly sockets = new Map<bigint, Set<Closable>>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweeping = false;
  /** the sweep in flight (or the last one): a scope change waits for it, so a sweep that read before the change cannot undo it */
  private sweepDone: Promise<void> = Promise.resolve();

  constructor(
    readonly db: Db,
    readonly config: ServerConfig,
    readonly counters: Counters,
    readonly log: Logger,
  ) {
    this.policy = {
      idleMs: config.sessionIdleHours * 3600_000,
      maxMs: config.sessionMaxDays * 86400_000,
      wallMaxMs: config.wallSessionDays * 86400_000,
    };
    this.origins = { allowed: [...normaliseOrigins(config.allowedOrigins), ...(config.publicUrl ? [new URL(config.publicUrl).origin.toLowerCase()] : [])] };
    this.loginPerIp = new WindowLimiter(config.loginAttemptsPerIp, LOGIN_WINDOW_MS);
    this.loginPerUser = new WindowLimiter(config.loginAttemptsPerUser, LOGIN_WINDOW_MS);
    this.trustedProxies = config.trustedProxies.split(",").map((s) => s.trim()).filter(Boolean);
  }

  private warnedProxy = false;

  /**
   * A loopback peer that sends forwarding headers while KAM_TRUSTED_PROXIES is
   * empty is a local proxy we were not told about: every client then shares
   * its address in the rate limits. Said once in the log (the headers are not
   * trusted: any local process could send them).
   */
  warnUntrustedProxy(req: IncomingMessage): void {
    if (this.warnedProxy || this.trustedProxies.length > 0 || !isLoopback(req.socket.remoteAddress) || !hasProxyHeaders(req.headers)) return;
    this.warnedProxy = true;
    this.log.warn("requests come through a local proxy but KAM_TRUSTED_PROXIES is empty: all its clients share one address in the rate limits; set KAM_TRUSTED_PROXIES=loopback");
  }

  clientIp(req: IncomingMessage): string {
    return clientAddress(req.socket.remoteAddress, req.headers, this.trustedProxies);
  }

  /** Secure cookies: KAM_COOKIE_SECURE=true, or this connection is TLS (unless KAM_COOKIE_SECURE=false) */
  secureCookies(req: IncomingMessage): boolean {
    if (this.config.cookieSecure === "true") return true;
    if (this.config.cookieSecure === "false") return false;
    return !!(req.socket as TLSSocket).encrypted;
  }

  async session(cookieHeader: string | undefined): Promise<(SessionInfo & { secret: string }) | null> {
    const secret = readCookie(cookieHeader, SESSION_COOKIE);
    if (!secret) return null;
    const s = await lookupSession(this.db, secret, this.policy);
    return s ? { ...s, secret } : null;
  }

  /** who sends this request: a session (cookie first), an API token, or nobody */
  async principal(req: IncomingMessage): Promise<Principal> {
    const s = await this.session(req.headers.cookie);
    if (s) return s;
    const bearer = parseBearer(req.headers.authorization);
    if (bearer) {
      const t = await verifyApiToken(this.db, bearer);
      if (t) return { kind: "api", tokenId: t.id, name: t.name, scope: t.scope };
      return { kind: "anonymous", badBearer: true };
    }
    return { kind: "anonymous", badBearer: false };
  }

  denied(code: string, where: string): void {
    this.counters.inc("kam_access_denied_total", { code, where });
  }

  // ---------- open /live sockets per session ----------

  track(sessionId: bigint, socket: Closable): () => void {
    let set = this.sockets.get(sessionId);
    if (!set) this.sockets.set(sessionId, (set = new Set()));
    set.add(socket);
    this.startSweep();
    return () => {
      set.delete(socket);
      if (set.size === 0) this.sockets.delete(sessionId);
    };
  }

  /**
   * Runs `end`, which deletes the sessions of a user or of a wall token (revocation, removal),
   * then closes the /live sockets those sessions had open; returns what `end` returned.
   */
  async endingSessionsOf<T>(of: { userId: number } | { wallTokenId: number }, end: () => Promise<T>): Promise<T> {
    const ids = await sessionIdsOf(this.db, of);
    const r = await end();
    this.endSessions(ids);
    return r;
  }

  /**
   * The scope of a user's or a wall token's sessions changed through this process (admin API): their
   * /live sockets get it now, not at the next sweep.
   */
  async scopeChanged(of: { userId: number } | { wallTokenId: number }): Promise<void> {
    await this.sweepDone;
    const ids = (await sessionIdsOf(this.db, of)).filter((id) => this.sockets.has(id));
    this.applyScopes(await liveSessionScopes(this.db, ids, this.policy));
  }

  private applyScopes(scopes: Map<bigint, ClusterScope>): void {
    for (const [id, scope] of scopes) for (const s of this.sockets.get(id) ?? []) s.rescope?.(scope);
  }

  /** closes the sockets of ended sessions now */
  endSessions(ids: Iterable<bigint>): void {
    for (const id of ids) {
      const set = this.sockets.get(id);
      if (!set) continue;
      this.sockets.delete(id);
      for (const s of set) s.disconnect(true);
    }
  }

  /** sessions ended elsewhere (admin CLI, expiry) lose their sockets, and changed scopes apply to them, within SWEEP_MS */
  private startSweep(): void {
    if (this.sweepTimer) return;
    this.sweepTimer = setInterval(() => void this.sweep(), SWEEP_MS);
    this.sweepTimer.unref();
  }

  async sweep(): Promise<void> {
    if (this.sweeping || this.sockets.size === 0) return;
    this.sweeping = true;
    this.sweepDone = this.sweepOnce();
    await this.sweepDone;
  }

  private async sweepOnce(): Promise<void> {
    try {
      const ids = [...this.sockets.keys()];
      const alive = await liveSessionScopes(this.db, ids, this.policy);
      this.endSessions(ids.filter((id) => !alive.has(id)));
      this.applyScopes(alive);
    } catch (e) {
      this.log.warn({ err: e }, "session sweep failed (retried)");
    } finally {
      this.sweeping = false;
    }
  }

  stop(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
  }
}
