/**
 * Issue 19, point 6: rate limits behind a reverse proxy on loopback
 * (KAM_TRUSTED_PROXIES=loopback) key on the client address the proxy reports,
 * so one client's failures lock out neither other clients nor (sign-in) the
 * user everywhere, and bogus agent handshakes lock out no agent.
 * The proxy is a tiny node:http forwarder in this test that adds
 * X-Forwarded-For (the client address it is told via x-test-client, since
 * every test client is on loopback); the agents send X-Forwarded-For themselves
 * (socket.io-client extraHeaders), which is what the server sees from a proxy.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { io } from "socket.io-client";
import { PROTOCOL_VERSION, SOCKET_PATHS } from "../../server/protocol";
import { startTestServer, type TestServer } from "../helpers/server";
import { login, request, upgradeRequest } from "../helpers/http";
import { testDbKind } from "../helpers/db";

let srv: TestServer;
let proxy: http.Server;
let proxyUrl = "";

before(async () => {
  srv = await startTestServer({
    env: { KAM_TRUSTED_PROXIES: "loopback", KAM_LOGIN_ATTEMPTS_PER_USER: "2", KAM_LOGIN_ATTEMPTS_PER_IP: "5", KAM_IP_HANDSHAKES_PER_10S: "2" },
  });
  const target = new URL(srv.url);
  proxy = http.createServer((req, res) => {
    const client = String(req.headers["x-test-client"] ?? "192.0.2.1");
    const headers: http.OutgoingHttpHeaders = { ...req.headers, "x-forwarded-for": client };
    delete headers["x-test-client"];
    const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on("error", (e) => {
      res.writeHead(502);
      res.end(String(e));
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise((r) => proxy?.close(r));
  await srv?.close();
});

const from = (client: string) => ({ "x-test-client": client });

describe(`the first-admin setup link over plain HTTP (${testDbKind()})`, () => {
  it("is refused from another host unless the client came over HTTPS (issue 19)", async () => {
    let link: RegExpExecArray | null = null;
    for (let i = 0; i < 50 && !link; i++, await new Promise((r) => setTimeout(r, 100))) link = /\/setup\?token=(kams_[A-Za-z0-9_-]{43})/.exec(srv.output());
    assert.ok(link, "setup link printed");
    assert.match(srv.output(), /plain HTTP: accepted from this host only/);
    const page = await request(proxyUrl, `/setup?token=${link[1]}`, { headers: from("203.0.113.77") });
    const pre = page.cookie("kam_pre")!;
    const post = (extra: Record<string, string>) => request(proxyUrl, "/api/auth/setup", {
      method: "POST", headers: { origin: proxyUrl, cookie: pre, "x-csrf-token": pre.split("=")[1], ...from("203.0.113.77"), ...extra },
      body: { token: link[1], name: "first", password: "correct horse battery" },
    });
    const plain = await post({});
    assert.deepEqual([plain.status, plain.json().code], [403, "forbidden"], plain.text);
    const tls = await post({ "x-forwarded-proto": "https" });
    assert.equal(tls.status, 200, tls.text);
  });
});

describe(`rate limits behind a loopback proxy (${testDbKind()})`, () => {
  it("one address guessing a user's password does not lock that user out from another address", async () => {
    const admin = await srv.user("admin");
    for (let i = 0; i < 2; i++) assert.equal((await login(proxyUrl, admin.name, `wrong-${i}-password`, from("203.0.113.9"))).res.status, 401);
    const attacker = await login(proxyUrl, admin.name, admin.password, from("203.0.113.9"));
    assert.equal(attacker.res.status, 429, "the guessing address waits, even with the right password");
    const owner = await login(proxyUrl, admin.name, admin.password, from("198.51.100.7"));
    assert.equal(owner.res.status, 200, "the user signs in from elsewhere");
  });

  it("the per-address sign-in limit keys on the client behind the proxy, not on the proxy", async () => {
    const u = await srv.user("viewer");
    for (let i = 0; i < 5; i++) assert.equal((await login(proxyUrl, `nobody-${i}`, "wrong password!", from("203.0.113.50"))).res.status, 401);
    assert.equal((await login(proxyUrl, u.name, u.password, from("203.0.113.50"))).res.status, 429);
    assert.equal((await login(proxyUrl, u.name, u.password, from("198.51.100.50"))).res.status, 200, "another client of the proxy is not blocked");
  });

  it("bogus agent handshakes spend their own address's allowance: agents behind the same proxy still connect", { timeout: 60_000 }, async () => {
    const token = await srv.token("proxied", "px1");
    const attempt = (tok: string, node: string, client: string) =>
      new Promise<string>((resolve) => {
        const s = io(`${srv.url}/agent`, {
          auth: { protocol: PROTOCOL_VERSION, token: tok, agentId: randomUUID(), node, hostname: node, version: "t" },
          transports: ["websocket"], reconnection: false, timeout: 5000, extraHeaders: { "x-forwarded-for": client },
        });
        s.once("connect", () => {
          s.close();
          resolve("ok");
        });
        s.once("connect_error", (e: Error & { data?: { code?: string } }) => {
          s.close();
          resolve(e.data?.code ?? e.message);
        });
      });
    const bogus: string[] = [];
    for (let i = 0; i < 8; i++) bogus.push(await attempt("kam_" + "z".repeat(40), "px1", "203.0.113.66"));
    assert.deepEqual(bogus, [...Array(4).fill("unauthorized"), ...Array(4).fill("rate_limited")]);
    assert.equal(await attempt(token, "px1", "198.51.100.66"), "ok", "another client address");
    assert.equal(await attempt(token, "px1", "203.0.113.66"), "ok", "a valid token from the same address: only failures are limited");
  });
});

describe(`the agent path's token gate behind a loopback proxy (issue 19, ${testDbKind()})`, () => {
  it("refused handshakes spend the allowance of the client address X-Forwarded-For names: another client of the proxy still gets in", { timeout: 60_000 }, async () => {
    const token = await srv.token("proxied-gate", "pg1");
    const handshake = `${SOCKET_PATHS.agent}/?EIO=4&transport=websocket`;
    const bogus = { authorization: `Bearer kam_${"y".repeat(43)}`, "x-forwarded-for": "203.0.113.67" };
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) answers.push((await upgradeRequest(srv.url, handshake, bogus)).body.split(":")[0]);
    assert.deepEqual(answers, [...Array(4).fill("unauthorized"), ...Array(2).fill("rate_limited")]);
    const valid = (client: string) => upgradeRequest(srv.url, handshake, { authorization: `Bearer ${token}`, "x-forwarded-for": client });
    assert.equal((await valid("198.51.100.67")).status, 101, "another client address behind the proxy");
    assert.equal((await valid("203.0.113.67")).status, 101, "a valid token from the same address: only failures are limited");
  });
});

describe(`anonymous loopback read needs a loopback Host (${testDbKind()})`, () => {
  it("answers 401 to a loopback peer naming another host (DNS rebinding), 200 to localhost, 127.x and [::1]", async () => {
    const port = new URL(srv.url).port;
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]) {
      assert.equal((await request(srv.url, "/api/clusters", { headers: { host } })).status, 200, host);
    }
    for (const host of [`rebind.evil.example:${port}`, "evil.example"]) {
      const r = await request(srv.url, "/api/clusters", { headers: { host } });
      assert.deepEqual([r.status, r.json().code], [401, "unauthorized"], host);
    }
  });
});
