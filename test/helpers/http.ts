/**
 * Raw HTTP requests for access tests (node:http, so every header, Host and
 * Origin included, is exactly what the test says, and redirects are not followed).
 */
import http from "node:http";
import { randomBytes } from "node:crypto";

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json<T = Record<string, unknown>>(): T;
  /** "name=value" of a Set-Cookie, or null */
  cookie(name: string): string | null;
}

export function request(
  base: string,
  path: string,
  o: { method?: string; headers?: Record<string, string>; body?: unknown; rawBody?: string } = {},
): Promise<RawResponse> {
  const u = new URL(path, base);
  const body = o.rawBody ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
  const headers: Record<string, string> = { ...(o.body !== undefined ? { "content-type": "application/json" } : {}), ...(o.headers ?? {}) };
  if (body !== undefined) headers["content-length"] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    const req = http.request(u, { method: o.method ?? "GET", headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const setCookies = res.headers["set-cookie"] ?? [];
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text,
          json: <T>() => JSON.parse(text) as T,
          cookie: (name) => setCookies.map((c) => c.split(";")[0]).find((c) => c.startsWith(`${name}=`)) ?? null,
        });
      });
    });
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** Signs in the way the login page does: GET /login for the pre-session CSRF cookie, then POST /api/auth/login. */
export async function login(base: string, name: string, password: string, extra: Record<string, string> = {}) {
  const page = await request(base, "/login", { headers: extra });
  const pre = page.cookie("kam_pre");
  if (!pre) throw new Error(`no kam_pre cookie from /login (status ${page.status})`);
  const res = await request(base, "/api/auth/login", {
    method: "POST",
    headers: { origin: base, cookie: pre, "x-csrf-token": pre.split("=")[1], ...extra },
    body: { name, password },
  });
  const session = res.cookie("kam_session");
  return { res, cookie: session, csrf: res.status === 200 ? res.json<{ csrf: string }>().csrf : null };
}

/**
 * A websocket upgrade request made by hand (socket.io's engine.io handshake on `path`), so a test sees the
 * HTTP answer itself: the status and body of a refusal, or 101 (the socket is then ended at once).
 */
export function upgradeRequest(base: string, path: string, headers: Record<string, string> = {}, localAddress = "127.0.0.1"): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: url.hostname, port: url.port, path, localAddress,
      headers: { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": randomBytes(16).toString("base64"), ...headers },
    });
    req.once("upgrade", (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, body: "" });
    });
    req.once("response", (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.once("error", reject);
    req.end();
  });
}
