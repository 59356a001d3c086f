/** Peer addresses and proxies, pure. */
import type { IncomingHttpHeaders } from "node:http";

export function isLoopback(addr: string | undefined): boolean {
  if (!addr) return false;
  const a = addr.toLowerCase();
  if (a === "::1") return true;
  const v4 = a.startsWith("::ffff:") ? a.slice(7) : a;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** A proxy in front of us adds one of these: the peer address is then the proxy's, not the client's. */
export const PROXY_HEADERS = ["forwarded", "x-forwarded-for", "x-real-ip"] as const;

export function hasProxyHeaders(headers: IncomingHttpHeaders): boolean {
  return PROXY_HEADERS.some((h) => headers[h] !== undefined);
}

/**
 * A Host header that names this host by a loopback name: `localhost`,
 * 127.x.x.x or [::1], with or without a port. A browser on the server host
 * tricked by DNS rebinding (evil.example resolving to 127.0.0.1) still sends
 * `Host: evil.example`.
 */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const h = host.trim().toLowerCase();
  const m = /^(\[[0-9a-f:.]+\]|[^:]+)(?::\d{1,5})?$/.exec(h);
  if (!m) return false;
  const name = m[1].startsWith("[") ? m[1].slice(1, -1) : m[1].replace(/\.$/, "");
  return name === "localhost" || isLoopback(name);
}

/**
 * Anonymous reads are allowed only to a direct loopback peer: a request that
 * came through a proxy on the same host carries a forwarding header and is
 * treated as remote; and the Host must be a loopback name (DNS rebinding, and
 * forwarders that add no header but keep the client's Host).
 */
export function anonymousReadAllowed(mode: "loopback" | "off", peer: string | undefined, headers: IncomingHttpHeaders): boolean {
  return mode === "loopback" && isLoopback(peer) && !hasProxyHeaders(headers) && isLoopbackHost(headers.host);
}

/**
 * The client address for rate limits and logs: the peer, or, when the peer is
 * a trusted proxy, the last address it appended to X-Forwarded-For.
 */
export function isTrustedProxy(peer: string | undefined, trustedProxies: string[]): boolean {
  const p = peer ?? "unknown";
  return trustedProxies.includes(p) || (trustedProxies.includes("loopback") && isLoopback(p));
}

/**
 * Did the client reach us over TLS: our own (`tls`), or a trusted proxy's that
 * says so in X-Forwarded-Proto.
 */
export function clientOverTls(tls: boolean, peer: string | undefined, headers: IncomingHttpHeaders, trustedProxies: string[]): boolean {
  if (tls) return true;
  const proto = headers["x-forwarded-proto"];
  return isTrustedProxy(peer, trustedProxies) && (Array.isArray(proto) ? proto[proto.length - 1] : proto)?.trim().toLowerCase() === "https";
}

export function clientAddress(peer: string | undefined, headers: IncomingHttpHeaders, trustedProxies: string[]): string {
  const p = peer ?? "unknown";
  if (!isTrustedProxy(p, trustedProxies)) return p;
  const xff = headers["x-forwarded-for"];
  const list = (Array.isArray(xff) ? xff.join(",") : xff ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  const last = list[list.length - 1];
  return last && last.length <= 64 ? last : p;
}
