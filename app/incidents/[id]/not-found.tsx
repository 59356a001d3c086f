import Link from "next/link";

export default function IncidentNotFound() {
  return (
    <div data-testid="incident-not-found" className="space-y-2">
      <h1 className="text-xl font-bold">No such incident</h1>
      <p className="text-slate-600 dark:text-slate-400">It may have been removed, or the address is mistyped.</p>
      <Link href="/incidents" className="underline">
        All incidents
      </Link>
    </div>
  );
}
