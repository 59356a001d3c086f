import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { heldIntervals, subtract, vipAddress } from "../../server/timeline/vips";

const T = 1_700_000_000_000;
const s = (n: number) => T + n * 1000;
const range = { from: s(0), to: s(100) };

describe("VIP ownership intervals", () => {
  test("starts from the observation before the range and ends when the VIP is released", () => {
    const out = heldIntervals(
      [
        { ts: s(-20), held: ["198.18.0.100"] },
        { ts: s(30), held: [] },
        { ts: s(60), held: ["198.18.0.100", "10.0.0.1"] },
      ],
      ["198.18.0.100/24"],
      [],
      range,
      s(1000),
    );
    assert.deepEqual(out, [
      { from: s(0), to: s(30) },
      { from: s(60), to: s(100) },
    ]);
  });

  test("holding any one of several VIPs counts; other addresses do not", () => {
    const out = heldIntervals(
      [
        { ts: s(10), held: ["10.0.0.1"] },
        { ts: s(20), held: ["198.18.0.101"] },
      ],
      ["198.18.0.100", "198.18.0.101 dev eth0"],
      [],
      range,
      s(1000),
    );
    assert.deepEqual(out, [{ from: s(20), to: s(100) }]);
  });

  test("nothing is known while the agent is offline, and nothing after now", () => {
    const out = heldIntervals([{ ts: s(-5), held: ["198.18.0.100"] }], ["198.18.0.100"], [{ from: s(20), to: s(40) }], range, s(70));
    assert.deepEqual(out, [
      { from: s(0), to: s(20) },
      { from: s(40), to: s(70) },
    ]);
  });

  test("an instance without VIPs has no ownership", () => {
    assert.deepEqual(heldIntervals([{ ts: s(1), held: ["198.18.0.100"] }], [], [], range, s(1000)), []);
  });

  test("normalises configured VIPs like the overview does", () => {
    assert.equal(vipAddress("  192.0.2.1/24 dev eth0 label eth0:1"), "192.0.2.1");
    assert.equal(vipAddress("FE80::1/64"), "fe80::1");
  });

  test("subtracts overlapping cuts", () => {
    assert.deepEqual(subtract([{ from: 0, to: 100 }], [{ from: 10, to: 20 }, { from: 15, to: 30 }, { from: 90, to: 200 }]), [
      { from: 0, to: 10 },
      { from: 30, to: 90 },
    ]);
  });
});
