/**
 * Issue 19 (low): the agent warns when its token and keepalived's logs would cross the network in clear
 * (an http:// server that is not loopback), and its TLS error never suggests falling back to http://.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { plainHttpWarning, tlsProblem } from "../../agent/client";

test("http:// to a non-loopback server is warned about; https:// and loopback are not", () => {
  for (const url of ["http://monitor.example:3000", "http://198.18.0.5:3000", "http://[2001:db8::1]:3000/"]) {
    const w = plainHttpWarning(url);
    assert.ok(w, url);
    assert.match(w, /in clear/);
    assert.match(w, /--server \/ KAM_SERVER/, "names the setting to fix");
  }
  for (const url of ["https://monitor.example:3000", "http://127.0.0.1:3000", "http://127.9.9.9:1", "http://localhost:3000", "http://[::1]:3000"]) {
    assert.equal(plainHttpWarning(url), null, url);
  }
});

test("a TLS handshake against a port without TLS names the port, never suggests http://", () => {
  const p = tlsProblem({ description: { code: "EPROTO", message: "SSL routines:ssl3_get_record:wrong version number" } });
  assert.ok(p);
  assert.match(p.message, /TLS port/);
  assert.doesNotMatch(p.message, /use http:\/\//);
});
