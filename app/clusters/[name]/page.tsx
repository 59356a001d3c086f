import type { Metadata } from "next";
import { headers } from "next/headers";
import Link from "next/link";
import { Suspense } from "react";
import { ChartCard, PlotSlot } from "../../../components/timeline/ChartFrame";
import { ClusterTimeline } from "../../../components/timeline/ClusterTimeline";
import { prefetchScript } from "../../../components/timeline/prefetch";
import { IDENTITY } from "../../../server/auth/identity";

type Props = { params: Promise<{ name: string }> };

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { name } = await params;
  return { title: `${name} timeline · keepalived monitor` };
}

/**
 * Cluster timeline: one swimlane per node x VRID over a time range kept in the
 * URL (?range=1h, or ?from=&to= for a fixed range), live. A thin shell: the
 * client component loads /api/clusters/:name/timeline and follows /live.
 */
export default async function ClusterTimelinePage({ params }: Props) {
  const { name } = await params;
  // our one inline script carries this response's CSP nonce (server/auth/headers.ts)
  const nonce = (await headers()).get(IDENTITY.nonce) ?? undefined;
  return (
    <>
      <nav aria-label="Breadcrumb" className="mb-2 text-sm text-slate-600 dark:text-slate-400">
        <Link href="/" className="hover:underline">
          Clusters
        </Link>{" "}
        / <span className="break-all">{name}</span>
      </nav>
      {/* the fallback lays the plot out as the chart does: the prefetch script below measures its width */}
      <Suspense
        fallback={
          <ChartCard>
            <PlotSlot testId="loading">Loading the timeline…</PlotSlot>
          </ChartCard>
        }
      >
        <ClusterTimeline cluster={name} />
      </Suspense>
      {/* starts the first data request while the page's JavaScript loads (components/timeline/prefetch.ts) */}
      <script nonce={nonce} dangerouslySetInnerHTML={{ __html: prefetchScript(name) }} />
    </>
  );
}
