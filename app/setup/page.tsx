import type { Metadata } from "next";
import { headers } from "next/headers";
import { serverParts } from "@/server/context";
import { IDENTITY } from "@/server/auth/identity";
import { setupTokenValid } from "@/server/auth/store";
import { SetupForm } from "@/components/auth/SetupForm";

export const metadata: Metadata = { title: "First admin · keepalived monitor", referrer: "no-referrer" };
export const dynamic = "force-dynamic";

/** The one-time setup link printed at first start: create the first admin. */
export default async function SetupPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const token = (await searchParams).token;
  const pre = (await headers()).get(IDENTITY.preCsrf) ?? "";
  const valid = typeof token === "string" && (await setupTokenValid(serverParts().app.db, token));
  return (
    <div className="mx-auto mt-12 max-w-sm rounded-lg border border-slate-200 bg-white p-6 dark:border-slate-800 dark:bg-slate-900">
      <h1 className="mb-4 text-xl font-bold">Create the first admin</h1>
      {valid ? (
        <SetupForm pre={pre} token={token} />
      ) : (
        <p role="alert" className="text-sm">
          This setup link is invalid, used or expired. Restart the server while no user exists for a new one, or run{" "}
          <code>npm run admin -- user add NAME --role admin</code>.
        </p>
      )}
    </div>
  );
}
