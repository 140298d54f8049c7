// Fuzz worker: decodes inputs [from, to) and publishes its position in shared memory after each
// one, so the parent can tell a hang (position frozen) from slow progress and rebuild the input.
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { check, checkFramer, corpus, inputRng, makeInput } from './engine.js';
import { SLOT } from './protocol.js';
import type { WorkerInit } from './protocol.js';

const init = workerData as WorkerInit;
const port = parentPort!;
const s = new Int32Array(init.shared);
const seeds = corpus();
const codes = new Map<string, number>();
const reported = new Map<string, number>();
// Three inputs in four are rejected with an OFDecodeError, and capturing its stack is most of the
// cost of rejecting; stacks are turned back on to re-check an input that crashed, for the report.
Error.stackTraceLimit = 0;
Atomics.store(s, SLOT.started, 1);

for (let i = init.from; i < init.to; i++) {
  s[SLOT.current] = i;
  if ((i & 1023) === 0 && init.deadline && Date.now() > init.deadline) break;
  const input = makeInput(init.seed, i, seeds);
  const t0 = performance.now();
  if (i === init.hangAt) for (;;);
  let v = check(input, { deep: (i & 15) === 0 });
  if (v.kind !== 'crash' && (i & 7) === 0) {
    const f = checkFramer(input, inputRng(~init.seed, i));
    if (f.kind === 'crash') v = f;
  }
  const ms = performance.now() - t0;
  if (ms > init.slowMs) {
    s[SLOT.slow]!++;
    port.postMessage({ type: 'slow', index: i, ms });
  }
  if (v.kind === 'ok') s[SLOT.ok]!++;
  else if (v.kind === 'rejected') {
    s[SLOT.rejected]!++;
    codes.set(v.code, (codes.get(v.code) ?? 0) + 1);
  } else {
    Error.stackTraceLimit = 10;
    const again = check(input, { deep: true });
    if (again.kind === 'crash') v = again;
    Error.stackTraceLimit = 0;
    s[SLOT.crashes]!++;
    // Report a few instances of each distinct failure, not millions of the same one.
    const sig = `${v.reason}:${v.detail.split('\n')[0]!.replace(/\d+/g, 'N')}`;
    const n = reported.get(sig) ?? 0;
    reported.set(sig, n + 1);
    if (n < 5) port.postMessage({ type: 'crash', index: i, reason: v.reason, detail: v.detail, input });
  }
  s[SLOT.done]!++;
}
port.postMessage({ type: 'codes', codes: Object.fromEntries(codes) });
Atomics.store(s, SLOT.finished, 1);
port.postMessage({ type: 'done' });
