"use client";
import { useEffect, useState } from "react";

/**
 * The current time, ticking every `intervalMs`, that starts from `initial` (the server's render
 * time) so the first client render matches the server's HTML; it moves on after hydration.
 */
export function useClock(initial: number, intervalMs = 1000): number {
  const [now, setNow] = useState(initial);
  useEffect(() => {
    setNow(Date.now());
    const id = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(id);
  }, [intervalMs]);
  return now;
}
