// The encoder's output buffer (node-postgres pg-protocol's Writer): one growing Buffer, big-endian
// primitives written byte by byte (no per-field allocation), and length fields reserved and
// back-patched once the enclosed bytes are known, so callers never compute lengths by hand.
import { OFEncodeError } from './errors.js';

const MAX_U64 = 0xffffffffffffffffn;

/**
 * Every integer field is range-checked: a priority of 70000 or an undefined table id must be an
 * OFEncodeError, not silently truncated into a different flow.
 */
function badInt(v: unknown, bits: number): never {
  throw new OFEncodeError('OF_BAD_VALUE', `${String(v)} is not an unsigned ${bits}-bit integer`);
}

export class Writer {
  /** The output buffer. Replace it only through setBuffer(), which keeps the DataView in step. */
  buf: Buffer;
  pos = 0;
  /** DataView.setBigUint64 is an intrinsic, several times faster than Buffer#writeBigUInt64BE. */
  private dv: DataView;

  constructor(size = 4096) {
    this.buf = Buffer.allocUnsafe(size);
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  }

  /** Switches to a new output buffer (content is not copied) and writes from its start. */
  setBuffer(buf: Buffer): void {
    this.buf = buf;
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
    this.pos = 0;
  }

  /** Make room for n more bytes. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.dv = new DataView(next.buffer, next.byteOffset, next.length);
  }

  u8(v: number): void {
    if ((v & 0xff) !== v) badInt(v, 8);
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
  }

  u16(v: number): void {
    if ((v & 0xffff) !== v) badInt(v, 16);
    this.ensure(2);
    const b = this.buf;
    let p = this.pos;
    b[p++] = (v >>> 8) & 0xff;
    b[p++] = v & 0xff;
    this.pos = p;
  }

  u24(v: number): void {
    if ((v & 0xffffff) !== v) badInt(v, 24);
    this.ensure(3);
    const b = this.buf;
    let p = this.pos;
    b[p++] = (v >>> 16) & 0xff;
    b[p++] = (v >>> 8) & 0xff;
    b[p++] = v & 0xff;
    this.pos = p;
  }

  u32(v: number): void {
    if (v >>> 0 !== v) badInt(v, 32);
    this.ensure(4);
    const b = this.buf;
    let p = this.pos;
    b[p++] = (v >>> 24) & 0xff;
    b[p++] = (v >>> 16) & 0xff;
    b[p++] = (v >>> 8) & 0xff;
    b[p++] = v & 0xff;
    this.pos = p;
  }

  u64(v: bigint): void {
    if (v === 0n) {
      this.zeros(8);
      return;
    }
    if (v < 0n || v > MAX_U64) throw new OFEncodeError('OF_BAD_VALUE', `${v} does not fit 64 bits`);
    this.ensure(8);
    this.dv.setBigUint64(this.pos, v);
    this.pos += 8;
  }

  zeros(n: number): void {
    this.ensure(n);
    const b = this.buf;
    let p = this.pos;
    // Pads are at most a few bytes; a loop beats Buffer.fill's native call for those.
    if (n <= 16) for (let i = 0; i < n; i++) b[p++] = 0;
    else {
      b.fill(0, p, p + n);
      p += n;
    }
    this.pos = p;
  }

  bytes(src: Uint8Array): void {
    this.ensure(src.length);
    this.buf.set(src, this.pos);
    this.pos += src.length;
  }

  /** Writes a string NUL-padded to exactly n bytes (spec char[] fields); truncates a longer one. */
  fixedString(s: string, n: number): void {
    this.ensure(n);
    const written = this.buf.write(s, this.pos, n - 1, 'utf8');
    this.buf.fill(0, this.pos + written, this.pos + n);
    this.pos += n;
  }

  /** Pads with zero bytes to the next multiple of 8 counted from `from`. */
  pad8(from: number): void {
    const rem = (this.pos - from) & 7;
    if (rem !== 0) this.zeros(8 - rem);
  }

  patch16(at: number, v: number): void {
    this.buf[at] = (v >>> 8) & 0xff;
    this.buf[at + 1] = v & 0xff;
  }

  /** Writes the length of everything since `start` into the u16 at `at`; fails beyond 65535. */
  patchLength16(at: number, start: number, what: string): void {
    const len = this.pos - start;
    if (len > 0xffff) throw new OFEncodeError('OF_TOO_LONG', `${what} is ${len} bytes, more than the 65535 a length field holds`);
    this.patch16(at, len);
  }

  /** The bytes written so far, copied out (the writer's buffer is reused). */
  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }

  /** The bytes written so far, as a view on the writer's buffer: valid until the next write or reset. */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  reset(): void {
    this.pos = 0;
  }
}
