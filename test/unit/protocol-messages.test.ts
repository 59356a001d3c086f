/**
 * server/protocol.ts and agent/options.ts are written with zod/mini (issue 18: no zod classic in the agent
 * bundle). zod/mini loads no locale: without the English one every issue would read "Invalid input". This file
 * imports only those two modules (no zod classic, which loads the locale itself), so it checks that they load
 * it: the messages operators see (describeZodError in invalid_message answers and agent logs, option errors)
 * are zod's English ones, as with classic zod.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { AgentHello, Batch, ConfigInstance, HeldAddress, Heartbeat, LIMITS, describeZodError } from "../../server/protocol";
import { parseAgentOptions } from "../../agent/options";

function describe(schema: { safeParse(v: unknown): { success: boolean; error?: unknown } }, value: unknown): string {
  const r = schema.safeParse(value);
  assert.equal(r.success, false, "the value is refused");
  return describeZodError(r.error as Parameters<typeof describeZodError>[0]);
}

const address = { address: "10.0.0.1", prefixlen: 24, iface: "eth0" };

test("describeZodError names the field and says what is wrong, in English", () => {
  assert.equal(describe(HeldAddress, { ...address, iface: "x".repeat(65) }), "iface: Too big: expected string to have <=64 characters");
  assert.equal(describe(HeldAddress, { ...address, prefixlen: "24" }), "prefixlen: Invalid input: expected number, received string");
  assert.equal(describe(HeldAddress, { ...address, prefixlen: 2.5 }), "prefixlen: Invalid input: expected int, received number");
  assert.equal(describe(HeldAddress, { address: "10.0.0.1", prefixlen: 24 }), "iface: Invalid input: expected string, received undefined");
  assert.equal(describe(HeldAddress, null), "(root): Invalid input: expected object, received null");
  const inst = {
    name: "VI_1", vrid: 300, interface: "eth0", state: "PRIMARY", priority: 100, advertInt: 1, authType: null, authPassHash: null,
    vips: [], trackScripts: [], trackInterfaces: [], unicastSrcIp: null, unicastPeers: [], nopreempt: false, vrrpVersion: 2, syncGroup: null,
  };
  assert.equal(describe(ConfigInstance, inst), 'vrid: Too big: expected number to be <=255; state: Invalid option: expected one of "MASTER"|"BACKUP"');
});

test("the handshake, batch and heartbeat errors the server returns as invalid_message", () => {
  const hello = { protocol: 1, token: "short", agentId: "not-a-uuid", node: "a b" };
  assert.equal(
    describe(AgentHello, hello),
    "token: Too small: expected string to have >=16 characters; agentId: Invalid UUID; node: node names use letters, digits, '.', '_' and '-'",
  );
  assert.equal(describe(Batch, { records: [] }), "records: Too small: expected array to have >=1 items");
  const line = { kind: "log", seq: 1, ts: 1, source: "file", line: "x".repeat(LIMITS.maxLineLength + 1) };
  assert.equal(describe(Batch, { records: [line] }), `records.0.line: Too big: expected string to have <=${LIMITS.maxLineLength} characters`);
  assert.equal(describe(Batch, { records: [{ ...line, line: "x", kind: "lag" }] }), "records.0.kind: Invalid discriminator value. Expected 'log' | 'vips' | 'config' | 'gap' | 'process' | 'dumps'");
  assert.equal(describe(Heartbeat, { ts: -1, outbox: 0 }), "ts: Too small: expected number to be >=0");
  // defaults still apply (zod/mini's z._default)
  assert.deepEqual(Heartbeat.parse({ ts: 1, outbox: 0 }), { ts: 1, outbox: 0, sources: {} });
});

test("option checks without a message of their own read in English too", () => {
  const r = parseAgentOptions(["--server", "http://127.0.0.1:1", "--token", "kam_0123456789abcdefghij", "--vip-interval", "0", "--heartbeat-interval", "301"], {}, {
    readFile: () => "",
    hostname: () => "lb-1",
  });
  assert.equal(r.kind, "error");
  const message = (r as Extract<typeof r, { kind: "error" }>).message;
  assert.match(message, /--vip-interval \/ KAM_VIP_INTERVAL: Too small: expected number to be >=1 \(got "0"\)/);
  assert.match(message, /--heartbeat-interval \/ KAM_HEARTBEAT_INTERVAL: Too big: expected number to be <=300 \(got "301"\)/);
});
