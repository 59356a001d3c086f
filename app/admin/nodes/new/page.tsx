import type { Metadata } from "next";
import { serverParts } from "@/server/context";
import { AddNodePanel } from "@/components/auth/AddNodePanel";

export const metadata: Metadata = { title: "Add a node · keepalived monitor" };
export const dynamic = "force-dynamic";

/** Add a node (issue 14): enrolment codes and the install command. The gate lets only admins load this page; the API checks again. */
export default function AddNodePage() {
  const { picture } = serverParts();
  const clusters = picture.clusters().map((c) => c.name).sort();
  return <AddNodePanel clusters={clusters} />;
}
