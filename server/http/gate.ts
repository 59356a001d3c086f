/**
 * The gate in front of Next: every HTTP request passes here first.
 * 1. security headers (CSP with a fresh nonce, which Next also reads from the request);
 * 2. identity headers from clients are dropped (x-kam-*), ours are set after authentication;
 * 3. Next's static assets are public;
 * 4. every HTTP API route (/api/*, /metrics) is answered here from the one route table
 *    (routes/index.ts), each after its own access rule (router.ts): /api/health public; reads
 *    to a session, an API token, a wall session where the wall reads, or anonymous from a direct
 *    loopback peer (KAM_ANONYMOUS_READ); sign-in with origin + double-submit CSRF; state changes
 *    with origin + CSRF token + role; an unknown /api path is 404 after the read check; the table
 *    also serves the agent's install files (/downloads/:file, public) and POST /api/enrol (public);
 * 5. pages: a user session (else a redirect to /login?next=...); a wall session sees /wall only;
 * 6. any other method never reaches Next.
 */
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import type { ServerParts } from "../app-context";
import type { Access, Principal } from "../auth/access";
import { csrfTokenFor } from "../auth/csrf";
import { newNonce, securityHeaders } from "../auth/headers";
import { IDENTITY, PRE_COOKIE, SESSION_COOKIE } from "../auth/identity";
import { readCookie } from "../auth/secrets";
import { createSession, verifyWallToken } from "../auth/store";
import type { RouteHooks } from "./route";
import { asHttpError, checkRead, findRoute, runRoute } from "./router";
import { HttpError, cookie, redirect, sendError, sendJson } from "./respond";

const PUBLIC_PAGES = new Set(["/login", "/setup"]);

export interface GateOptions {
  access: Access;
  parts: ServerParts;
  dev: boolean;
  root: string;
  frameAncestors: string;
  hooks: RouteHooks;
}

export class HttpGate {
  private readonly publicFiles: Set<string>;

  constructor(private readonly o: GateOptions) {
    const dir = path.join(o.root, "public");
    this.publicFiles = new Set(fs.existsSync(dir) ? fs.readdirSync(dir).map((f) => `/${f}`) : []);
  }

  private isStatic(p: string): boolean {
    if (p.startsWith("/_next/static/") || this.publicFiles.has(p)) return true;
    return this.o.dev && (p.startsWith("/_next/") || p.startsWith("/__nextjs"));
  }

  /** true when answered here; false: hand the request to Next */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    try {
      return await this.gate(req, res);
    } catch (e) {
      const h = asHttpError(e);
      if (h) {
        sendError(res, h);
        return true;
      }
      throw e;
    }
  }

  private async gate(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const { access } = this.o;
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://localhost");
    } catch {
      throw new HttpError(400, "invalid_message", "bad request URL");
    }
    const p = url.pathname;
    const method = req.method ?? "GET";
    const nonce = newNonce();
    const headers = securityHeaders({
      nonce, dev: this.o.dev, frameAncestors: p === "/wall" ? this.o.frameAncestors : "'none'",
      tls: !!(req.socket as TLSSocket).encrypted, framable: p === "/wall" && this.o.frameAncestors !== "'none'",
    });
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    for (const k of Object.keys(req.headers)) if (k.startsWith("x-kam-")) delete req.headers[k];
    // Next reads the nonce from the request's CSP and puts it on its scripts
    req.headers["content-security-policy"] = headers["content-security-policy"];
    req.headers[IDENTITY.nonce] = nonce;

    if (this.isStatic(p)) return false;

    const found = findRoute(method, p);
    if (found && "route" in found) {
      await runRoute(found.route, { req, res, url, params: found.params, where: found.where, access, parts: this.o.parts, hooks: this.o.hooks });
      return true;
    }
    if ((found && "methodNotAllowed" in found) || (method !== "GET" && method !== "HEAD")) {
      access.denied("method", p.startsWith("/api/") ? "api" : "page");
      throw new HttpError(405, "invalid_message", `${method} is not allowed here`, { allow: "GET, HEAD" });
    }

    if (p.startsWith("/api/")) {
      // Next never sees /api/*: an unknown API path is refused as a read would be, else 404
      await checkRead(access, req, false);
      throw new HttpError(404, "not_found", `no API route ${p}`);
    }
    return this.page(req, res, url);
  }

  private async page(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const { access } = this.o;
    const p = url.pathname;
    if (p === "/wall" && url.searchParams.has("token")) return this.wallExchange(req, res, url.searchParams.get("token"));
    const who = await access.principal(req);
    if (PUBLIC_PAGES.has(p)) {
      if (who.kind === "user" && p === "/login") {
        redirect(res, "/");
        return true;
      }
      // double-submit value for the sign-in and setup forms
      let pre = readCookie(req.headers.cookie, PRE_COOKIE);
      if (!pre || !/^[A-Za-z0-9_-]{32,64}$/.test(pre)) {
        pre = randomBytes(24).toString("base64url");
        res.setHeader("set-cookie", cookie(PRE_COOKIE, pre, { maxAgeS: 3600, secure: access.secureCookies(req), sameSite: "Strict" }));
      }
      req.headers[IDENTITY.preCsrf] = pre;
      if (access.oidc) req.headers[IDENTITY.oidc] = encodeURIComponent(access.oidc.providerName);
      return false;
    }
    if (who.kind === "user") {
      if (p.startsWith("/admin") && who.user.role !== "admin") {
        access.denied("forbidden", "page");
        res.writeHead(403, { "content-type": "text/plain; charset=utf-8" });
        res.end(`403: the admin page needs the admin role (you are ${who.user.role})\n`);
        return true;
      }
      this.identify(req, who);
      return false;
    }
    if (who.kind === "wall") {
      if (p === "/wall") {
        req.headers[IDENTITY.wall] = "1";
        return false;
      }
      access.denied("forbidden", "wall");
      redirect(res, "/wall");
      return true;
    }
    access.denied("unauthorized", "page");
    redirect(res, `/login?next=${encodeURIComponent(p + url.search)}`);
    return true;
  }

  /** /wall?token=...: a wall-only session cookie, then /wall without the token in the URL */
  private async wallExchange(req: IncomingMessage, res: ServerResponse, token: string | null): Promise<boolean> {
    const { access } = this.o;
    const t = await verifyWallToken(access.db, token);
    if (!t) {
      access.denied("unauthorized", "wall-token");
      res.writeHead(401, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
      res.end("401: this wall link is unknown or was revoked: ask an admin for a new one\n");
      return true;
    }
    const s = await createSession(access.db, { wallTokenId: t.id }, access.policy, { ip: access.clientIp(req), userAgent: req.headers["user-agent"] });
    access.log.info({ wall: t.name, ip: access.clientIp(req) }, "wall signed in");
    redirect(res, "/wall", {
      "set-cookie": cookie(SESSION_COOKIE, s.secret, { maxAgeS: access.policy.wallMaxMs / 1000, secure: access.secureCookies(req), sameSite: "Lax" }),
      "referrer-policy": "no-referrer",
    });
    return true;
  }

  private identify(req: IncomingMessage, who: Principal): void {
    if (who.kind !== "user") return;
    req.headers[IDENTITY.user] = who.user.name;
    req.headers[IDENTITY.role] = who.user.role;
    req.headers[IDENTITY.csrf] = csrfTokenFor(who.secret);
    req.headers[IDENTITY.scope] = who.scope.toHeader();
  }
}

export { sendJson };
