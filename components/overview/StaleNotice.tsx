import type { ConnectionStatus } from "../live/connection";

/** Above the cards while not live: the data shown may be old. */
export function StaleNotice({ status }: { status: ConnectionStatus }) {
  return (
    <p
      data-testid="stale-notice"
      className="hatched rounded-lg border border-amber-400 bg-amber-50 px-4 py-2 text-sm font-medium text-amber-950 dark:border-amber-600 dark:bg-amber-950 dark:text-amber-100"
    >
      Not live ({status}): the states below are the last ones received and may be out of date.
    </p>
  );
}
