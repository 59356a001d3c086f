import type { Metadata, Viewport } from "next";
import Link from "next/link";
import type { ReactNode } from "react";
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

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen bg-slate-50 font-sans text-slate-900 antialiased dark:bg-slate-950 dark:text-slate-100">
        <header className="border-b border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
          <nav aria-label="Main" className="mx-auto flex max-w-[120rem] items-center gap-6 px-4 py-2">
            <Link href="/" className="flex items-center gap-2 font-semibold">
              {/* eslint-disable-next-line @next/next/no-img-element */}
              <img src="/favicon.svg" alt="" width={20} height={20} />
              keepalived monitor
            </Link>
            <Link href="/" className="text-sm text-slate-600 hover:underline dark:text-slate-300">
              Overview
            </Link>
            <Link href="/incidents" className="text-sm text-slate-600 hover:underline dark:text-slate-300">
              Incidents
            </Link>
            <Link href="/wall" className="text-sm text-slate-600 hover:underline dark:text-slate-300">
              Wall
            </Link>
          </nav>
        </header>
        <main className="mx-auto max-w-[120rem] px-4 py-4">{children}</main>
      </body>
    </html>
  );
}
