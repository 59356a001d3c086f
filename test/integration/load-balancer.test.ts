/**
 * The load-balancer helper (test/helpers/load-balancer.ts) against plain node
 * backends on 127.0.0.1: a REAL nginx round-robins between two, skips one
 * that was closed, keeps one client on one backend with `sticky: true`
 * (ip_hash), and carries the socket.io websocket upgrade (transport
 * "websocket" only, as the agents and the dashboard use it).
 * Without nginx installed the tests fail under CI (saying how to install it)
 * and are skipped, with that reason, elsewhere.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Server as SocketServer } from "socket.io";
import { io, type Socket } from "socket.io-client";
import { nginxMissing, startNginx, type TestNginx } from "../helpers/load-balancer";

const missing = nginxMissing();
const skip = missing && !process.env.CI ? missing : false;

/** everything a test started, torn down in after() whatever happened */
const cleanups: (() => Promise<void>)[] = [];

after(async () => {
  const errors: unknown[] = [];
  for (const c of cleanups.reverse()) {
    try {
      await c();
    } catch (e) {
      errors.push(e);
    }
  }
  if (errors.length) throw new AggregateError(errors, `teardown failed: ${errors.map(String).join("; ")}`);
});

interface Backend {
  name: string;
  port: number;
  server: http.Server;
  /** X-Forwarded-For / X-Forwarded-Proto / Host of the last request it saw */
  last: http.IncomingHttpHeaders;
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!server.listening) return resolve();
    server.closeAllConnections();
    server.close((e) => (e ? reject(e) : resolve()));
  });
}

/** a node http server on 127.0.0.1 answering its own name */
async function backend(name: string): Promise<Backend> {
  const b: Backend = { name, port: 0, server: http.createServer(), last: {} };
  b.server.on("request", (req, res) => {
    b.last = req.headers;
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(name);
  });
  await new Promise<void>((r) => b.server.listen(0, "127.0.0.1", r));
  b.port = (b.server.address() as AddressInfo).port;
  cleanups.push(() => closeServer(b.server));
  return b;
}

async function nginx(backends: { port: number }[], opts?: { sticky?: boolean }): Promise<TestNginx> {
  const lb = await startNginx(backends.map((b) => ({ host: "127.0.0.1", port: b.port })), opts);
  cleanups.push(() => lb.stop());
  return lb;
}

/** n GETs in a row through the balancer: who answered each */
async function names(lb: TestNginx, n: number): Promise<string[]> {
  const got: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${lb.url}/who?i=${i}`);
    assert.equal(r.status, 200, `request ${i}: status ${r.status}\n${lb.output()}`);
    got.push(await r.text());
  }
  return got;
}

describe("a real nginx in front of several backends (test/helpers/load-balancer.ts)", () => {
  it("round-robins between two backends and forwards the client headers", { skip }, async () => {
    const [a, b] = [await backend("a"), await backend("b")];
    const lb = await nginx([a, b]);
    const got = await names(lb, 6);
    assert.deepEqual(new Set(got), new Set(["a", "b"]), `both backends answered: ${got.join(",")}`);
    const seen = a.last["x-forwarded-for"] ? a.last : b.last;
    assert.equal(seen["x-forwarded-for"], "127.0.0.1");
    assert.equal(seen["x-forwarded-proto"], "http");
    assert.equal(seen.host, `127.0.0.1:${lb.port}`, "the client's Host, with its port (the server's Origin checks compare against it)");
    assert.match(lb.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("skips a backend that was closed: every request reaches the live one", { skip }, async () => {
    const [a, b] = [await backend("a"), await backend("b")];
    const lb = await nginx([a, b]);
    await closeServer(b.server);
    assert.deepEqual(await names(lb, 5), ["a", "a", "a", "a", "a"]);
  });

  it("with sticky: true (ip_hash), sends one client to one backend", { skip }, async () => {
    const [a, b] = [await backend("a"), await backend("b")];
    const lb = await nginx([a, b], { sticky: true });
    const got = await names(lb, 6);
    assert.equal(new Set(got).size, 1, `one backend answered all six: ${got.join(",")}`);
  });

  it("carries the socket.io websocket upgrade (transport websocket only, no stickiness)", { skip }, async () => {
    const servers = await Promise.all(
      ["s1", "s2"].map(async (name) => {
        const b = await backend(name);
        const sio = new SocketServer(b.server);
        sio.on("connection", (socket) => {
          socket.on("echo", (msg: unknown, ack: (reply: unknown) => void) => ack({ from: name, msg, transport: socket.conn.transport.name }));
        });
        cleanups.push(() => new Promise<void>((resolve, reject) => void sio.close((e) => (e ? reject(e) : resolve()))));
        return b;
      }),
    );
    const lb = await nginx(servers);
    for (let i = 0; i < 2; i++) {
      const client: Socket = io(lb.url, { transports: ["websocket"], reconnection: false, forceNew: true, timeout: 5000 });
      cleanups.push(async () => void client.close());
      await new Promise<void>((resolve, reject) => {
        client.once("connect", resolve);
        client.once("connect_error", (e) => reject(new Error(`socket.io through nginx: ${e.message}\n${lb.output()}`)));
      });
      const reply = (await client.timeout(5000).emitWithAck("echo", `hello ${i}`)) as { from: string; msg: string; transport: string };
      assert.equal(reply.msg, `hello ${i}`);
      assert.equal(reply.transport, "websocket");
      assert.ok(["s1", "s2"].includes(reply.from));
      client.close();
    }
  });
});
