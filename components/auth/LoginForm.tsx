"use client";
import { useState, type FormEvent } from "react";
import * as z from "zod/mini";
import { send } from "../http";
import { useHydrated } from "./useHydrated";

const LoginAnswer = z.object({ next: z.string() });

const input = "mt-1 w-full rounded border border-slate-300 bg-white px-2 py-1.5 dark:border-slate-700 dark:bg-slate-900";

/** Sign-in form: POST /api/auth/login with the pre-session CSRF value, then a full load of `next`. */
export function LoginForm({ pre, next }: { pre: string; next: string }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const ready = useHydrated();
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    setBusy(true);
    setError(null);
    const r = await send("POST", "/api/auth/login", pre, { name: f.get("name"), password: f.get("password"), next }, LoginAnswer);
    if (r.ok) {
      window.location.assign(r.data.next);
      return;
    }
    setBusy(false);
    setError(r.error.message);
  };
  return (
    // method="post": should the browser ever submit it itself, the password never lands in a URL (history, logs)
    <form method="post" onSubmit={(e) => void submit(e)} className="space-y-3" data-testid="login-form" data-ready={ready}>
      <label className="block text-sm">
        User name
        <input name="name" autoComplete="username" required maxLength={64} className={input} autoFocus />
      </label>
      <label className="block text-sm">
        Password
        <input name="password" type="password" autoComplete="current-password" required className={input} />
      </label>
      {error && (
        <p role="alert" data-testid="login-error" className="text-sm text-red-700 dark:text-red-400">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy || !ready} className="w-full rounded bg-slate-900 px-3 py-1.5 font-medium text-white disabled:opacity-60 dark:bg-slate-100 dark:text-slate-900">
        Sign in
      </button>
    </form>
  );
}
