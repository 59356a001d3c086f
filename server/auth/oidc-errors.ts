/**
 * Why an OIDC sign-in was refused (server/auth/oidc.ts): the code the callback sends the browser to the login
 * page with (/login?oidc_error=CODE), counted in kam_oidc_login_total{result}, and the sentence the page shows.
 * Constants only: safe to import from app/.
 */
export const OIDC_ERRORS = {
  unavailable: "The identity provider cannot be reached right now. Try again in a moment, or sign in with a local account below.",
  state: "This sign-in link is expired, was already used or was changed (it lasts 10 minutes, in the browser that started it). Start again.",
  provider_refused: "The identity provider did not sign you in (refused or cancelled). Start again, or ask your administrator.",
  token_refused: "The identity provider refused to complete the sign-in (the code was expired or already used). Start again.",
  invalid_response: "The identity provider's answer failed validation (issuer, audience, nonce or signature). Nothing was signed in; ask your administrator to check the server log.",
  no_role: "You signed in at the identity provider, but none of your groups gives access to this dashboard. Ask your administrator for one of the groups it maps to a role.",
  name_taken: "Your user name is already used by a local account of this dashboard. Ask your administrator to remove or rename that account.",
} as const;

export type OidcErrorCode = keyof typeof OIDC_ERRORS;

export const isOidcErrorCode = (s: unknown): s is OidcErrorCode => typeof s === "string" && Object.hasOwn(OIDC_ERRORS, s);

/** the routes of the flow (server/http/routes/auth-oidc-*.ts) */
export const OIDC_LOGIN_PATH = "/api/auth/oidc/login";
export const OIDC_CALLBACK_PATH = "/api/auth/oidc/callback";
