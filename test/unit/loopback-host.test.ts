/** Issue 19, point 8: anonymous loopback reads need a loopback Host too (DNS rebinding). */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { anonymousReadAllowed, isLoopbackHost } from "../../server/auth/net";

describe("anonymous loopback read", () => {
  it("knows loopback Host names, with and without a port", () => {
    for (const h of ["localhost", "localhost:3000", "LOCALHOST.", "127.0.0.1", "127.0.0.1:3000", "127.1.2.3:80", "[::1]", "[::1]:3000"]) assert.equal(isLoopbackHost(h), true, h);
    for (const h of [undefined, "", "evil.example", "evil.example:3000", "localhost.evil.example", "127.0.0.1.evil.example", "10.0.0.1:3000", "[::2]:3000", "127.0.0.1:3000:1", "[::1]x"]) {
      assert.equal(isLoopbackHost(h), false, String(h));
    }
  });
  it("refuses a loopback peer whose Host is not loopback (a rebound name)", () => {
    assert.equal(anonymousReadAllowed("loopback", "127.0.0.1", { host: "127.0.0.1:3000" }), true);
    assert.equal(anonymousReadAllowed("loopback", "::ffff:127.0.0.1", { host: "localhost:3000" }), true);
    assert.equal(anonymousReadAllowed("loopback", "127.0.0.1", { host: "rebind.evil.example:3000" }), false);
    assert.equal(anonymousReadAllowed("loopback", "127.0.0.1", {}), false, "no Host at all");
    assert.equal(anonymousReadAllowed("loopback", "127.0.0.1", { host: "localhost", "x-forwarded-for": "203.0.113.9" }), false);
    assert.equal(anonymousReadAllowed("off", "127.0.0.1", { host: "localhost" }), false);
  });
});
