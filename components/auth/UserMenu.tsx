"use client";
import Link from "next/link";
import { useState } from "react";
import * as z from "zod/mini";
import { send } from "../http";
import { useSession } from "./session";

/** Signed-in user, role, admin link and sign-out, in the top bar. */
export function UserMenu() {
  const s = useSession();
  const [busy, setBusy] = useState(false);
  if (!s.user) return null;
  const signOut = async () => {
    setBusy(true);
    await send("POST", "/api/auth/logout", s.csrf, {}, z.unknown());
    window.location.assign("/login");
  };
  return (
    <div className="ml-auto flex min-w-0 flex-wrap items-center gap-x-3 gap-y-1 text-sm">
      {s.role === "admin" && (
        <Link href="/admin" className="text-slate-600 hover:underline dark:text-slate-300">
          Admin
        </Link>
      )}
      <span data-testid="signed-in-user" className="text-slate-600 dark:text-slate-300">
        {s.user} <span className="text-xs text-slate-500">({s.role})</span>
      </span>
      <button type="button" onClick={() => void signOut()} disabled={busy} className="rounded border border-slate-300 px-2 py-0.5 hover:bg-slate-100 dark:border-slate-700 dark:hover:bg-slate-800">
        Sign out
      </button>
    </div>
  );
}
