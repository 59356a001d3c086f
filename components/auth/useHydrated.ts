"use client";
import { useEffect, useState } from "react";

/**
 * false until React has hydrated the component. A form whose submit handler is not attached yet would be
 * submitted by the browser itself: sign-in forms keep their submit button disabled until then (a disabled
 * default button also stops implicit submission by Enter).
 */
export function useHydrated(): boolean {
  const [ready, setReady] = useState(false);
  useEffect(() => setReady(true), []);
  return ready;
}
