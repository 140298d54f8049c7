// Hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014). A timestamp is
// (wall ms, logical counter, node id): it never goes backwards even when the wall clock does, it
// moves past every timestamp this node has seen, and the node id makes the order total, so
// last-writer-wins picks the same winner on every agent.
import type { Hlc } from './model.js';

/** Time source, injected so tests control it (docs/architecture.md "Time is passed in"). */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Total order: wall, then logical, then node id (plain code-unit order, the same on every host). */
export function compareHlc(a: Hlc, b: Hlc): number {
  if (a.wall !== b.wall) return a.wall < b.wall ? -1 : 1;
  if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1;
  if (a.node === b.node) return 0;
  return a.node < b.node ? -1 : 1;
}

export function maxHlc(a: Hlc, b: Hlc): Hlc {
  return compareHlc(a, b) >= 0 ? a : b;
}

export function formatHlc(h: Hlc): string {
  return `${h.wall}.${h.logical}@${h.node}`;
}

export class HybridClock {
  private wall = 0;
  private logical = 0;

  constructor(
    readonly node: string,
    private readonly clock: Clock,
    last?: Hlc,
  ) {
    if (last) {
      this.wall = last.wall;
      this.logical = last.logical;
    }
  }

  /** A fresh timestamp for a local event, greater than every timestamp issued or observed. */
  now(): Hlc {
    const pt = this.clock.now();
    if (pt > this.wall) {
      this.wall = pt;
      this.logical = 0;
    } else {
      this.logical += 1;
    }
    return { wall: this.wall, logical: this.logical, node: this.node };
  }

  /** How far `remote` is ahead of local physical time (ms; 0 or negative when it is not). */
  aheadOf(remote: Hlc): number {
    return remote.wall - this.clock.now();
  }

  /**
   * Moves the clock past a remote timestamp (receive rule), so later local events order after it.
   * Callers bound the remote time first (Registry: registry.maxClockSkewMs): this rule adopts any
   * wall time, so one far-future timestamp would otherwise stick to every clock that sees it.
   */
  observe(remote: Hlc): void {
    const pt = this.clock.now();
    const wall = Math.max(this.wall, remote.wall, pt);
    if (wall === this.wall && wall === remote.wall) this.logical = Math.max(this.logical, remote.logical) + 1;
    else if (wall === this.wall) this.logical += 1;
    else if (wall === remote.wall) this.logical = remote.logical + 1;
    else this.logical = 0;
    this.wall = wall;
  }

  /** The last timestamp issued or observed (persisted so a restart continues from it). */
  last(): Hlc {
    return { wall: this.wall, logical: this.logical, node: this.node };
  }
}
