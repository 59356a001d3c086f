import type { Metadata } from "next";
import { MaintenancePanel } from "@/components/maintenance/MaintenancePanel";

export const metadata: Metadata = { title: "Maintenance · keepalived monitor" };
export const dynamic = "force-dynamic";

/** Maintenance windows: everyone signed in sees them; operators and admins open and end them (the API checks). */
export default function MaintenancePage() {
  return <MaintenancePanel />;
}
