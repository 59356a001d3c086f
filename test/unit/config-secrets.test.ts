/** Issue 19 (low): a rejected DATABASE_URL is not echoed with its password. */
import { it } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, loadServerConfig } from "../../server/config";

it("a rejected DATABASE_URL is named in the error without its password", () => {
  for (const [url, secret] of [
    ["mysql://kam:s3cr3t-Pa55@db.example:3306/kam", "s3cr3t-Pa55"],
    ["postgres:/kam:hunter2hunter2@db/kam", "hunter2hunter2"],
    ["mysql://db.example/kam?password=qwerty123&sslmode=require", "qwerty123"],
  ]) {
    assert.throws(() => loadServerConfig([], { DATABASE_URL: url }), (e: Error) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /DATABASE_URL/);
      assert.ok(!e.message.includes(secret), e.message);
      return true;
    });
  }
});
