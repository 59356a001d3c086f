import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { claimValues, parseRoleMap, roleFor, RoleMapError } from "../../server/auth/oidc-roles";
import { oidcSettings, userNameFrom } from "../../server/auth/oidc";
import { loadServerConfig, ConfigError } from "../../server/config";

describe("OIDC role map (KAM_OIDC_ROLE_MAP)", () => {
  it("parses role=value entries, a role in several entries, and * for everyone", () => {
    assert.deepEqual(parseRoleMap("admin=ops-admins, operator=ops ,viewer=*,operator=noc"), [
      { role: "admin", value: "ops-admins" }, { role: "operator", value: "ops" }, { role: "viewer", value: "*" }, { role: "operator", value: "noc" },
    ]);
  });

  it("takes ; between entries when values hold commas (LDAP DNs)", () => {
    assert.deepEqual(parseRoleMap("admin=cn=admins,ou=groups,dc=example;viewer=cn=all,dc=example"), [
      { role: "admin", value: "cn=admins,ou=groups,dc=example" }, { role: "viewer", value: "cn=all,dc=example" },
    ]);
  });

  it("refuses what is not a map, naming the entry", () => {
    for (const [text, re] of [
      ["", /at least one/], ["admin", /"admin" is not role=value/], ["root=ops", /"root" .* is not a role/],
      ["admin=", /names no group/], [" , ,", /at least one/], ["admin=ops,superuser=x", /"superuser"/],
    ] as const) {
      assert.throws(() => parseRoleMap(text), (e: unknown) => e instanceof RoleMapError && re.test(e.message), text);
    }
  });

  it("gives the highest role any value grants; none when no value maps", () => {
    const map = parseRoleMap("admin=ops-admins,operator=ops,viewer=staff");
    assert.equal(roleFor(map, ["staff", "ops-admins"]), "admin");
    assert.equal(roleFor(map, ["ops", "staff"]), "operator");
    assert.equal(roleFor(map, ["staff"]), "viewer");
    assert.equal(roleFor(map, ["marketing"]), null);
    assert.equal(roleFor(map, []), null);
    assert.equal(roleFor(map, ["OPS"]), null, "exact match, case-sensitive");
    assert.equal(roleFor(parseRoleMap("operator=ops,viewer=*"), []), "viewer", "* is everyone the provider signs in");
    assert.equal(roleFor(parseRoleMap("operator=ops,viewer=*"), ["ops"]), "operator");
  });

  it("reads the claim's values: an array's strings, a string, a dotted path into objects", () => {
    assert.deepEqual(claimValues({ groups: ["a", 1, "b", null] }, "groups"), ["a", "b"]);
    assert.deepEqual(claimValues({ groups: "a b" }, "groups"), ["a b"]);
    assert.deepEqual(claimValues({ realm_access: { roles: ["x"] } }, "realm_access.roles"), ["x"]);
    assert.deepEqual(claimValues({ realm_access: ["x"] }, "realm_access.roles"), []);
    assert.deepEqual(claimValues({}, "groups"), []);
    assert.deepEqual(claimValues({ groups: { a: 1 } }, "groups"), []);
  });

  it("makes a user name from preferred_username, else email, else sub", () => {
    assert.equal(userNameFrom({ preferred_username: "ann", email: "a@x", sub: "1" }), "ann");
    assert.equal(userNameFrom({ email: "ann@example.net", sub: "1" }), "ann@example.net");
    assert.equal(userNameFrom({ preferred_username: " ", sub: "abc|12" }), "abc_12");
    assert.equal(userNameFrom({ preferred_username: "Ann Smith" }), "Ann_Smith");
    assert.equal(userNameFrom({ sub: "x".repeat(100) }).length, 64);
    assert.equal(userNameFrom({}), "");
  });
});

describe("OIDC settings", () => {
  const base = { KAM_OIDC_ISSUER: "https://idp.example.net/realms/ops", KAM_OIDC_CLIENT_ID: "kam", KAM_OIDC_ROLE_MAP: "viewer=*" };
  const load = (env: Record<string, string>) => loadServerConfig([], env);

  it("is off by default, and takes a complete configuration", () => {
    assert.equal(load({}).oidcIssuer, "");
    const c = load({ ...base, KAM_OIDC_CLIENT_SECRET: "s3cret" });
    assert.equal(c.oidcGroupsClaim, "groups");
    assert.equal(c.oidcScopes, "openid profile email");
    assert.equal(c.oidcProviderName, "SSO");
  });

  it("refuses what does not go together, naming the setting, never echoing the secret", () => {
    const bad = (env: Record<string, string>, re: RegExp) =>
      assert.throws(() => load(env), (e: unknown) => e instanceof ConfigError && re.test(e.message) && !e.message.includes("s3cret"), JSON.stringify(env));
    bad({ ...base, KAM_OIDC_ISSUER: "http://idp.example.net" }, /KAM_OIDC_ISSUER: must be https/);
    bad({ ...base, KAM_OIDC_CLIENT_ID: "" }, /KAM_OIDC_CLIENT_ID: required/);
    bad({ ...base, KAM_OIDC_ROLE_MAP: "" }, /KAM_OIDC_ROLE_MAP: required/);
    bad({ ...base, KAM_OIDC_ROLE_MAP: "boss=ops" }, /KAM_OIDC_ROLE_MAP: "boss"/);
    bad({ ...base, KAM_OIDC_SCOPES: "profile" }, /KAM_OIDC_SCOPES: must include openid/);
    bad({ KAM_OIDC_CLIENT_ID: "kam" }, /KAM_OIDC_ISSUER: required/);
    bad({ ...base, KAM_OIDC_CLIENT_SECRET: "s3cret", KAM_OIDC_REDIRECT_URL: "ftp://x" }, /KAM_OIDC_REDIRECT_URL/);
    // the redirect URL: the one given, else the public URL's callback, else none (taken from each request)
    assert.equal(oidcSettings(load({ ...base, KAM_PUBLIC_URL: "https://mon.example.net/" }))?.redirectUrl, "https://mon.example.net/api/auth/oidc/callback");
    assert.equal(oidcSettings(load({ ...base, KAM_PUBLIC_URL: "https://mon.example.net", KAM_OIDC_REDIRECT_URL: "https://sso-cb.example.net/cb" }))?.redirectUrl, "https://sso-cb.example.net/cb");
    assert.equal(oidcSettings(load(base))?.redirectUrl, "");
    assert.equal(oidcSettings(load({})), null);
    // http only for a provider on this host
    assert.equal(load({ ...base, KAM_OIDC_ISSUER: "http://127.0.0.1:9000" }).oidcIssuer, "http://127.0.0.1:9000");
  });
});
