/** Server TLS settings: flags > env > defaults, both or neither, unreadable files named by their setting. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, loadServerConfig, readTlsFiles } from "../../server/config";

test("TLS is off by default; --tls-cert/--tls-key win over KAM_TLS_CERT/KAM_TLS_KEY", () => {
  const d = loadServerConfig([], {});
  assert.equal(d.tlsCert, "");
  assert.equal(d.tlsKey, "");
  assert.equal(readTlsFiles(d), null);
  const c = loadServerConfig(["--tls-cert", "/f/cert.pem", "--tls-key=/f/key.pem"], { KAM_TLS_CERT: "/e/cert.pem", KAM_TLS_KEY: "/e/key.pem" });
  assert.deepEqual([c.tlsCert, c.tlsKey], ["/f/cert.pem", "/f/key.pem"]);
  const e = loadServerConfig([], { KAM_TLS_CERT: "/e/cert.pem", KAM_TLS_KEY: "/e/key.pem" });
  assert.deepEqual([e.tlsCert, e.tlsKey], ["/e/cert.pem", "/e/key.pem"]);
});

test("one of the pair without the other is a ConfigError naming the missing setting", () => {
  assert.throws(() => loadServerConfig([], { KAM_TLS_CERT: "/e/cert.pem" }), (e: Error) => e instanceof ConfigError && /--tls-key \/ KAM_TLS_KEY: required with --tls-cert/.test(e.message));
  assert.throws(() => loadServerConfig(["--tls-key", "/k"], {}), (e: Error) => e instanceof ConfigError && /--tls-cert \/ KAM_TLS_CERT: required with --tls-key/.test(e.message));
});

test("an unreadable file is a ConfigError naming its setting and path", () => {
  const c = loadServerConfig([], { KAM_TLS_CERT: "/nonexistent/cert.pem", KAM_TLS_KEY: "/nonexistent/key.pem" });
  assert.throws(() => readTlsFiles(c), (e: Error) => e instanceof ConfigError && /--tls-cert \/ KAM_TLS_CERT: cannot read \/nonexistent\/cert\.pem: ENOENT/.test(e.message));
  // the key unreadable (a real EACCES needs another user: the reader is injected here)
  const readable = (p: string) => {
    if (p.endsWith("key.pem")) throw Object.assign(new Error("EACCES: permission denied"), { code: "EACCES" });
    return Buffer.from("cert");
  };
  assert.throws(() => readTlsFiles(c, readable), (e: Error) => e instanceof ConfigError && /--tls-key \/ KAM_TLS_KEY: cannot read \/nonexistent\/key\.pem: EACCES/.test(e.message));
});
