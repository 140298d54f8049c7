// One full garbage collection once the agent is idle after a large change (bench B4). A full sync of
// 100,000 endpoints or a reconcile run over as many flows leaves hundreds of MiB of garbage (parsed
// frames, JSON texts, flow mods); V8 collects it only under allocation pressure, and an idle agent
// allocates almost nothing, so the garbage stayed resident (1,004 MiB as running vs ~600 MiB after
// one GC, not returned in 40 s of idleness). Only large changes count, so an agent handling
// registrations one by one never pays for a full GC; and at most one runs per minIntervalMs.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Timers, TimerHandle } from '../switch/clock.js';

/**
 * The engine's full GC, or undefined when it cannot be had. Node exposes it only with --expose-gc;
 * setting that flag at run time and reading `gc` from a new context is the documented way to get it
 * without changing how the agent is started (the flag affects only contexts created after it).
 */
export function obtainGc(): (() => void) | undefined {
  const own = (globalThis as { gc?: unknown }).gc;
  if (typeof own === 'function') return own as () => void;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

export interface IdleGcOptions {
  /** Changed records or flows, summed since the last GC, that make it worth one. */
  threshold: number;
  /** How long without further changes counts as idle. */
  quietMs: number;
  /**
   * Least time between two GCs; longer after a slow GC (20 times its pause), so the GCs this class
   * causes take at most ~5 % of the time however large the heap.
   */
  minIntervalMs: number;
  /**
   * True while work of the change is still under way (a reconcile run, a pipeline update): the GC
   * waits another quietMs. Without it a GC could run in the middle of the run and, through
   * minIntervalMs, hold back the one after it, which has the run's garbage to collect.
   */
  busy?: () => boolean;
  gc: (() => void) | undefined;
  log: { debug(obj: object, msg: string): void };
  timers?: Timers;
}

// Timers that do not keep the process alive: a pending idle GC is no reason to stay up.
const unrefTimers: Timers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => ({ id: setTimeout(fn, ms).unref() }),
  clearTimeout: (h) => clearTimeout(h.id as NodeJS.Timeout),
};

export class IdleGc {
  private readonly o: IdleGcOptions;
  private readonly timers: Timers;
  private pending = 0;
  private timer: TimerHandle | undefined;
  /** Earliest time of the next GC. */
  private nextAt = -Infinity;
  /** When the pending changes crossed the threshold (undefined: they have not). */
  private dueSince: number | undefined;
  /** Full GCs run so far. */
  runs = 0;

  constructor(opts: IdleGcOptions) {
    this.o = opts;
    this.timers = opts.timers ?? unrefTimers;
  }

  /** Records that `count` records or flows changed; a GC follows once enough did and the agent is quiet. */
  note(count: number): void {
    if (!this.o.gc || count <= 0) return;
    this.pending += count;
    if (this.pending < this.o.threshold) return;
    // Each change pushes the GC back: it is for after the burst, not in the middle of it. But by no
    // more than 5 quiet periods in all, so steady small reads (status polled every second, each a
    // dump of the flow table) do not put it off for ever.
    const now = this.timers.now();
    this.dueSince ??= now;
    this.arm(Math.max(0, Math.min(this.o.quietMs, this.dueSince + 5 * this.o.quietMs - now)));
  }

  stop(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = this.timers.setTimeout(() => this.fire(), ms);
  }

  private fire(): void {
    this.timer = undefined;
    if (this.o.busy?.()) return this.arm(this.o.quietMs);
    const now = this.timers.now();
    const wait = this.nextAt - now;
    if (wait > 0) return this.arm(wait);
    const gc = this.o.gc;
    if (!gc) return;
    const before = process.memoryUsage.rss();
    const t0 = performance.now();
    gc();
    this.runs++;
    const took = performance.now() - t0;
    this.nextAt = now + Math.max(this.o.minIntervalMs, 20 * took);
    this.dueSince = undefined;
    const changes = this.pending;
    this.pending = 0;
    this.o.log.debug({ changes, ms: Math.round(took), rssBeforeMiB: Math.round(before / 2 ** 20), rssAfterMiB: Math.round(process.memoryUsage.rss() / 2 ** 20) }, 'full GC after a large change, agent idle');
  }
}
