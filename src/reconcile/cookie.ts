// The pipeline's cookie layout (src/pipeline/cookie.ts) as the reconciler uses it (Antrea's "round"):
// the cookie tells a restarted agent which flows are its own and in which reconcile generation they
// were written, without clearing tables.
//
//   bits 63-48  0xb1e5 marker: the flow belongs to bumless
//   bits 47-32  generation: set by the reconciler when it writes the flow
//   bits 31-8   VNI of the network the flow serves (0 when none)
//   bits  7-0   flow kind (pipeline-defined)
//
// The generation is informational: the diff decides by identity and instructions, never by generation,
// so a flow that is still right keeps its old generation and is not rewritten after a restart.

export { COOKIE_MARKER, cookieGeneration, isOwnCookie, withGeneration } from '../pipeline/cookie.js';

const GEN_SHIFT = 32n;
const GEN_MASK = 0xffffn;
const U64 = (1n << 64n) - 1n;

/**
 * The part of a cookie that is the flow's data (marker, VNI, kind): two cookies that differ only in
 * generation describe the same flow.
 */
export function cookieData(cookie: bigint): bigint {
  return (cookie & U64) & ~(GEN_MASK << GEN_SHIFT);
}

/**
 * The generation after `g`, wrapping within 16 bits and skipping 0 so that a zero generation always
 * means "never written by a reconciler".
 */
export function nextGeneration(g: number): number {
  const n = (g + 1) & 0xffff;
  return n === 0 ? 1 : n;
}

/**
 * The newest generation among installed cookies. Generations wrap, so "newest" is taken as the one
 * with the most cookies at or after it within half the circle: for the handful of generations that
 * live in a table at once this is the plain maximum unless the counter has wrapped.
 */
export function newestGeneration(generations: Iterable<number>): number {
  const seen = new Set<number>();
  for (const g of generations) if (g !== 0) seen.add(g);
  if (seen.size === 0) return 0;
  let best = 0;
  for (const g of seen) {
    // g is newest when no other seen generation lies within the half circle after it.
    let newer = false;
    for (const h of seen) {
      const d = (h - g + 0x10000) & 0xffff;
      if (d !== 0 && d < 0x8000) {
        newer = true;
        break;
      }
    }
    if (!newer) {
      best = g;
      break;
    }
  }
  return best === 0 ? Math.max(...seen) : best;
}
