/** Issue 19, point 7: one safeNext for the login page and the login API; no open redirect. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { safeNext } from "../../server/http/respond";
import { safeNext as pageSafeNext } from "../../server/auth/safe-next";

describe("safeNext (where to go after sign-in)", () => {
  it("keeps paths on this origin", () => {
    for (const p of ["/", "/incidents/42", "/timeline?cluster=shop&from=1#x", "/a/b%2Fc"]) assert.equal(safeNext(p), p);
  });
  it("refuses everything that leaves the origin or hides a character browsers drop", () => {
    const bad = [
      "/\t/evil.example", // what /login?next=%2F%09%2Fevil.example decodes to
      "/\n/evil.example", "/\r/evil.example", "/\u0000/evil", "/\u007f/evil", "/\u0085/evil", "/\u00a0/evil", "/\u2028/evil", " /x",
      "//evil.example", "/\\evil.example", "/\\/evil.example", "\\\\evil", "https://evil.example", "http:/evil", "javascript:alert(1)",
      "", "x".repeat(2001), 42, null, undefined, ["/"],
    ];
    for (const b of bad) assert.equal(safeNext(b), "/", JSON.stringify(b));
  });
  it("is one function: the login page uses the same", () => {
    assert.equal(pageSafeNext, safeNext);
  });
});
