// Bounds-checked big-endian reads for the decoder. Every read of a variable-length structure goes
// through need() first, so a lying length is an OFDecodeError, never an out-of-range read.
import { ERR, OFDecodeError } from './errors.js';
import type { OFDecodeErrorCode, OfpErrorRef } from './errors.js';

export function fail(code: OFDecodeErrorCode, offset: number, detail: string, ofpError?: OfpErrorRef): never {
  throw new OFDecodeError(code, offset, detail, ofpError);
}

/** Requires n bytes at off, before end. */
export function need(end: number, off: number, n: number, what: string, code: OFDecodeErrorCode = 'OF_TRUNCATED', ofpError: OfpErrorRef = ERR.BAD_REQUEST_BAD_LEN): void {
  if (off + n > end) fail(code, off, `${what} needs ${n} bytes, only ${Math.max(0, end - off)} left`, ofpError);
}

export function u8(b: Buffer, o: number): number {
  return b[o]!;
}
export function u16(b: Buffer, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}
export function u24(b: Buffer, o: number): number {
  return (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!;
}
export function u32(b: Buffer, o: number): number {
  return ((b[o]! << 24) >>> 0) + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
}
export function u64(b: Buffer, o: number): bigint {
  return b.readBigUInt64BE(o);
}

/** A NUL-terminated string in a fixed char[n] field. */
export function cstr(b: Buffer, o: number, n: number): string {
  let e = o;
  const end = o + n;
  while (e < end && b[e] !== 0) e++;
  return b.toString('utf8', o, e);
}

/** A copy of b[start, end): decoded values must not alias the caller's (possibly reused) buffer. */
export function copyBytes(b: Buffer, start: number, end: number): Buffer {
  return Buffer.from(b.subarray(start, end));
}
