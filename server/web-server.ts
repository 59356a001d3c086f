/** The one HTTP server of the process: plain http, or https only when TLS files are configured. */
import http from "node:http";
import https from "node:https";
import type { TlsFiles } from "./config";

export function createWebServer(tls: TlsFiles | null, onRequest: http.RequestListener): http.Server {
  return tls ? https.createServer({ cert: tls.cert, key: tls.key }, onRequest) : http.createServer(onRequest);
}
