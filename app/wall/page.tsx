import type { Metadata } from "next";
import { Wall } from "@/components/wall/Wall";

export const metadata: Metadata = { title: "NOC wall · keepalived monitor" };

/** The NOC wall: a static shell; the client component loads the clusters and follows /live. */
export default function WallPage() {
  return <Wall />;
}
