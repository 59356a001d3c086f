import type { IconName } from "./status";

/** Small shape drawn next to a status word, so states differ by shape as well as colour. */
export function StatusIcon({ name, className = "size-3" }: { name: IconName; className?: string }) {
  return (
    <svg viewBox="0 0 16 16" className={`shrink-0 ${className}`} aria-hidden="true" focusable="false">
      {name === "dot" && <circle cx="8" cy="8" r="5.5" fill="currentColor" />}
      {name === "ring" && <circle cx="8" cy="8" r="4.75" fill="none" stroke="currentColor" strokeWidth="2.5" />}
      {name === "square" && <rect x="3" y="3" width="10" height="10" rx="1" fill="currentColor" />}
      {name === "cross" && (
        <path d="M3.5 3.5l9 9M12.5 3.5l-9 9" stroke="currentColor" strokeWidth="2.6" strokeLinecap="round" />
      )}
      {name === "check" && (
        <path d="M2.8 8.6l3.4 3.3 7-7.6" fill="none" stroke="currentColor" strokeWidth="2.4" strokeLinecap="round" strokeLinejoin="round" />
      )}
      {name === "bang" && (
        <>
          <path d="M8 2.5v7" stroke="currentColor" strokeWidth="2.6" strokeLinecap="round" />
          <circle cx="8" cy="13.2" r="1.6" fill="currentColor" />
        </>
      )}
      {name === "question" && (
        <>
          <path
            d="M5 5.6a3 3 0 1 1 4.3 2.7c-.8.4-1.3 1-1.3 1.9v.6"
            fill="none"
            stroke="currentColor"
            strokeWidth="2.2"
            strokeLinecap="round"
          />
          <circle cx="8" cy="13.6" r="1.4" fill="currentColor" />
        </>
      )}
    </svg>
  );
}
