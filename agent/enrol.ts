/**
 * The enrolment exchange (issue 14, "Add a node from the dashboard"): an agent started with a one-time code
 * (--enrol / KAM_ENROL_CODE) and no token POSTs the code to the server (ENROL_PATH) once, before it connects,
 * gets its per-node agent token, and keeps it in its state directory (`token`, mode 0600, written to a
 * temporary file, synced, renamed): later starts read it from there (agent/options.ts) and never send the
 * code again. A plain HTTP request, not the socket: the agents' socket path admits only token holders, and
 * a request with a typed answer is the simplest thing to retry.
 *
 * - Answered 201: the token. The request carries the agent id: if the answer is lost (a timeout, a crash before
 *   the token is stored), asking again gets a new token in place of the first, until one has connected.
 * - A typed refusal (unknown, used, expired or revoked code, another node name, a server without enrolment):
 *   final, the caller stops with the server's message, which names the setting to change.
 * - Anything else (no answer, TLS, 5xx, rate_limited, unavailable): retried with backoff (1 s .. 30 s, at
 *   least the server's Retry-After), moving through the servers of --server a,b; TLS problems say which
 *   setting to fix (--ca / KAM_CA) in the log.
 */
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import path from "node:path";
import * as z from "zod/mini";
import { ENROL_PATH, EnrolReply, ErrorCode, describeZodError, type EnrolRequest } from "../server/protocol";
import { backoffDelay } from "./lines";
import type { Logger } from "./log";
import { storedTokenPath } from "./options";
import { ensureDir, fsyncDir } from "./outbox-files";
import { tlsProblem } from "./client";

export type EnrolAnswer =
  | { kind: "ok"; reply: EnrolReply }
  | { kind: "refused"; code: ErrorCode | null; status: number; message: string }
  | { kind: "retry"; message: string; retryAfterMs: number | null };

const ErrorAnswer = z.object({ ok: z.literal(false), code: ErrorCode, message: z.string() });

/** the answer of one POST as what to do next (pure: status, Retry-After header and body text in) */
export function classifyAnswer(status: number, retryAfter: string | undefined, text: string): EnrolAnswer {
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: judged by its status below
  }
  const hint = retryAfter && /^\d{1,6}$/.test(retryAfter.trim()) ? Number(retryAfter) * 1000 : null;
  if (status === 201 || status === 200) {
    const r = z.safeParse(EnrolReply, body);
    if (r.success) return { kind: "ok", reply: r.data };
    return { kind: "retry", message: `the server's answer is not an enrolment (${describeZodError(r.error)})`, retryAfterMs: null };
  }
  const e = z.safeParse(ErrorAnswer, body);
  if (e.success && (e.data.code === "rate_limited" || e.data.code === "unavailable" || e.data.code === "internal" || status >= 500)) {
    return { kind: "retry", message: `${e.data.code}: ${e.data.message}`, retryAfterMs: hint };
  }
  if (e.success) return { kind: "refused", code: e.data.code, status, message: e.data.message };
  if (status === 404 || status === 405) {
    return { kind: "refused", code: null, status, message: `the server has no enrolment (${ENROL_PATH} answered ${status}): upgrade the server, or give this agent a token (--token-file / KAM_TOKEN_FILE)` };
  }
  return { kind: "retry", message: `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ""}`, retryAfterMs: hint };
}

/** one POST of the exchange to `server` */
export function postEnrol(server: string, req: EnrolRequest, ca: string | null, timeoutMs = 15_000): Promise<EnrolAnswer> {
  return new Promise((resolve) => {
    // after the server URL's own path, if any (a proxy serving the monitor under /monitor/)
    const url = new URL(`${server.replace(/\/+$/, "")}${ENROL_PATH}`);
    const payload = JSON.stringify(req);
    const options: http.RequestOptions = {
      method: "POST", timeout: timeoutMs,
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload), accept: "application/json" },
    };
    const onAnswer = (res: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        size += c.length;
        if (size <= 64 * 1024) chunks.push(c);
      });
      res.on("end", () => resolve(classifyAnswer(res.statusCode ?? 0, res.headers["retry-after"], Buffer.concat(chunks).toString("utf8"))));
      res.on("error", (e) => resolve({ kind: "retry", message: e.message, retryAfterMs: null }));
    };
    // the server's certificate is verified against the system CAs, or --ca / KAM_CA: never skipped
    const r = url.protocol === "https:" ? https.request(url, { ...options, ...(ca ? { ca } : {}) }, onAnswer) : http.request(url, options, onAnswer);
    r.on("timeout", () => r.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    r.on("error", (e) => {
      const tls = tlsProblem(e);
      resolve({ kind: "retry", message: tls ? `${tls.message} (${tls.detail})` : e.message, retryAfterMs: null });
    });
    r.end(payload);
  });
}

export interface EnrolOptions {
  servers: string[];
  code: string;
  node: string;
  agentId: string;
  version: string;
  ca: string | null;
  log: Logger;
  /** injected in tests */
  post?: typeof postEnrol;
  sleep?: (ms: number) => Promise<void>;
  minDelayMs?: number;
  maxDelayMs?: number;
}

/** exchanges the code (retrying what may pass later); `refused` is final, its message names what to change */
export async function enrol(o: EnrolOptions): Promise<{ ok: true; reply: EnrolReply } | { ok: false; message: string }> {
  const post = o.post ?? postEnrol;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const req: EnrolRequest = { code: o.code, node: o.node, agentId: o.agentId, version: o.version.slice(0, 64) };
  for (let attempt = 0; ; attempt++) {
    const server = o.servers[attempt % o.servers.length];
    const a = await post(server, req, o.ca);
    if (a.kind === "ok") return { ok: true, reply: a.reply };
    if (a.kind === "refused") {
      return { ok: false, message: `--enrol / KAM_ENROL_CODE: ${server} refused the enrolment code${a.code ? ` (${a.code})` : ""}: ${a.message}` };
    }
    const wait = Math.max(a.retryAfterMs ?? 0, backoffDelay(attempt, o.minDelayMs ?? 1000, o.maxDelayMs ?? 30_000));
    o.log.warn({ server, attempt: attempt + 1, retryInMs: wait }, `enrolment not done yet (retried): ${a.message}`);
    await sleep(wait);
  }
}

/** writes the token to <stateDir>/token (0600) durably: a temporary file, fsync, rename, fsync of the directory */
export function storeToken(stateDir: string, token: string): string {
  ensureDir(stateDir);
  const file = storedTokenPath(stateDir);
  const tmp = path.join(stateDir, `.token.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, "w", 0o600);
  try {
    fs.writeSync(fd, `${token}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
  fsyncDir(stateDir);
  return file;
}
