// What the fuzz worker and its watchdog share: the worker's start parameters and the slots of the
// shared Int32Array where it publishes its position and counts.

export interface WorkerInit {
  seed: number;
  from: number;
  to: number;
  /** Epoch ms after which the worker stops (0: none). */
  deadline: number;
  slowMs: number;
  shared: SharedArrayBuffer;
  /** Harness self-test: spin forever on this input index. */
  hangAt?: number;
}

export const SLOT = { current: 0, done: 1, ok: 2, rejected: 3, crashes: 4, slow: 5, finished: 6, started: 7 } as const;
export const SLOTS = 8;
