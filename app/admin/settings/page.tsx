import type { Metadata } from "next";
import { SettingsPanel } from "@/components/admin/SettingsPanel";

export const metadata: Metadata = { title: "Detector settings · keepalived monitor" };
export const dynamic = "force-dynamic";

/** Per-cluster detector settings. The gate lets only admins load /admin pages; the API checks again. */
export default function SettingsPage() {
  return <SettingsPanel />;
}
