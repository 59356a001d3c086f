import type { Metadata } from "next";
import { AuditLog } from "@/components/admin/AuditLog";

export const metadata: Metadata = { title: "Audit log · keepalived monitor" };
export const dynamic = "force-dynamic";

/** The audit log. The gate lets only admins load /admin pages; the API checks again. */
export default function AuditPage() {
  return <AuditLog />;
}
