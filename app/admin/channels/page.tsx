import type { Metadata } from "next";
import { ChannelsPanel } from "@/components/admin/ChannelsPanel";

export const metadata: Metadata = { title: "Alert channels · keepalived monitor" };
export const dynamic = "force-dynamic";

/** Alert channels. The gate lets only admins load /admin pages; the API checks again. */
export default function ChannelsPage() {
  return <ChannelsPanel />;
}
