import type { Metadata } from "next";
import { headers } from "next/headers";
import { IDENTITY } from "@/server/auth/identity";
import { LoginForm } from "@/components/auth/LoginForm";
import { safeNext } from "@/server/auth/safe-next";

export const metadata: Metadata = { title: "Sign in · keepalived monitor" };
export const dynamic = "force-dynamic";

export default async function LoginPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const pre = (await headers()).get(IDENTITY.preCsrf) ?? "";
  const next = safeNext((await searchParams).next);
  return (
    <div className="mx-auto mt-12 max-w-sm rounded-lg border border-slate-200 bg-white p-6 dark:border-slate-800 dark:bg-slate-900">
      <h1 className="mb-4 text-xl font-bold">Sign in</h1>
      <LoginForm pre={pre} next={next} />
    </div>
  );
}
