/**
 * The keepalived pattern table: every log format the parser understands, 1.x and 2.x.
 * Order matters only for speed (most frequent first); the tests check that no line is matched by
 * two entries, so the first match is the only match.
 */
import type { KeepalivedPattern } from "./pattern-kit";
import { ADVERT_PATTERNS, PACKET_PATTERNS } from "./patterns-advert";
import { STATE_PATTERNS } from "./patterns-state";

export type { KeepalivedPattern } from "./pattern-kit";

export const PATTERNS: readonly KeepalivedPattern[] = Object.freeze([
  ...STATE_PATTERNS,
  ...ADVERT_PATTERNS,
  ...PACKET_PATTERNS,
]);
