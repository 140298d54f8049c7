// Runs fuzz inputs in a worker thread under a watchdog. The worker publishes the index it is on
// after every input; when that index stops moving for `hangMs`, the input is a hang: the worker is
// terminated (which stops even a synchronous infinite loop), the input is rebuilt from its index and
// saved, and a fresh worker continues after it. RSS is sampled for the whole process meanwhile.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { corpus, makeInput } from './engine.js';
import { SLOT, SLOTS } from './protocol.js';
import type { WorkerInit } from './protocol.js';

export interface FuzzOptions {
  seed: number;
  /** Number of inputs (upper bound when `seconds` is set). */
  inputs: number;
  /** First input index (to replay a range). */
  from?: number;
  /** Stop after this many seconds even if `inputs` are not done. */
  seconds?: number;
  /** An input index that does not finish within this many ms is a hang (default 2000). */
  hangMs?: number;
  /** Inputs slower than this are listed (default 100 ms; a GC pause on a busy machine can reach 50). */
  slowMs?: number;
  /** Where crashing and hanging inputs are saved; null: not saved. */
  crashDir?: string | null;
  onProgress?: (p: FuzzProgress) => void;
  progressMs?: number;
  /** Harness self-test: the worker spins forever on this index. */
  hangAt?: number;
}

export interface FuzzProgress {
  done: number;
  total: number;
  elapsed: number;
  rate: number;
  crashes: number;
  hangs: number;
  rssMb: number;
}

export interface FuzzFinding {
  kind: 'crash' | 'hang' | 'slow';
  index: number;
  reason: string;
  detail: string;
  file?: string;
}

export interface FuzzSummary {
  seed: number;
  from: number;
  inputs: number;
  seconds: number;
  rate: number;
  decoded: number;
  rejected: number;
  crashes: number;
  hangs: number;
  slow: number;
  /** Process RSS once the corpus is loaded and the worker warm, at the peak, and at the end (MB). */
  rssStartMb: number;
  rssPeakMb: number;
  rssEndMb: number;
  /** The kernel's high-water mark for the process (getrusage ru_maxrss), MB. */
  maxRssMb: number;
  errorCodes: Record<string, number>;
  findings: FuzzFinding[];
}

/**
 * The worker runs TypeScript like its parent: when the parent runs under tsx (`node --import tsx`),
 * the worker registers tsx's loader before importing worker.ts; compiled to .js it needs nothing.
 */
function startWorker(init: WorkerInit): Worker {
  const self = fileURLToPath(import.meta.url);
  if (self.endsWith('.js')) return new Worker(new URL('./worker.js', import.meta.url), { workerData: init });
  const tsx = import.meta.resolve('tsx/esm/api');
  const worker = new URL('./worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(worker)}); });`;
  return new Worker(boot, { eval: true, workerData: init });
}

const mb = (n: number): number => Math.round((n / (1 << 20)) * 10) / 10;

export async function runFuzz(opts: FuzzOptions): Promise<FuzzSummary> {
  const from = opts.from ?? 0;
  const end = from + opts.inputs;
  const hangMs = opts.hangMs ?? 2000;
  const started = Date.now();
  const deadline = opts.seconds ? started + opts.seconds * 1000 : 0;
  const findings: FuzzFinding[] = [];
  const codes: Record<string, number> = {};
  const totals = { done: 0, ok: 0, rejected: 0, crashes: 0, slow: 0, hangs: 0 };
  let seeds: Buffer[] | null = null;
  const save = (kind: string, index: number, input: Buffer, text: string): string | undefined => {
    if (!opts.crashDir) return undefined;
    mkdirSync(opts.crashDir, { recursive: true });
    const base = join(opts.crashDir, `${kind}-seed${opts.seed}-${index}`);
    writeFileSync(`${base}.bin`, input);
    writeFileSync(`${base}.txt`, `${text}\n\nreplay: npm run fuzz -w node-openflow -- --seed ${opts.seed} --from ${index} --inputs 1\n`);
    return `${base}.bin`;
  };

  let rssStart = 0;
  let rssPeak = process.memoryUsage.rss();
  let next = from;
  while (next < end && !(deadline && Date.now() >= deadline)) {
    const shared = new SharedArrayBuffer(SLOTS * 4);
    const s = new Int32Array(shared);
    const init: WorkerInit = { seed: opts.seed, from: next, to: end, deadline, slowMs: opts.slowMs ?? 100, shared, hangAt: opts.hangAt };
    const worker = startWorker(init);
    const outcome = await new Promise<{ hungAt?: number }>((resolve, reject) => {
      let lastIndex = -1;
      let lastDone = -1;
      let frozenSince = Date.now();
      let lastProgress = Date.now();
      const timer = setInterval(() => {
        const rss = process.memoryUsage.rss();
        if (rss > rssPeak) rssPeak = rss;
        const done = Atomics.load(s, SLOT.done);
        const index = Atomics.load(s, SLOT.current);
        if (rssStart === 0 && done > 0) rssStart = rss;
        const now = Date.now();
        if (done !== lastDone || index !== lastIndex) {
          lastDone = done;
          lastIndex = index;
          frozenSince = now;
        } else if (Atomics.load(s, SLOT.started)) {
          if (now - frozenSince > hangMs && !Atomics.load(s, SLOT.finished)) {
            clearInterval(timer);
            void worker.terminate().then(() => resolve({ hungAt: index }));
            return;
          }
        } else if (now - frozenSince > 60_000) {
          // Not even the first input ran in a minute: the worker failed to start.
          clearInterval(timer);
          void worker.terminate().then(() => reject(new Error('fuzz worker did not start within 60 s')));
          return;
        }
        if (opts.onProgress && now - lastProgress >= (opts.progressMs ?? 2000)) {
          lastProgress = now;
          const d = totals.done + done;
          const elapsed = (now - started) / 1000;
          opts.onProgress({
            done: d, total: opts.inputs, elapsed, rate: d / elapsed, crashes: totals.crashes + Atomics.load(s, SLOT.crashes),
            hangs: totals.hangs, rssMb: mb(rss),
          });
        }
      }, 100);
      worker.on('message', (m: { type: string; index: number; reason: string; detail: string; input: Uint8Array; ms: number; codes: Record<string, number> }) => {
        if (m.type === 'crash') {
          const file = save('crash', m.index, Buffer.from(m.input), `${m.reason}\n${m.detail}`);
          findings.push({ kind: 'crash', index: m.index, reason: m.reason, detail: m.detail, file });
        } else if (m.type === 'slow') {
          // Listed, not saved: on a busy machine most are GC pauses or lost time slices, and the
          // index alone rebuilds the input (--from I --inputs 1).
          findings.push({ kind: 'slow', index: m.index, reason: 'slow', detail: `${m.ms.toFixed(1)} ms wall time` });
        } else if (m.type === 'codes') {
          for (const [k, v] of Object.entries(m.codes)) codes[k] = (codes[k] ?? 0) + v;
        } else if (m.type === 'done') {
          clearInterval(timer);
          resolve({});
        }
      });
      worker.on('error', (e) => {
        clearInterval(timer);
        reject(e);
      });
    });
    totals.done += Atomics.load(s, SLOT.done);
    totals.ok += Atomics.load(s, SLOT.ok);
    totals.rejected += Atomics.load(s, SLOT.rejected);
    totals.crashes += Atomics.load(s, SLOT.crashes);
    totals.slow += Atomics.load(s, SLOT.slow);
    if (outcome.hungAt === undefined) break;
    const index = outcome.hungAt;
    totals.hangs++;
    totals.done++;
    seeds ??= corpus();
    const input = makeInput(opts.seed, index, seeds);
    const file = save('hang', index, input, `no progress for ${hangMs} ms on this input`);
    findings.push({ kind: 'hang', index, reason: 'hang', detail: `no progress for ${hangMs} ms`, file });
    next = index + 1;
  }
  const seconds = (Date.now() - started) / 1000;
  const rssEnd = process.memoryUsage.rss();
  return {
    seed: opts.seed, from, inputs: totals.done, seconds, rate: Math.round(totals.done / seconds), decoded: totals.ok,
    rejected: totals.rejected, crashes: totals.crashes, hangs: totals.hangs, slow: totals.slow,
    rssStartMb: mb(rssStart || rssEnd), rssPeakMb: mb(Math.max(rssPeak, rssEnd)), rssEndMb: mb(rssEnd),
    maxRssMb: mb(process.resourceUsage().maxRSS * 1024), errorCodes: codes, findings,
  };
}
