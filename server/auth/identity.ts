/**
 * Request headers through which the custom server tells Next's pages who is
 * signed in. The server deletes every incoming x-kam-* header before setting
 * its own, so a client cannot forge them. Constants only: safe to import from app/.
 */
export const IDENTITY = {
  user: "x-kam-user",
  role: "x-kam-role",
  /** CSRF token of the session, for the page to send back in x-csrf-token */
  csrf: "x-kam-csrf",
  /** the clusters the signed-in user may see: "*" for every cluster, else URI-encoded names, comma-separated (server/auth/scope.ts) */
  scope: "x-kam-scope",
  /** "1" on a NOC wall session */
  wall: "x-kam-wall",
  /** the CSP nonce of this response, for the few inline scripts of our own */
  nonce: "x-kam-nonce",
  /** the pre-sign-in CSRF value (login and setup forms) */
  preCsrf: "x-kam-pre-csrf",
  /** on the login page when sign-in with an identity provider is configured: its name, for "Sign in with NAME" */
  oidc: "x-kam-oidc",
} as const;

export const SESSION_COOKIE = "kam_session";
export const PRE_COOKIE = "kam_pre";
export const CSRF_HEADER = "x-csrf-token";
