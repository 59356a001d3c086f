"use client";
import { useCallback, useLayoutEffect, useRef, useState, type RefObject } from "react";

export interface Measured<T extends HTMLElement> {
  /** attach to the element to measure (it may be replaced: the new one is measured) */
  ref: (node: T | null) => void;
  /** the element currently measured */
  el: RefObject<T | null>;
  /** content width in CSS pixels, 0 until measured */
  width: number;
}

/** The width of an element, kept current with a ResizeObserver. */
export function useElementWidth<T extends HTMLElement>(): Measured<T> {
  const el = useRef<T | null>(null);
  const [node, setNode] = useState<T | null>(null);
  const [width, setWidth] = useState(0);
  const ref = useCallback((n: T | null) => {
    el.current = n;
    if (n) setNode(n);
  }, []);
  useLayoutEffect(() => {
    if (!node) return;
    setWidth(Math.floor(node.getBoundingClientRect().width));
    const ro = new ResizeObserver((entries) => {
      const w = Math.floor(entries[0]?.contentRect.width ?? 0);
      setWidth((old) => (old === w ? old : w));
    });
    ro.observe(node);
    return () => ro.disconnect();
  }, [node]);
  return { ref, el, width };
}
