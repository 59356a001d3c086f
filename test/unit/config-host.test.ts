import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { configWarnings, loadServerConfig } from "../../server/config";

const host = (argv: string[], env: Record<string, string>) => loadServerConfig(argv, env).host;

describe("the listen address (issue 14): --host / KAM_HOST, not the container's HOSTNAME", () => {
  it("a container or pod name in HOSTNAME is not a listen address: 0.0.0.0, with a note naming KAM_HOST", () => {
    assert.equal(host([], { HOSTNAME: "kam-server-7d9f8b6c4-x2x9q" }), "0.0.0.0");
    const [w] = configWarnings([], { HOSTNAME: "kam-server-7d9f8b6c4-x2x9q" });
    assert.match(w, /HOSTNAME=kam-server-7d9f8b6c4-x2x9q is a host name, not used as the listen address .*set KAM_HOST/);
  });

  it("KAM_HOST and --host set it; --host wins; no warning then", () => {
    assert.equal(host([], { KAM_HOST: "127.0.0.1", HOSTNAME: "box" }), "127.0.0.1");
    assert.equal(host(["--host", "::1"], { KAM_HOST: "127.0.0.1" }), "::1");
    assert.equal(host(["--host=10.0.0.5"], { HOSTNAME: "127.0.0.1" }), "10.0.0.5");
    assert.deepEqual(configWarnings([], { KAM_HOST: "127.0.0.1", HOSTNAME: "box" }), []);
    assert.deepEqual(configWarnings(["--host", "::1"], { HOSTNAME: "127.0.0.1" }), []);
  });

  it("an address literal or localhost in HOSTNAME alone is still used (set on purpose), with a deprecation warning", () => {
    for (const h of ["127.0.0.1", "::1", "localhost"]) {
      assert.equal(host([], { HOSTNAME: h }), h);
      assert.match(configWarnings([], { HOSTNAME: h })[0] ?? "", new RegExp(`HOSTNAME=${h} is used as the listen address; this is deprecated .*set KAM_HOST=`));
    }
  });

  it("nothing set: 0.0.0.0 and no warning", () => {
    assert.equal(host([], {}), "0.0.0.0");
    assert.deepEqual(configWarnings([], {}), []);
  });
});
