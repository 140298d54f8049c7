// Order statistics for benchmark samples. These machines are shared and noisy, so every figure is a
// median over repeated runs with its min and max; percentiles use the nearest-rank method (a p99 of
// 200 samples is a sample that was actually observed, never an interpolation).

export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
  p50: number;
  p99: number;
}

export class StatsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StatsError';
  }
}

function checked(samples: readonly number[]): number[] {
  if (samples.length === 0) throw new StatsError('no samples: a figure needs at least one measured run');
  for (const s of samples) {
    if (!Number.isFinite(s)) throw new StatsError(`sample ${String(s)} is not a finite number`);
  }
  return [...samples].sort((a, b) => a - b);
}

/** Nearest-rank percentile (0 < p <= 100) of samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (!(p > 0 && p <= 100)) throw new StatsError(`percentile ${p} is outside (0, 100]`);
  const s = checked(samples);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length, Math.max(1, rank)) - 1]!;
}

/** Median: the middle sample, or the mean of the two middle ones for an even count. */
export function median(samples: readonly number[]): number {
  const s = checked(samples);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function summarize(samples: readonly number[]): Summary {
  const s = checked(samples);
  return { n: s.length, median: median(s), min: s[0]!, max: s[s.length - 1]!, p50: percentile(s, 50), p99: percentile(s, 99) };
}

/** ours / peer, or null when either side is missing or the peer's figure is zero. */
export function ratio(ours: number | null | undefined, peer: number | null | undefined): number | null {
  if (ours === null || ours === undefined || peer === null || peer === undefined || peer === 0) return null;
  return ours / peer;
}
