/**
 * Compressed answers of the HTTP API. A 7-day cluster timeline is about 0.9 MB of JSON; a NOC wall display or an
 * operator on a VPN fetches it over a link far slower than loopback. The `compression` middleware (expressjs)
 * does the negotiation (Accept-Encoding with its q-values: brotli at quality 4, else gzip, else none), sets
 * `Vary: Accept-Encoding`, leaves alone what is already encoded, not compressible (the agent's .deb) or smaller
 * than COMPRESS_MIN_BYTES, and compresses on node's zlib threads, not on the event loop. Only the API and
 * /metrics go through it: Next's pages and socket.io's polling have their own.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import compression from "compression";

/** answers shorter than this go as they are (a compressed small answer saves less than it costs) */
export const COMPRESS_MIN_BYTES = 8 * 1024;

/** paths whose answers are compressed */
export const compressedPath = (url: string) => url.startsWith("/api/") || url === "/metrics" || url.startsWith("/metrics?");

type Next = (err?: unknown) => void;

/** `(req, res, next)`: for an API path, compresses what `next` answers (when the client accepts it), else just `next()` */
export function apiCompression(): (req: IncomingMessage, res: ServerResponse, next: Next) => void {
  const mw = compression({ threshold: COMPRESS_MIN_BYTES }) as unknown as (req: IncomingMessage, res: ServerResponse, next: Next) => void;
  return (req, res, next) => (compressedPath(req.url ?? "") ? mw(req, res, next) : next());
}
