import type { Metadata } from "next";
import { headers } from "next/headers";
import { IDENTITY } from "@/server/auth/identity";
import { LoginForm } from "@/components/auth/LoginForm";
import { safeNext } from "@/server/auth/safe-next";
import { OIDC_ERRORS, OIDC_LOGIN_PATH, isOidcErrorCode } from "@/server/auth/oidc-errors";

export const metadata: Metadata = { title: "Sign in · keepalived monitor" };
export const dynamic = "force-dynamic";

/** the provider's name the gate passed (URI-encoded), or null when OIDC is not configured */
function providerName(v: string | null): string | null {
  if (!v) return null;
  try {
    return decodeURIComponent(v);
  } catch {
    return null;
  }
}

export default async function LoginPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const h = await headers();
  const pre = h.get(IDENTITY.preCsrf) ?? "";
  const provider = providerName(h.get(IDENTITY.oidc));
  const params = await searchParams;
  const next = safeNext(params.next);
  const oidcError = isOidcErrorCode(params.oidc_error) ? OIDC_ERRORS[params.oidc_error] : null;
  return (
    <div className="mx-auto mt-12 max-w-sm rounded-lg border border-slate-200 bg-white p-6 dark:border-slate-800 dark:bg-slate-900">
      <h1 className="mb-4 text-xl font-bold">Sign in</h1>
      {oidcError && (
        <p role="alert" data-testid="oidc-error" className="mb-4 rounded border border-red-300 bg-red-50 p-2 text-sm text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-300">
          {oidcError}
        </p>
      )}
      {provider && (
        <>
          <a
            href={`${OIDC_LOGIN_PATH}?next=${encodeURIComponent(next)}`}
            data-testid="oidc-sign-in"
            className="block w-full rounded bg-blue-700 px-3 py-1.5 text-center font-medium text-white hover:bg-blue-800"
          >
            Sign in with {provider}
          </a>
          <p className="my-4 text-center text-xs text-slate-500 dark:text-slate-400">or with a local account</p>
        </>
      )}
      <LoginForm pre={pre} next={next} />
    </div>
  );
}
