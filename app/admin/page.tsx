import type { Metadata } from "next";
import { AdminPanel } from "@/components/auth/AdminPanel";

export const metadata: Metadata = { title: "Admin · keepalived monitor" };
export const dynamic = "force-dynamic";

/** Users, API tokens, wall tokens and agent tokens. The gate lets only admins load this page; the API checks again. */
export default function AdminPage() {
  return <AdminPanel />;
}
