/**
 * A REAL OpenID Connect provider for the OIDC sign-in tests: the `oidc-provider` package (devDependency) on
 * 127.0.0.1, a random port, with one confidential client that must use PKCE, and test users whose `groups`
 * claim (scope `groups`) the test chooses. Sign-in goes through the provider's own development interaction
 * pages (devInteractions: a login form taking any password, then a consent form).
 *
 * The provider's port is bound first (startTestIdp) and answers 503 until `attach(redirectUri)`: the server
 * under test needs the issuer URL before it starts, the provider needs the server's redirect URL (its port)
 * to register the client; meanwhile the server's discovery at start fails, as when a provider is down.
 *
 * Also a cookie-keeping HTTP client that walks the redirects and the provider's forms as a browser would
 * (one cookie jar for the host, as browsers keep cookies per host, not per port).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import Provider from "oidc-provider";

export interface IdpUser {
  groups: string[];
  email?: string;
  /** preferred_username; default: the login */
  username?: string;
}

export interface TestIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** the users by login; change their groups between sign-ins */
  users: Record<string, IdpUser>;
  /** serves the provider, its client registered with this redirect URL */
  attach(redirectUri: string): void;
  close(): Promise<void>;
}

export async function startTestIdp(users: Record<string, IdpUser>): Promise<TestIdp> {
  let handler: http.RequestListener | null = null;
  const server = http.createServer((req, res) => {
    if (handler) return handler(req, res);
    res.writeHead(503, { "content-type": "text/plain" });
    res.end("not attached yet\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = "kam-test";
  const clientSecret = randomBytes(24).toString("base64url");
  return {
    issuer, clientId, clientSecret, users,
    attach(redirectUri) {
      const provider = new Provider(issuer, {
        clients: [{
          client_id: clientId, client_secret: clientSecret, redirect_uris: [redirectUri],
          grant_types: ["authorization_code"], response_types: ["code"], token_endpoint_auth_method: "client_secret_basic",
        }],
        pkce: { required: () => true },
        claims: { openid: ["sub"], profile: ["preferred_username", "name"], email: ["email"], groups: ["groups"] },
        scopes: ["openid", "profile", "email", "groups"],
        cookies: { keys: [randomBytes(16).toString("hex")] },
        features: { devInteractions: { enabled: true } },
        findAccount(_ctx, id) {
          const u = users[id];
          if (!u) return undefined;
          return {
            accountId: id,
            claims: () => ({ sub: id, preferred_username: u.username ?? id, name: id, email: u.email ?? `${id}@example.test`, groups: u.groups }),
          };
        },
      });
      handler = provider.callback();
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

export interface Hop {
  method: string;
  url: string;
  status: number;
  location: string | null;
  body: string;
}

/** cookies of one host, by name, with their paths; sent on a request whose path is under the cookie's */
export class CookieJar {
  private readonly jar = new Map<string, { value: string; path: string }>();

  take(setCookie: string[]): void {
    for (const c of setCookie) {
      const [pair, ...attrs] = c.split(";").map((s) => s.trim());
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const pathAttr = attrs.find((a) => a.toLowerCase().startsWith("path="));
      const maxAge = attrs.find((a) => a.toLowerCase().startsWith("max-age="));
      const expires = attrs.find((a) => a.toLowerCase().startsWith("expires="));
      const key = `${name}\u0000${pathAttr ? pathAttr.slice(5) : "/"}`;
      const gone = (maxAge && Number(maxAge.slice(8)) <= 0) || (expires && Date.parse(expires.slice(8)) <= Date.now());
      if (gone) this.jar.delete(key);
      else this.jar.set(key, { value, path: pathAttr ? pathAttr.slice(5) : "/" });
    }
  }

  header(path: string): string {
    return [...this.jar.entries()].filter(([, c]) => path.startsWith(c.path)).map(([k, c]) => `${k.split("\u0000")[0]}=${c.value}`).join("; ");
  }

  get(name: string): string | null {
    for (const [k, c] of this.jar) if (k.split("\u0000")[0] === name) return c.value;
    return null;
  }

  set(name: string, value: string, path = "/"): void {
    this.jar.set(`${name}\u0000${path}`, { value, path });
  }
}

/** one request with the jar's cookies; redirects are not followed */
export async function hop(jar: CookieJar, method: string, url: string, form?: Record<string, string>): Promise<Hop> {
  const u = new URL(url);
  const headers: Record<string, string> = {};
  const cookie = jar.header(u.pathname);
  if (cookie) headers.cookie = cookie;
  let body: string | undefined;
  if (form) {
    body = new URLSearchParams(form).toString();
    headers["content-type"] = "application/x-www-form-urlencoded";
  }
  const r = await fetch(url, { method, headers, body, redirect: "manual" });
  jar.take(r.headers.getSetCookie());
  return { method, url, status: r.status, location: r.headers.get("location") ? new URL(r.headers.get("location")!, url).href : null, body: await r.text() };
}

/** the provider's interaction form on a page: its action and its fields (hidden ones with their values) */
function formOf(html: string, base: string): { action: string; fields: Record<string, string> } | null {
  const m = /<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/.exec(html);
  if (!m) return null;
  const fields: Record<string, string> = {};
  for (const input of m[2].matchAll(/<input[^>]*>/g)) {
    const name = /name="([^"]+)"/.exec(input[0])?.[1];
    if (name) fields[name] = /value="([^"]*)"/.exec(input[0])?.[1] ?? "";
  }
  return { action: new URL(m[1].replace(/&amp;/g, "&"), base).href, fields };
}

/**
 * Walks a sign-in from `start` (the dashboard's /api/auth/oidc/login) as a browser: follows redirects, fills
 * the provider's login form with `login` and submits its consent form, until an answer that is not a redirect
 * nor a provider form, or a page of the dashboard `stopAt` (its origin). `callback` may change the URL the
 * provider sends the browser back to (a tampered state). Returns every hop.
 */
export async function walkSignIn(jar: CookieJar, start: string, login: string, stopAt: string, callback?: (u: URL) => URL): Promise<Hop[]> {
  const hops: Hop[] = [];
  let next: { method: string; url: string; form?: Record<string, string> } | null = { method: "GET", url: start };
  while (next) {
    if (hops.length > 20) throw new Error(`sign-in did not end after 20 hops:\n${hops.map((h) => `${h.method} ${h.url} ${h.status}`).join("\n")}`);
    const h = await hop(jar, next.method, next.url, next.form);
    hops.push(h);
    next = null;
    if (h.status >= 300 && h.status < 400 && h.location) {
      const to = new URL(h.location);
      // a dashboard page (not the OIDC routes): the walk ends there, unrequested
      if (to.origin === stopAt && !to.pathname.startsWith("/api/auth/oidc/")) break;
      next = { method: "GET", url: callback && to.origin === stopAt && to.pathname === "/api/auth/oidc/callback" ? callback(to).href : h.location };
    } else if (h.status === 200 && new URL(h.url).origin !== stopAt) {
      const f = formOf(h.body, h.url);
      if (!f) break;
      if (f.fields.prompt === "login") next = { method: "POST", url: f.action, form: { ...f.fields, login, password: "any" } };
      else if (f.fields.prompt === "consent") next = { method: "POST", url: f.action, form: f.fields };
    }
  }
  return hops;
}
