/**
 * Real receivers on loopback for the alert channel tests (issue 15): an HTTP server that records every
 * request (a generic webhook receiver, or PagerDuty's Events API v2 stand-in: the real PagerDuty cannot be
 * reached from the tests), and a real SMTP server (the `smtp-server` package) that offers STARTTLS with a
 * self-signed certificate made by openssl for this run, requires AUTH, and parses what it receives with
 * `mailparser`.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { simpleParser, type ParsedMail } from "mailparser";

export interface Received {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface HttpReceiver {
  url: string;
  got: Received[];
  /** the status answered from now on */
  status: number;
  close(): Promise<void>;
}

export async function startHttpReceiver(status = 202): Promise<HttpReceiver> {
  const got: Received[] = [];
  const r: HttpReceiver = { url: "", got, status, close: async () => {} };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      got.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(r.status, { "content-type": "application/json" }).end(JSON.stringify({ status: r.status < 300 ? "success" : "error" }));
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  r.close = () => new Promise<void>((ok, fail) => server.close((e) => (e ? fail(e) : ok())));
  return r;
}

export interface SmtpReceiver {
  port: number;
  /** the self-signed certificate (PEM), for the channel's --smtp-ca-file */
  certFile: string;
  mails: ParsedMail[];
  /** what each session did: whether it was upgraded to TLS before AUTH, and the user it authenticated as */
  sessions: { secure: boolean; user: string | null }[];
  close(): Promise<void>;
}

/** a self-signed certificate for 127.0.0.1 (openssl), in a fresh directory */
function selfSigned(): { dir: string; key: string; cert: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kam-smtp-"));
  const key = path.join(dir, "key.pem");
  const cert = path.join(dir, "cert.pem");
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert,
  ], { stdio: ["ignore", "ignore", "pipe"] });
  return { dir, key, cert };
}

export async function startSmtpReceiver(user: string, password: string): Promise<SmtpReceiver> {
  const tls = selfSigned();
  const mails: ParsedMail[] = [];
  const sessions: SmtpReceiver["sessions"] = [];
  const server = new SMTPServer({
    key: fs.readFileSync(tls.key),
    cert: fs.readFileSync(tls.cert),
    // plain at first, STARTTLS offered; AUTH only after it (allowInsecureAuth false)
    secure: false,
    allowInsecureAuth: false,
    authMethods: ["PLAIN", "LOGIN"],
    logger: false,
    onAuth(auth, session, cb) {
      const ok = auth.username === user && auth.password === password;
      sessions.push({ secure: session.secure, user: ok ? auth.username ?? null : null });
      cb(ok ? null : new Error("Invalid username or password"), ok ? { user: auth.username } : undefined);
    },
    onData(stream, _session, cb) {
      simpleParser(stream).then(
        (m) => {
          mails.push(m);
          cb();
        },
        (e: Error) => cb(e),
      );
    },
  });
  server.on("error", (e) => console.error("test SMTP server:", e));
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port, certFile: tls.cert, mails, sessions,
    close: () =>
      new Promise<void>((ok) =>
        server.close(() => {
          fs.rmSync(tls.dir, { recursive: true, force: true });
          ok();
        }),
      ),
  };
}
