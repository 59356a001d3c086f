"use client";
import { useSyncExternalStore } from "react";

const noop = () => () => {};

/**
 * false on the server and during hydration, true afterwards. For what depends on
 * the browser (its time zone and locale): rendering it only once hydrated keeps
 * the server's HTML and the first client render identical.
 */
export function useHydrated(): boolean {
  return useSyncExternalStore(
    noop,
    () => true,
    () => false,
  );
}
