"use client";
import { useState, type FormEvent } from "react";
import * as z from "zod/mini";
import { send } from "../http";
import { useHydrated } from "./useHydrated";

const input = "mt-1 w-full rounded border border-slate-300 bg-white px-2 py-1.5 dark:border-slate-700 dark:bg-slate-900";

/** First admin through the one-time setup link. */
export function SetupForm({ pre, token }: { pre: string; token: string }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const ready = useHydrated();
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    if (f.get("password") !== f.get("confirm")) {
      setError("the passwords differ");
      return;
    }
    setBusy(true);
    const r = await send("POST", "/api/auth/setup", pre, { token, name: f.get("name"), password: f.get("password") }, z.unknown());
    if (r.ok) {
      window.location.assign("/");
      return;
    }
    setBusy(false);
    setError(r.error.message);
  };
  return (
    // method="post": should the browser ever submit it itself, the password never lands in a URL
    <form method="post" onSubmit={(e) => void submit(e)} className="space-y-3" data-testid="setup-form" data-ready={ready}>
      <label className="block text-sm">
        Admin user name
        <input name="name" autoComplete="username" required maxLength={64} className={input} />
      </label>
      <label className="block text-sm">
        Password (at least 10 characters)
        <input name="password" type="password" autoComplete="new-password" required minLength={10} className={input} />
      </label>
      <label className="block text-sm">
        Password again
        <input name="confirm" type="password" autoComplete="new-password" required minLength={10} className={input} />
      </label>
      {error && (
        <p role="alert" className="text-sm text-red-700 dark:text-red-400">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy || !ready} className="w-full rounded bg-slate-900 px-3 py-1.5 font-medium text-white disabled:opacity-60 dark:bg-slate-100 dark:text-slate-900">
        Create the admin and sign in
      </button>
    </form>
  );
}
