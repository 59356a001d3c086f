/**
 * The browser's one /live channel (components/live/socket.ts) against a real socket.io server:
 * the subscription is the union of the mounted hooks' and is re-sent after every reconnect, the
 * channel reconnects after "io server disconnect" (which socket.io does not retry by itself), and
 * a refused handshake ends in "offline".
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { Server, type Namespace } from "socket.io";
import { io } from "socket.io-client";
import { connectionReducer, initialConnection, type ConnectionEvent, type ConnectionState } from "../../components/live/connection";
import { LiveChannel, subscriptionOf, type LiveSocket } from "../../components/live/socket";
import { waitFor } from "../helpers/wait";

describe("subscriptionOf", () => {
  test("is the sorted union of the hooks' lists, without repeats", () => {
    assert.deepEqual(subscriptionOf([["b", "a"], ["a"], ["c"]]), ["a", "b", "c"]);
  });
  test("is every cluster as soon as one hook wants every cluster", () => {
    assert.deepEqual(subscriptionOf([["a"], ["*"]]), ["*"]);
  });
});

describe("LiveChannel on a real socket.io server", () => {
  const http = createServer();
  const server = new Server(http);
  let nsp: Namespace;
  let url = "";
  /** every subscribe message the server received, in order */
  const subscribes: string[][] = [];
  let refuse = false;

  before(async () => {
    nsp = server.of("/live");
    nsp.use((_socket, next) => next(refuse ? new Error("sign in first") : undefined));
    nsp.on("connection", (socket) => {
      socket.on("subscribe", (msg: { clusters: string[] }, ack: (r: { ok: true }) => void) => {
        subscribes.push(msg.clusters);
        ack({ ok: true });
      });
    });
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/live`;
  });
  after(async () => {
    await server.close();
  });

  const channelOf = () =>
    new LiveChannel(io(url, { transports: ["websocket"], autoConnect: false, reconnectionDelay: 50 }) as LiveSocket, {
      browser: null,
      reconnectDelay: () => 50,
    });
  const recorder = () => {
    const r = { state: initialConnection(0) as ConnectionState, resyncs: [] as boolean[], pushes: [] as unknown[] };
    return {
      r,
      on: (ev: ConnectionEvent) => {
        r.state = connectionReducer(r.state, ev);
      },
    };
  };

  test("subscribes to the union of its subscribers and narrows it when one leaves", async () => {
    subscribes.length = 0;
    const ch = channelOf();
    try {
      const a = recorder();
      const b = recorder();
      ch.add({ clusters: ["alpha"], onConnection: a.on, onResync: (f) => a.r.resyncs.push(f) });
      await waitFor("the first resync", () => a.r.resyncs.length === 1);
      const removeB = ch.add({ clusters: ["beta"], onConnection: b.on, onResync: (f) => b.r.resyncs.push(f) });
      await waitFor("b's resync", () => b.r.resyncs.length === 1);
      assert.deepEqual(subscribes.at(-1), ["alpha", "beta"]);
      assert.equal(a.r.state.status, "live");
      assert.equal(b.r.state.status, "live");
      assert.deepEqual(a.r.resyncs, [true], "a was already covered: no second resync for it");
      removeB();
      await waitFor("the narrowed subscription", () => subscribes.at(-1)?.join() === "alpha");
    } finally {
      ch.close();
    }
  });

  test("reconnects after the server closed it, re-subscribes and asks for a resync", async () => {
    subscribes.length = 0;
    const ch = channelOf();
    try {
      const a = recorder();
      const pushes: unknown[] = [];
      ch.add({ clusters: ["*"], onConnection: a.on, onResync: (f) => a.r.resyncs.push(f), onCluster: (raw) => pushes.push(raw) });
      await waitFor("the first resync", () => a.r.resyncs.length === 1);
      const firstId = ch.socket.id;
      for (const s of await nsp.fetchSockets()) s.disconnect(true);
      await waitFor("a second resync", () => a.r.resyncs.length === 2, 5000);
      assert.deepEqual(a.r.resyncs, [true, false]);
      assert.notEqual(ch.socket.id, firstId, "a new connection");
      assert.deepEqual(subscribes, [["*"], ["*"]]);
      assert.equal(a.r.state.status, "live");
      nsp.emit("cluster", { name: "x" });
      await waitFor("the push after the reconnect", () => pushes.length === 1);
    } finally {
      ch.close();
    }
  });

  test("a refused handshake is offline at once, with the server's reason", async () => {
    refuse = true;
    const ch = channelOf();
    try {
      const a = recorder();
      ch.add({ clusters: ["*"], onConnection: a.on });
      await waitFor("offline", () => a.r.state.status === "offline", 5000);
      assert.equal(a.r.state.detail, "sign in first");
      assert.equal(a.r.state.everConnected, false);
    } finally {
      refuse = false;
      ch.close();
    }
  });
});
