// What every benchmark gets from the runner: the mode, a progress line printer, the shared lab
// (built on first use, torn down by the runner), and a cleanup list run even on failure.
import type { Lab } from '../../src/lab/index.js';
import type { Figure } from './report.js';

export interface BenchContext {
  quick: boolean;
  log: (line: string) => void;
  /** The shared three-host lab "bench" (built on first use). */
  lab: () => Promise<Lab>;
  /** Registers a teardown step; steps run in reverse order at the end of the benchmark, even on failure. */
  defer: (what: string, fn: () => Promise<void> | void) => void;
  /** Figures are reported as soon as they are measured (the runner prints them with progress). */
  report: (f: Figure) => void;
  note: (line: string) => void;
  tmpDir: string;
}

export interface Bench {
  id: string;
  title: string;
  run: (ctx: BenchContext) => Promise<void>;
}

/** CPU time (user + system) of a process in milliseconds, from /proc/<pid>/stat (100 Hz ticks). */
export async function cpuMs(pid: number): Promise<number | null> {
  const { readFile } = await import('node:fs/promises');
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11] = utime, fields[12] = stime (fields 14 and 15 of the whole line)
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}
