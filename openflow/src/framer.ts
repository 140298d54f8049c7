// Stream framing (spec 7.1: every message starts with ofp_header whose length covers the whole
// message). Like pg-protocol's parser, the framer yields a message only when all its bytes have
// arrived and keeps the remainder; it never buffers more than one partial message.
import { OFDecodeError } from './errors.js';

export const OFP_MAX_MESSAGE = 0xffff;

export interface OFFramerOptions {
  /** Largest message accepted (default and protocol maximum: 65535). */
  maxMessageSize?: number;
}

export class OFFramer {
  /**
   * The partial message, as the chunks it arrived in (copies). They are joined once, when the
   * message's last byte arrives: a 64 KiB message dribbled in byte by byte costs linear time,
   * not a re-concatenation per chunk.
   */
  private parts: Buffer[] = [];
  private partLen = 0;
  /** The partial message's header length, once its first 4 bytes are in (0 before). */
  private need = 0;
  /** Bytes consumed from the stream before the pending partial message (for error offsets). */
  private streamOffset = 0;
  private readonly max: number;
  private failed: OFDecodeError | null = null;

  constructor(opts: OFFramerOptions = {}) {
    this.max = Math.min(opts.maxMessageSize ?? OFP_MAX_MESSAGE, OFP_MAX_MESSAGE);
  }

  /**
   * Feeds TCP data; returns the complete raw messages it completes (each its own Buffer, safe to keep).
   *
   * A header length below 8 or above the limit is an OFDecodeError, and the stream cannot be
   * resynchronised after it. When the bad header is the first thing this chunk has to frame, push
   * throws at once. When whole messages precede it in the same chunk, push returns those messages
   * first and the error is deferred: it is thrown by the next push() and by end(), and `error`
   * shows it meanwhile. Either way every later push throws the same error.
   */
  push(chunk: Uint8Array): Buffer[] {
    if (this.failed) throw this.failed;
    const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out: Buffer[] = [];
    let p = 0;
    if (this.partLen > 0) {
      if (this.need === 0) {
        if (this.partLen + data.length < 4) return this.keep(data, 0);
        const len = (this.byteAt(2, data) << 8) | this.byteAt(3, data);
        this.check(len, this.streamOffset + 2, out);
        this.need = len;
      }
      if (this.partLen + data.length < this.need) return this.keep(data, 0);
      p = this.need - this.partLen;
      this.parts.push(data.subarray(0, p));
      out.push(Buffer.concat(this.parts, this.need));
      this.streamOffset += this.need;
      this.parts = [];
      this.partLen = 0;
      this.need = 0;
    }
    while (data.length - p >= 4) {
      const len = (data[p + 2]! << 8) | data[p + 3]!;
      if (!this.check(len, this.streamOffset + 2, out)) return out;
      if (data.length - p < len) {
        this.need = len;
        break;
      }
      // Copy: the caller may keep the message while the socket reuses its chunk.
      out.push(Buffer.from(data.subarray(p, p + len)));
      p += len;
      this.streamOffset += len;
    }
    return p < data.length ? this.keep(data, p, out) : out;
  }

  /**
   * Call at the end of the stream. Throws the deferred error of the last push, if any; otherwise
   * returns the bytes of a message that never completed (0 when the stream ended on a boundary).
   */
  end(): number {
    if (this.failed) throw this.failed;
    return this.partLen;
  }

  /** The error that stopped the stream, deferred or already thrown (null while the stream is fine). */
  get error(): OFDecodeError | null {
    return this.failed;
  }

  /** Bytes of an incomplete message held back. */
  get buffered(): number {
    return this.partLen;
  }

  /** Holds data[from..] (a copy: the socket may reuse its chunk) as part of the partial message. */
  private keep(data: Buffer, from: number, out: Buffer[] = []): Buffer[] {
    this.parts.push(Buffer.from(data.subarray(from)));
    this.partLen += data.length - from;
    return out;
  }

  /** Byte i of the partial message followed by data. */
  private byteAt(i: number, data: Buffer): number {
    for (const part of this.parts) {
      if (i < part.length) return part[i]!;
      i -= part.length;
    }
    return data[i]!;
  }

  /**
   * Validates a header length. A bad one fails the framer: thrown now when this push has no
   * message to return, deferred (false) when it does.
   */
  private check(len: number, at: number, out: Buffer[]): boolean {
    let e: OFDecodeError | null = null;
    if (len < 8) e = new OFDecodeError('OF_BAD_LENGTH', at, `header length ${len} < 8`);
    else if (len > this.max) e = new OFDecodeError('OF_TOO_LARGE', at, `message length ${len} exceeds the limit of ${this.max}`);
    if (!e) return true;
    this.failed = e;
    this.parts = [];
    this.partLen = 0;
    this.need = 0;
    if (out.length === 0) throw e;
    return false;
  }
}
