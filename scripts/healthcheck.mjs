// The container image's HEALTHCHECK (Containerfile): asks the server running beside it for /api/health and exits
// 0 when it answers 200 with `"ok": true`, 1 otherwise (not listening, database unreachable, no answer in 4 s).
// It reads the server's own settings from the environment: PORT, KAM_HOST (an unspecified address means this
// host's loopback) and KAM_TLS_CERT (https, the certificate not checked: it names the public host, not loopback).
import http from "node:http";
import https from "node:https";

const port = Number(process.env.PORT || 3000);
const listen = process.env.KAM_HOST || "0.0.0.0";
const host = listen === "0.0.0.0" || listen === "::" ? "127.0.0.1" : listen;
const tls = Boolean(process.env.KAM_TLS_CERT);
const url = `${tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${port}/api/health`;

const req = (tls ? https : http).get(url, { timeout: 4000, rejectUnauthorized: false }, (res) => {
  let body = "";
  res.setEncoding("utf8");
  res.on("data", (chunk) => (body += chunk));
  res.on("end", () => {
    let ok = false;
    try {
      ok = res.statusCode === 200 && JSON.parse(body).ok === true;
    } catch {
      // not JSON: reported below with the body
    }
    if (!ok) console.error(`unhealthy: ${url} answered ${res.statusCode}: ${body.slice(0, 200)}`);
    process.exit(ok ? 0 : 1);
  });
});
req.on("timeout", () => req.destroy(new Error("no answer within 4 s")));
req.on("error", (e) => {
  console.error(`unhealthy: ${url}: ${e.message}`);
  process.exit(1);
});
