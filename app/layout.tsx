import type { Metadata, Viewport } from "next";
import { headers } from "next/headers";
import Link from "next/link";
import type { ReactNode } from "react";
import { IDENTITY } from "@/server/auth/identity";
import { SessionProvider, type Role, type SessionView } from "@/components/auth/session";
import { UserMenu } from "@/components/auth/UserMenu";
import "./globals.css";

export const metadata: Metadata = {
  title: "keepalived monitor",
  description: "Live state of keepalived (VRRP) clusters: who is MASTER, who holds which VIP, and why.",
  icons: { icon: "/favicon.svg" },
};

export const viewport: Viewport = {
  width: "device-width",
  initialScale: 1,
  themeColor: [
    { media: "(prefers-color-scheme: light)", color: "#f8fafc" },
    { media: "(prefers-color-scheme: dark)", color: "#020617" },
  ],
};

/** Who is signed in comes from the custom server's gate (server/http/gate.ts); reading it makes every page dynamic, as the CSP nonce requires. */
async function sessionView(): Promise<SessionView> {
  const h = await headers();
  const role = h.get(IDENTITY.role);
  return {
    user: h.get(IDENTITY.user),
    role: role === "viewer" || role === "operator" || role === "admin" ? (role as Role) : null,
    csrf: h.get(IDENTITY.csrf),
    wall: h.get(IDENTITY.wall) === "1",
  };
}

export default async function RootLayout({ children }: { children: ReactNode }) {
  const session = await sessionView();
  return (
    <html lang="en">
      <body className="min-h-screen bg-slate-50 font-sans text-slate-900 antialiased dark:bg-slate-950 dark:text-slate-100">
        <SessionProvider value={session}>
        <header className="border-b border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
          <nav aria-label="Main" className="mx-auto flex max-w-[120rem] flex-wrap items-center gap-x-6 gap-y-1 px-4 py-2">
            <Link href="/" className="flex items-center gap-2 font-semibold">
              <img src="/favicon.svg" alt="" width={20} height={20} />
              keepalived monitor
            </Link>
            <Link href="/" className="text-sm text-slate-600 hover:underline dark:text-slate-300">
              Overview
            </Link>
            <Link href="/incidents" className="text-sm text-slate-600 hover:underline dark:text-slate-300">
              Incidents
            </Link>
            <Link href="/reports" className="text-sm text-slate-600 hover:underline dark:text-slate-300">
              Reports
            </Link>
            <Link href="/maintenance" className="text-sm text-slate-600 hover:underline dark:text-slate-300">
              Maintenance
            </Link>
            <Link href="/wall" className="text-sm text-slate-600 hover:underline dark:text-slate-300">
              Wall
            </Link>
            <UserMenu />
          </nav>
        </header>
        <main className="mx-auto max-w-[120rem] px-4 py-4">{children}</main>
        </SessionProvider>
      </body>
    </html>
  );
}
