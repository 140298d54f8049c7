// Hostile input, time-boxed: a few seconds of the fuzzer (fuzz/run.ts runs the full 10 million),
// the harness's own ability to see crashes and hangs, regressions the fuzzer found, and the rule
// that no decode allocates beyond its input however large the lengths it claims.
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, it } from 'node:test';
import { check, corpus, makeInput } from '../fuzz/engine.js';
import { runFuzz } from '../fuzz/runner.js';
import { decode, encode, flowMod, OFDecodeError } from '../src/index.js';
import { samples } from './samples.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Every encoded sample with a lying 16-bit value (0, tiny, off by a pad, huge) at every offset past the header. */
function lyingInputs(): Buffer[] {
  const out: Buffer[] = [];
  for (const msg of samples().values()) {
    const good = encode(msg);
    for (let o = 8; o + 2 <= good.length; o += 2) {
      for (const v of [0, 1, 4, 0xfff8, 0xffff]) {
        const b = Buffer.from(good);
        b.writeUInt16BE(v, o);
        out.push(b);
      }
    }
  }
  return out;
}

/** Number of values in a decoded message; it must stay linear in the input (a version bitmap gives 8 per byte). */
function countNodes(v: unknown): number {
  if (Array.isArray(v)) return 1 + v.reduce((n: number, x) => n + countNodes(x), 0);
  if (v instanceof Uint8Array) return 1;
  if (v !== null && typeof v === 'object') return 1 + Object.values(v).reduce((n: number, x) => n + countNodes(x), 0);
  return 1;
}

void describe('allocation on lying lengths', () => {
  const inputs = lyingInputs();

  void it('builds thousands of lying inputs', () => {
    assert.ok(inputs.length > 10_000, `${inputs.length} inputs`);
  });

  void it('never creates a buffer larger than the input, nor values out of proportion to it', () => {
    // Spy on every Buffer factory the codec (and binary-parser) can reach.
    const B = Buffer as unknown as Record<string, (...a: unknown[]) => Buffer>;
    const names = ['from', 'alloc', 'allocUnsafe', 'allocUnsafeSlow', 'concat'] as const;
    const saved = names.map((n) => B[n]!);
    let largest = 0;
    names.forEach((n, i) => {
      const orig = saved[i]!;
      B[n] = function (this: unknown, ...a: unknown[]): Buffer {
        const r = orig.apply(Buffer, a);
        if (r.byteLength > largest) largest = r.byteLength;
        return r;
      };
    });
    let rejected = 0;
    let worst = '';
    try {
      for (const input of inputs) {
        largest = 0;
        let msg: unknown;
        try {
          msg = decode(input);
        } catch (e) {
          assert.ok(e instanceof OFDecodeError, `not an OFDecodeError: ${String(e)}`);
          rejected++;
        }
        if (largest > input.length && !worst) worst = `${input.toString('hex')}: allocated ${largest} bytes for ${input.length}`;
        if (msg !== undefined) assert.ok(countNodes(msg) <= 8 * input.length + 64, `decoded ${countNodes(msg)} values from ${input.length} bytes`);
      }
    } finally {
      names.forEach((n, i) => {
        B[n] = saved[i]!;
      });
    }
    assert.equal(worst, '', worst);
    // Most offsets hold data (names, addresses, counters) where any value is legal; the length fields must bite.
    assert.ok(rejected > 1000, `only ${rejected} of ${inputs.length} rejected: the lies did not land`);
  });

  void it('keeps the heap flat: no growth after decoding every lying input 10 times', () => {
    const heap = (): number => {
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const peakBefore = process.resourceUsage().maxRSS;
    const before = heap();
    for (let round = 0; round < 10; round++) {
      for (const input of inputs) {
        try {
          decode(input);
        } catch {
          // rejected: that is the point
        }
      }
    }
    const growth = heap() - before;
    const peakGrowthKb = process.resourceUsage().maxRSS - peakBefore;
    assert.ok(growth < 4 << 20, `heap grew by ${(growth / 1048576).toFixed(1)} MB`);
    assert.ok(peakGrowthKb < 64 * 1024, `peak RSS grew by ${(peakGrowthKb / 1024).toFixed(1)} MB while decoding ${inputs.length * 10} inputs`);
  });
});

void describe('fuzz harness', () => {
  void it('calls anything but an OFDecodeError a crash, and checks error offsets and re-encoding', () => {
    const good = encode(flowMod({ priority: 7 }));
    const throwing = { decode: (): unknown => { throw new TypeError('boom'); }, encode };
    assert.deepEqual(check(good, { codec: throwing }).kind, 'crash');
    const badOffset = { decode: (): unknown => { throw new OFDecodeError('OF_TRUNCATED', 9999, 'x'); }, encode };
    const v = check(good, { codec: badOffset });
    assert.ok(v.kind === 'crash' && v.reason === 'bad-offset');
    let n = 0;
    const drifting = { decode: (b: Uint8Array): unknown => ({ ...(decode(b) as object), priority: n++ }), encode };
    assert.equal(check(good).kind, 'ok');
    assert.equal((check(good, { codec: drifting }) as { reason?: string }).reason, 'unstable');
    const wrapped = { decode: (): unknown => { throw new OFDecodeError('OF_BAD_LENGTH', 0, 'internal decoder error: x is undefined'); }, encode };
    assert.ok((check(good, { codec: wrapped }) as { reason?: string }).reason === 'internal');
  });

  void it('makes the same input from the same (seed, index), and different ones otherwise', () => {
    const seeds = corpus();
    assert.ok(seeds.length > 100);
    assert.ok(makeInput(5, 123, seeds).equals(makeInput(5, 123, seeds)));
    const distinct = new Set(Array.from({ length: 200 }, (_, i) => makeInput(5, i, seeds).toString('hex')));
    assert.ok(distinct.size > 190, `${distinct.size} distinct inputs of 200`);
  });

  void it('detects a hang, saves nothing it was not asked to, and carries on after it', { timeout: 60_000 }, async () => {
    const s = await runFuzz({ seed: 1, inputs: 3000, hangAt: 1000, hangMs: 500, crashDir: null });
    assert.ok(s.hangs >= 1);
    // On a starved machine a slow stretch may also trip the 500 ms watchdog; the planted hang must be found.
    const hangs = s.findings.filter((f) => f.kind === 'hang').map((f) => f.index);
    assert.ok(hangs.includes(1000), `hangs at ${hangs.join(', ')}`);
    assert.equal(s.inputs, 3000);
  });
});

void describe('regressions found by fuzzing', () => {
  void it('keeps an out-of-range pbb_uca value raw so it re-encodes byte for byte', () => {
    const good = encode(flowMod({ match: [{ field: 'pbb_uca', value: 1 }] }));
    const at = good.indexOf(Buffer.from('4f4e46000a00', 'hex'));
    assert.ok(at > 0);
    const bad = Buffer.from(good);
    bad[at + 6] = 9;
    const m = decode(bad);
    assert.ok(m.type === 'FLOW_MOD');
    assert.equal(m.match[0]?.field, 'raw');
    assert.equal(encode(m).toString('hex'), bad.toString('hex'));
  });
});

/** The slice's default seed: fixed, so CI runs the same inputs each time (the first N of this seed). */
export const SLICE_SEED = 20261121;

/**
 * The fuzz slice's seed from FUZZ_SEED: unset or empty gives SLICE_SEED, a number that seed,
 * 'random' a fresh one (logged, so a finding can be replayed with FUZZ_SEED=<it>).
 */
export function sliceSeed(env: string | undefined): number {
  const v = env?.trim() ?? '';
  if (v === '') return SLICE_SEED;
  if (v === 'random') return (Date.now() ^ (process.pid << 16) ^ Math.floor(Math.random() * 0x1_0000_0000)) >>> 0;
  if (!/^\d+$/.test(v) || Number(v) > 0xffff_ffff) throw new Error(`FUZZ_SEED=${v}: expected 'random' or a seed from 0 to 4294967295`);
  return Number(v);
}

void describe('fuzz slice', () => {
  void it('takes a fixed seed by default, a given one, or a random one with FUZZ_SEED=random', () => {
    assert.equal(sliceSeed(undefined), SLICE_SEED);
    assert.equal(sliceSeed(''), SLICE_SEED);
    assert.equal(sliceSeed('7021'), 7021);
    const randoms = new Set(Array.from({ length: 8 }, () => sliceSeed('random')));
    assert.ok(randoms.size > 1, 'FUZZ_SEED=random must vary');
    for (const r of randoms) assert.ok(Number.isInteger(r) && r >= 0 && r <= 0xffff_ffff);
    assert.throws(() => sliceSeed('abc'), /FUZZ_SEED=abc: expected 'random' or a seed/);
  });

  void it('runs 5 seconds of generated and mutated inputs without a crash or a hang', { timeout: 120_000 }, async (t) => {
    const seed = sliceSeed(process.env.FUZZ_SEED);
    t.diagnostic(`fuzz slice seed ${seed} (${process.env.FUZZ_SEED ? `FUZZ_SEED=${process.env.FUZZ_SEED}` : 'fixed default; FUZZ_SEED=random for a fresh one'}); replay: FUZZ_SEED=${seed} or npm run fuzz -w node-openflow -- --seed ${seed}`);
    const s = await runFuzz({ seed, inputs: 10_000_000, seconds: 5, hangMs: 3000, crashDir: new URL('../fuzz/crashes/', import.meta.url).pathname });
    const report = s.findings.filter((f) => f.kind !== 'slow').slice(0, 3).map((f) => `${f.kind} ${f.index}: ${f.detail}`).join('\n');
    assert.equal(s.crashes, 0, `seed ${seed}: ${report}`);
    assert.equal(s.hangs, 0, `seed ${seed}: ${report}`);
    // How many inputs fit in 5 s depends on the machine (fuzz throughput is a benchmark figure): logged, not asserted.
    t.diagnostic(`fuzz slice: ${s.inputs} inputs in 5 s (${s.decoded} decoded, ${s.rejected} rejected), seed ${seed}`);
    assert.ok(s.decoded > 0 && s.rejected > 0, 'the mix must hold both valid and invalid inputs');
  });
});
