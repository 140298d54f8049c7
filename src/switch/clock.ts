// Time is passed in (docs/architecture.md): the session's echo, inactivity, back-off and request
// timeouts all go through this interface, so unit tests drive them with a fake clock.
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(h: TimerHandle): void;
}

export type TimerHandle = { readonly id: unknown };

export const realTimers: Timers = {
  now: () => performance.now(),
  // Timers keep the process alive: a running session is work; stop() clears them.
  setTimeout: (fn, ms) => ({ id: setTimeout(fn, ms) }),
  clearTimeout: (h) => clearTimeout(h.id as NodeJS.Timeout),
};

/** A manual clock for tests: time moves only through advance(). */
export class FakeTimers implements Timers {
  #now = 0;
  #seq = 0;
  readonly #pending = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.#seq;
    this.#pending.set(id, { at: this.#now + Math.max(0, ms), fn });
    return { id };
  }

  clearTimeout(h: TimerHandle): void {
    this.#pending.delete(h.id as number);
  }

  /** Runs every timer due within `ms`, in time order, moving the clock to each one's deadline. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let nextId = -1;
      let nextAt = Infinity;
      for (const [id, t] of this.#pending) {
        if (t.at < nextAt || (t.at === nextAt && id < nextId)) {
          nextAt = t.at;
          nextId = id;
        }
      }
      if (nextId < 0 || nextAt > end) break;
      const t = this.#pending.get(nextId);
      this.#pending.delete(nextId);
      this.#now = Math.max(this.#now, nextAt);
      t?.fn();
    }
    this.#now = Math.max(this.#now, end);
  }

  /** Moves the clock without running timers, like an event loop blocked for `ms`; advance(0) then runs the late ones. */
  jump(ms: number): void {
    this.#now += ms;
  }

  get pendingCount(): number {
    return this.#pending.size;
  }
}
