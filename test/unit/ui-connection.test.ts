import assert from "node:assert/strict";
import { test } from "node:test";
import {
  OFFLINE_AFTER_FAILURES,
  connectionReducer,
  initialConnection,
  type ConnectionEvent,
  type ConnectionState,
} from "../../components/live/connection";

const run = (events: ConnectionEvent[], from: ConnectionState = initialConnection(0)) =>
  events.reduce(connectionReducer, from);
const fail = (at: number): ConnectionEvent => ({ type: "connectError", message: "timeout", willRetry: true, at });

test("starts connecting and becomes live on connect", () => {
  assert.equal(initialConnection(0).status, "connecting");
  const s = run([{ type: "connected", at: 5 }]);
  assert.equal(s.status, "live");
  assert.equal(s.since, 5);
  assert.equal(s.detail, null);
});

test("a lost connection shows reconnecting, then offline after repeated failures", () => {
  let s = run([
    { type: "connected", at: 1 },
    { type: "disconnected", reason: "transport close", at: 2 },
  ]);
  assert.equal(s.status, "reconnecting");
  assert.equal(s.detail, "transport close");
  for (let i = 1; i < OFFLINE_AFTER_FAILURES; i++) s = connectionReducer(s, fail(2 + i));
  assert.equal(s.status, "reconnecting");
  assert.equal(s.since, 2, "since only moves when the status changes");
  s = connectionReducer(s, fail(100));
  assert.equal(s.status, "offline");
  assert.equal(s.since, 100);
  s = connectionReducer(s, { type: "connected", at: 200 });
  assert.equal(s.status, "live");
  assert.equal(s.failures, 0);
});

test("before the first connection, failures keep saying connecting until offline", () => {
  const s = run([fail(1)]);
  assert.equal(s.status, "connecting");
  assert.equal(s.detail, "timeout");
});

test("an error socket.io will not retry is offline at once", () => {
  const s = run([{ type: "connectError", message: "unauthorized", willRetry: false, at: 1 }]);
  assert.equal(s.status, "offline");
  assert.equal(s.detail, "unauthorized");
});

test("a refused subscription is offline even though the socket is connected", () => {
  const s = run([
    { type: "connected", at: 1 },
    { type: "subscribeFailed", message: "invalid_message", at: 2 },
  ]);
  assert.equal(s.status, "offline");
  assert.match(s.detail ?? "", /subscription refused/);
});

test("browser offline and back online", () => {
  let s = run([
    { type: "connected", at: 1 },
    { type: "browserOffline", at: 2 },
  ]);
  assert.equal(s.status, "offline");
  s = connectionReducer(s, { type: "browserOnline", at: 3 });
  assert.equal(s.status, "reconnecting");
  const live = run([{ type: "connected", at: 1 }]);
  assert.equal(connectionReducer(live, { type: "browserOnline", at: 2 }), live, "online while live changes nothing");
});
