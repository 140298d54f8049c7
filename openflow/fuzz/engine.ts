// The fuzzer's pure part: a seed corpus, mutators, and the check applied to each input. Every input
// is a function of (seed, index) alone, so the runner can rebuild the input that hung a worker from
// its index, and any crash reproduces with `npm run fuzz -- --seed S --from I --inputs 1`.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { decode, encode, OFDecodeError, OFFramer, toJSON } from '../src/index.js';
import { samples } from '../test/samples.js';
import { testdataDir } from '../test/support.js';

// ---------------------------------------------------------------------------------------------
// A small, fast PRNG (xorshift32) seeded per input through splitmix32.

export class Rng {
  private s: number;
  constructor(seed: number) {
    let z = (seed + 0x9e3779b9) | 0;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    this.s = (z ^ (z >>> 16)) | 1;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x;
    return x >>> 0;
  }
  /** 0 <= r < n */
  int(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
}

/** The per-input generator: independent of every other input. */
export function inputRng(seed: number, index: number): Rng {
  return new Rng((Math.imul(index, 0x9e3779b1) ^ Math.imul(seed, 0x85ebca77)) | 0);
}

// ---------------------------------------------------------------------------------------------
// Seed corpus: the golden vectors, Open vSwitch's own fuzz regressions, and encoder output of
// every message kind the codec builds.

export function corpus(): Buffer[] {
  const out: Buffer[] = [];
  const packetDir = join(testdataDir, 'packet');
  for (const f of readdirSync(packetDir).sort()) out.push(readFileSync(join(packetDir, f)));
  const malformedDir = join(testdataDir, 'malformed');
  for (const f of readdirSync(malformedDir).sort()) {
    const b = readFileSync(join(malformedDir, f));
    if (b.length >= 8 && b.length <= 0xffff) out.push(b);
  }
  for (const msg of samples().values()) out.push(encode(msg));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Mutators.

const I8 = [0, 1, 2, 4, 7, 8, 0x0f, 0x10, 0x7f, 0x80, 0xfe, 0xff];
/** Length-ish values: zero, too small for any header, off by one and by a pad, and huge. */
const I16 = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 15, 16, 17, 24, 32, 40, 64, 0xff, 0x100, 0x7fff, 0x8000, 0xfff0, 0xfff8, 0xfffe, 0xffff];
const I32 = [0, 1, 0x7fffffff, 0x80000000, 0xfffffff8, 0xfffffffc, 0xfffffffd, 0xffffffff, 0x00002320, 0x4f4e4600];
const MP_TYPES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xffff];

const MAX = 0xffff;

function interesting16(r: Rng, len: number): number {
  switch (r.int(4)) {
    case 0: return r.pick(I16);
    case 1: return Math.max(0, Math.min(MAX, len + r.int(33) - 16));
    case 2: return r.int(64);
    default: return r.int(0x10000);
  }
}

function randomBytes(r: Rng, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = r.next() & 0xff;
  return b;
}

/** A message with a valid header and a random body: reaches every type's body parser directly. */
export function generate(r: Rng): Buffer {
  const n = 8 + (r.int(4) === 0 ? r.int(1024) : r.int(128));
  const b = randomBytes(r, n);
  b[0] = 4;
  b[1] = r.int(40);
  b.writeUInt16BE(n, 2);
  if ((b[1] === 18 || b[1] === 19) && n >= 16) {
    b.writeUInt16BE(r.pick(MP_TYPES), 8);
    b.writeUInt16BE(r.int(2), 10);
  }
  if (b[1] === 4 && n >= 16) b.writeUInt32BE(r.int(2) ? 0x4f4e4600 : 0x00002320, 8);
  // Plant plausible TLV headers (type, small length) at 8-byte boundaries, where the spec puts them.
  for (let o = 16; o + 4 <= n; o += 8) if (r.int(3) === 0) b.writeUInt16BE(r.pick(I16), o + 2);
  return b;
}

export type MutatorName =
  | 'bitflip' | 'byte' | 'u16' | 'u32' | 'truncate' | 'extend' | 'splice' | 'duplicate' | 'delete' | 'random'
  | 'msgtype' | 'mptype' | 'tlvlen';

const MUTATORS: MutatorName[] = [
  'bitflip', 'byte', 'u16', 'u16', 'u32', 'truncate', 'truncate', 'extend', 'splice', 'duplicate', 'delete', 'random',
  'msgtype', 'mptype', 'tlvlen', 'tlvlen', 'tlvlen',
];

function mutateOnce(r: Rng, b: Buffer, seeds: Buffer[]): Buffer {
  const len = b.length;
  const at = (n: number): number => r.int(Math.max(1, len - n + 1));
  switch (r.pick(MUTATORS)) {
    case 'bitflip': if (len) b[at(1)]! ^= 1 << r.int(8); return b;
    case 'byte': if (len) b[at(1)] = r.int(2) ? r.pick(I8) : r.int(256); return b;
    case 'u16': if (len >= 2) b.writeUInt16BE(interesting16(r, len), r.int(2) ? at(2) & ~1 : at(2)); return b;
    case 'u32': if (len >= 4) b.writeUInt32BE(r.int(2) ? r.pick(I32) : r.next(), at(4) & ~(r.int(2) ? 3 : 0)); return b;
    case 'truncate': return b.subarray(0, Math.max(0, len - 1 - r.int(Math.min(len, r.int(2) ? 8 : len))));
    case 'extend': {
      const n = 1 + r.int(r.int(4) ? 16 : 256);
      return Buffer.concat([b, r.int(2) ? Buffer.alloc(n) : randomBytes(r, n)]);
    }
    case 'splice': {
      const other = r.pick(seeds);
      return Buffer.concat([b.subarray(0, r.int(len + 1)), other.subarray(r.int(other.length + 1))]);
    }
    case 'duplicate': {
      const s = r.int(len + 1);
      const e = Math.min(len, s + r.int(64));
      const p = r.int(len + 1);
      return Buffer.concat([b.subarray(0, p), b.subarray(s, e), b.subarray(p)]);
    }
    case 'delete': {
      const s = r.int(len + 1);
      return Buffer.concat([b.subarray(0, s), b.subarray(Math.min(len, s + 1 + r.int(32)))]);
    }
    case 'random': {
      const s = at(1);
      const n = Math.min(len - s, 1 + r.int(16));
      for (let i = 0; i < n; i++) b[s + i] = r.next() & 0xff;
      return b;
    }
    case 'msgtype': if (len >= 2) b[1] = r.int(40); return b;
    case 'mptype': if (len >= 10) b.writeUInt16BE(r.pick(MP_TYPES), 8); return b;
    case 'tlvlen': {
      // TLV headers are (type16, len16) or (class16, field7|hasmask1, len8) at 4- or 8-byte
      // boundaries: lie in them with 0, tiny, off-by-one and overrunning lengths.
      if (len < 12) return b;
      const o = 8 + (r.int(Math.max(1, (len - 12) >> 2)) << 2);
      if (r.int(3) === 0) b[o + 3] = r.int(2) ? r.pick(I8) : r.int(256);
      else b.writeUInt16BE(r.int(2) ? r.int(17) : interesting16(r, len - o), o + 2);
      return b;
    }
  }
}

/** Input number `index`: a generated message or a mutation of a seed (1 to 4 stacked mutations). */
export function makeInput(seed: number, index: number, seeds: Buffer[]): Buffer {
  const r = inputRng(seed, index);
  if (r.int(16) === 0) return generate(r);
  let b: Buffer = Buffer.from(r.pick(seeds));
  const n = 1 + r.int(4);
  for (let i = 0; i < n; i++) b = mutateOnce(r, b, seeds);
  if (b.length > MAX) b = b.subarray(0, MAX);
  // Mostly keep the header consistent, so the lie lands in a body structure rather than at byte 2.
  if (b.length >= 8 && r.int(8) !== 0) {
    b.writeUInt16BE(b.length, 2);
    if (r.int(16) !== 0) b[0] = 4;
  }
  return b;
}

// ---------------------------------------------------------------------------------------------
// The check.

export type Verdict =
  | { kind: 'ok' }
  | { kind: 'rejected'; code: string }
  | { kind: 'crash'; reason: 'throw' | 'internal' | 'bad-offset' | 'reencode' | 'redecode' | 'unstable' | 'json' | 'framer'; detail: string };

export interface Codec {
  decode(b: Uint8Array): unknown;
  encode(m: never): Buffer;
}

const realCodec: Codec = { decode, encode: encode };

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}\n${e.stack?.split('\n').slice(1, 6).join('\n') ?? ''}`;
  return String(e);
}

/**
 * Decodes one input and says what happened. A crash is any exception that is not an
 * OFDecodeError (or one wrapping an internal error), an error offset outside the input, or a
 * decoded message that does not survive encode -> decode -> encode unchanged.
 */
export function check(input: Buffer, opts: { deep?: boolean; codec?: Codec } = {}): Verdict {
  const codec = opts.codec ?? realCodec;
  let msg: unknown;
  try {
    msg = codec.decode(input);
  } catch (e) {
    if (!(e instanceof OFDecodeError)) return { kind: 'crash', reason: 'throw', detail: describe(e) };
    // decode() wraps unexpected exceptions as a last defence; for the fuzzer they are bugs.
    if (e.message.includes('internal decoder error')) return { kind: 'crash', reason: 'internal', detail: e.message };
    if (!Number.isInteger(e.offset) || e.offset < 0 || e.offset > input.length) {
      return { kind: 'crash', reason: 'bad-offset', detail: `offset ${e.offset} outside an input of ${input.length} bytes: ${e.message}` };
    }
    return { kind: 'rejected', code: e.code };
  }
  let e1: Buffer;
  try {
    e1 = codec.encode(msg as never);
  } catch (e) {
    return { kind: 'crash', reason: 'reencode', detail: `a decoded message does not encode: ${describe(e)}` };
  }
  let msg2: unknown;
  try {
    msg2 = codec.decode(e1);
  } catch (e) {
    return { kind: 'crash', reason: 'redecode', detail: `the re-encoding of a decoded message does not decode: ${describe(e)}\nre-encoded: ${e1.toString('hex')}` };
  }
  let e2: Buffer;
  try {
    e2 = codec.encode(msg2 as never);
  } catch (e) {
    return { kind: 'crash', reason: 'reencode', detail: `second encode failed: ${describe(e)}` };
  }
  if (!e1.equals(e2)) {
    return { kind: 'crash', reason: 'unstable', detail: `encode(decode(x)) changes on a second round:\n${e1.toString('hex')}\n${e2.toString('hex')}` };
  }
  if (opts.deep) {
    try {
      JSON.stringify(toJSON(msg as never));
    } catch (e) {
      return { kind: 'crash', reason: 'json', detail: describe(e) };
    }
  }
  return { kind: 'ok' };
}

/**
 * Feeds the input twice, in random pieces, through the framer: it may only throw OFDecodeError,
 * and when the header length is the input's, it must give back exactly the two messages.
 */
export function checkFramer(input: Buffer, r: Rng): Verdict {
  const framer = new OFFramer();
  const stream = Buffer.concat([input, input]);
  const got: Buffer[] = [];
  try {
    for (let p = 0; p < stream.length;) {
      const n = 1 + r.int(r.int(2) ? 8 : 200);
      got.push(...framer.push(stream.subarray(p, p + n)));
      p += n;
    }
    framer.end(); // a bad header after the last whole messages is deferred to here
  } catch (e) {
    if (e instanceof OFDecodeError) return { kind: 'rejected', code: e.code };
    return { kind: 'crash', reason: 'framer', detail: describe(e) };
  }
  if (input.length >= 8 && input.readUInt16BE(2) === input.length) {
    if (got.length !== 2 || !got[0]!.equals(input) || !got[1]!.equals(input) || framer.buffered !== 0) {
      return { kind: 'crash', reason: 'framer', detail: `framer gave ${got.length} messages (${framer.buffered} bytes buffered) for two whole ones` };
    }
  }
  return { kind: 'ok' };
}
