/**
 * Sign-in with the company's identity provider (issue 15): OpenID Connect, authorization code flow with PKCE,
 * through openid-client. Transport-free: the routes (server/http/routes/auth-oidc-*.ts) hand it the flow
 * cookie and the callback's query, and make the session (server/http/sign-in.ts, the same kind of session as a
 * password sign-in).
 *
 * - Discovery (the provider's /.well-known/openid-configuration) is tried at start and, until it succeeds, again
 *   at each sign-in attempt: a provider down at start does not stop the server; the error names KAM_OIDC_ISSUER.
 * - The flow's secrets (PKCE verifier, state, nonce) and where to go next travel in a short-lived cookie
 *   (10 min, HttpOnly, only sent to the callback's path) sealed with AES-256-GCM under the secrets key
 *   (server/incidents/secret-box.ts, KAM_SECRETS_KEY_FILE): the browser can neither read nor change them, and
 *   any replica sharing the key can finish a flow another one started.
 * - The callback checks the state against the cookie, then openid-client exchanges the code (PKCE) and
 *   validates the ID token (issuer, audience, signature, nonce, expiry). Claims come from the ID token and, when
 *   the provider has one, the userinfo endpoint (ID token claims win); the role from the groups claim through
 *   KAM_OIDC_ROLE_MAP (./oidc-roles.ts), evaluated at every sign-in.
 * Every refusal is an OidcError with a code of ./oidc-errors.ts; nothing here throws anything else for bad input.
 */
import * as client from "openid-client";
import type { Logger } from "../log";
import type { ServerConfig } from "../config";
import { SecretKeyError, type SecretBox } from "../incidents/secret-box";
import { claimValues, parseRoleMap, roleFor, type RoleMap } from "./oidc-roles";
import type { OidcErrorCode } from "./oidc-errors";
import type { Role } from "./roles";
import { safeEqual } from "./secrets";

export const OIDC_FLOW_COOKIE = "kam_oidc";
export const FLOW_TTL_MS = 10 * 60_000;

export class OidcError extends Error {
  constructor(
    readonly code: OidcErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "OidcError";
  }
}

export interface OidcSettings {
  issuer: string;
  clientId: string;
  /** "" = a public client (PKCE only) */
  clientSecret: string;
  providerName: string;
  /** "" = derived per request (./oidc.ts redirectUrlFor) */
  redirectUrl: string;
  scopes: string;
  groupsClaim: string;
  roleMap: RoleMap;
}

/** the OIDC settings of a server configuration, or null when KAM_OIDC_ISSUER is empty (config.ts checked them) */
export function oidcSettings(c: ServerConfig): OidcSettings | null {
  if (!c.oidcIssuer) return null;
  return {
    issuer: c.oidcIssuer, clientId: c.oidcClientId, clientSecret: c.oidcClientSecret, providerName: c.oidcProviderName,
    redirectUrl: c.oidcRedirectUrl || (c.publicUrl ? `${c.publicUrl.replace(/\/+$/, "")}/api/auth/oidc/callback` : ""),
    scopes: c.oidcScopes, groupsClaim: c.oidcGroupsClaim, roleMap: parseRoleMap(c.oidcRoleMap),
  };
}

/** what the sealed flow cookie holds */
interface Flow {
  state: string;
  nonce: string;
  verifier: string;
  redirectUri: string;
  next: string;
  /** expiry, ms since the epoch */
  exp: number;
}

/** who the provider signed in, and the role the mapping gives them */
export interface OidcIdentity {
  issuer: string;
  subject: string;
  /** the user name wanted for a new user: preferred_username, else email, else the subject (made a valid name) */
  name: string;
  role: Role;
  /** the claim values the role came from (for the log) */
  groups: string[];
  next: string;
}

/** a user name (server/auth/store.ts: 1-64 of [A-Za-z0-9._@-]) from a claim: other characters become "_" */
export function userNameFrom(claims: Record<string, unknown>): string {
  for (const key of ["preferred_username", "email", "sub"]) {
    const v = claims[key];
    if (typeof v !== "string" || v.trim() === "") continue;
    return v.trim().replace(/[^A-Za-z0-9._@-]/g, "_").slice(0, 64);
  }
  return "";
}

/** an error's message without anything but its first line (never a token or secret: openid-client does not put them there) */
const reason = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message.split("\n")[0]}` : String(e)).slice(0, 300);

export class OidcSignIn {
  private provider: client.Configuration | null = null;
  private discovering: Promise<client.Configuration> | null = null;

  constructor(
    readonly settings: OidcSettings,
    private readonly box: SecretBox,
    private readonly log: Logger,
  ) {}

  get providerName(): string {
    return this.settings.providerName;
  }

  /** true once discovery succeeded */
  get ready(): boolean {
    return this.provider !== null;
  }

  /** The provider's configuration: discovered once; while it fails, each call tries again (one at a time). */
  async discover(): Promise<client.Configuration> {
    if (this.provider) return this.provider;
    this.discovering ??= this.discoverOnce().finally(() => {
      this.discovering = null;
    });
    return this.discovering;
  }

  private async discoverOnce(): Promise<client.Configuration> {
    const s = this.settings;
    const issuer = new URL(s.issuer);
    const auth = s.clientSecret ? client.ClientSecretBasic(s.clientSecret) : client.None();
    try {
      const cfg = await client.discovery(issuer, s.clientId, undefined, auth, {
        // config.ts allows http only for a provider on this host
        execute: issuer.protocol === "http:" ? [client.allowInsecureRequests] : [],
        timeout: 10,
      });
      this.provider = cfg;
      this.log.info({ issuer: s.issuer }, "OIDC: identity provider discovered; sign-in with it is available");
      return cfg;
    } catch (e) {
      this.log.error(
        { issuer: s.issuer, reason: reason(e) },
        `OIDC: discovery of the identity provider failed: check KAM_OIDC_ISSUER (${s.issuer}/.well-known/openid-configuration must answer from this server); sign-in with it is unavailable, retried at the next attempt, local users can still sign in`,
      );
      throw new OidcError("unavailable", `discovery of ${s.issuer} failed: ${reason(e)}`);
    }
  }

  /** the redirect URL: the configured one, else this request's origin + the callback path */
  redirectUrlFor(requestOrigin: string): string {
    return this.settings.redirectUrl || `${requestOrigin}/api/auth/oidc/callback`;
  }

  /** Starts a flow: the provider's authorization URL and the sealed flow cookie's value. */
  async start(redirectUri: string, next: string, now = Date.now()): Promise<{ url: string; cookie: string }> {
    const cfg = await this.discover();
    const flow: Flow = {
      state: client.randomState(), nonce: client.randomNonce(), verifier: client.randomPKCECodeVerifier(),
      redirectUri, next, exp: now + FLOW_TTL_MS,
    };
    const url = client.buildAuthorizationUrl(cfg, {
      redirect_uri: redirectUri, scope: this.settings.scopes, response_type: "code",
      code_challenge: await client.calculatePKCECodeChallenge(flow.verifier), code_challenge_method: "S256",
      state: flow.state, nonce: flow.nonce,
    });
    return { url: url.href, cookie: this.box.seal(JSON.stringify(flow), "oidc-flow") };
  }

  private openFlow(sealed: string | null, now: number): Flow {
    if (!sealed) throw new OidcError("state", "no sign-in in progress in this browser (the flow cookie is missing)");
    let flow: Flow;
    try {
      flow = JSON.parse(this.box.open(sealed, "oidc-flow")) as Flow;
    } catch (e) {
      if (e instanceof SecretKeyError || e instanceof SyntaxError) throw new OidcError("state", `the flow cookie cannot be opened: ${reason(e)}`);
      throw e;
    }
    if (typeof flow.exp !== "number" || flow.exp <= now) throw new OidcError("state", "the sign-in started more than 10 minutes ago");
    return flow;
  }

  /** Finishes a flow at the callback: the identity and its role, or an OidcError. */
  async finish(sealed: string | null, query: URLSearchParams, now = Date.now()): Promise<OidcIdentity> {
    const flow = this.openFlow(sealed, now);
    const state = query.get("state");
    if (!state || !safeEqual(state, flow.state)) throw new OidcError("state", "the state parameter does not match this browser's sign-in");
    const error = query.get("error");
    if (error) throw new OidcError("provider_refused", `the provider answered error=${error.replace(/[^\x20-\x7e]/g, "?").slice(0, 80)}`);
    const cfg = await this.discover();
    const current = new URL(flow.redirectUri);
    current.search = query.toString();
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(cfg, current, {
        pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true,
      });
    } catch (e) {
      throw classify(e, "the code exchange");
    }
    const idClaims = tokens.claims();
    if (!idClaims) throw new OidcError("invalid_response", "the token answer has no ID token");
    let claims: Record<string, unknown> = { ...idClaims };
    if (cfg.serverMetadata().userinfo_endpoint) {
      try {
        const info = await client.fetchUserInfo(cfg, tokens.access_token, idClaims.sub);
        // the ID token's claims win; userinfo adds what it lacks (many providers put groups only there)
        claims = { ...info, ...idClaims };
      } catch (e) {
        throw classify(e, "the userinfo request");
      }
    }
    const groups = claimValues(claims, this.settings.groupsClaim);
    const role = roleFor(this.settings.roleMap, groups);
    const name = userNameFrom(claims);
    const who = { issuer: idClaims.iss, subject: idClaims.sub, name, groups };
    if (!role) {
      throw new OidcError("no_role", `${JSON.stringify(name)} (sub ${idClaims.sub}) has no group of KAM_OIDC_ROLE_MAP in claim ${this.settings.groupsClaim}: ${JSON.stringify(groups.slice(0, 20))}`);
    }
    return { ...who, role, next: flow.next };
  }
}

/** openid-client's errors as OidcErrors: the provider refused, its answer failed validation, or it could not be reached */
function classify(e: unknown, what: string): OidcError {
  if (e instanceof OidcError) return e;
  if (e instanceof client.AuthorizationResponseError) return new OidcError("provider_refused", `${what}: the provider answered ${e.error}`);
  if (e instanceof client.ResponseBodyError) return new OidcError("token_refused", `${what}: the provider answered ${e.status} ${e.error}`);
  if (e instanceof client.ClientError) {
    // openid-client's own sentence is generic ("invalid response encountered"): the cause says which check
    const cause = (e as { cause?: unknown }).cause;
    return new OidcError("invalid_response", `${what}: ${reason(e)}${cause ? ` (${reason(cause)})` : ""}`);
  }
  // fetch's failures: no connection (TypeError), no answer in time (TimeoutError)
  if (e instanceof TypeError || (e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError"))) {
    return new OidcError("unavailable", `${what}: ${reason(e)}${(e as { cause?: unknown }).cause ? ` (${reason((e as { cause?: unknown }).cause)})` : ""}`);
  }
  return new OidcError("invalid_response", `${what}: ${reason(e)}`);
}
