import type { Metadata } from "next";
import { LiveOverview } from "../components/overview/LiveOverview";

export const metadata: Metadata = { title: "Clusters · keepalived monitor" };

/** Live overview: a static shell; the client component loads /api/clusters and follows /live. */
export default function OverviewPage() {
  return (
    <>
      <h1 className="mb-3 text-xl font-bold">Clusters</h1>
      <LiveOverview />
    </>
  );
}
