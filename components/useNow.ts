"use client";
import { useEffect, useState } from "react";

/**
 * The current time, ticking every `intervalMs`, so relative times ("12 s ago") and open durations
 * keep moving. `initial`: the server's render time, for pages the server renders with times in
 * them, so the first client render matches the server's HTML; it moves on after hydration.
 */
export function useNow(intervalMs = 1000, initial?: number): number {
  const [now, setNow] = useState(() => initial ?? Date.now());
  useEffect(() => {
    setNow(Date.now());
    const id = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(id);
  }, [intervalMs]);
  return now;
}
