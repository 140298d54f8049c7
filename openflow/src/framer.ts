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
  private pending: Buffer | null = null;
  /** Bytes consumed from the stream before the pending partial message (for error offsets). */
  private streamOffset = 0;
  private readonly max: number;
  private failed: OFDecodeError | null = null;

  constructor(opts: OFFramerOptions = {}) {
    this.max = Math.min(opts.maxMessageSize ?? OFP_MAX_MESSAGE, OFP_MAX_MESSAGE);
  }

  /**
   * Feeds TCP data; returns the complete raw messages it completes (each its own Buffer, safe to keep).
   * Throws OFDecodeError on a header length below 8 or above the limit; the stream cannot be
   * resynchronised after that, so every later push throws the same error.
   */
  push(chunk: Uint8Array): Buffer[] {
    if (this.failed) throw this.failed;
    let data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.pending) {
      data = Buffer.concat([this.pending, data]);
      this.pending = null;
    }
    const out: Buffer[] = [];
    let p = 0;
    while (data.length - p >= 4) {
      const len = (data[p + 2]! << 8) | data[p + 3]!;
      if (len < 8) this.fail(new OFDecodeError('OF_BAD_LENGTH', this.streamOffset + p + 2, `header length ${len} < 8`));
      if (len > this.max) this.fail(new OFDecodeError('OF_TOO_LARGE', this.streamOffset + p + 2, `message length ${len} exceeds the limit of ${this.max}`));
      if (data.length - p < len) break;
      // Copy: the caller may keep the message while the socket reuses its chunk.
      out.push(Buffer.from(data.subarray(p, p + len)));
      p += len;
    }
    this.streamOffset += p;
    if (p < data.length) this.pending = Buffer.from(data.subarray(p));
    return out;
  }

  /** Bytes of an incomplete message held back. */
  get buffered(): number {
    return this.pending ? this.pending.length : 0;
  }

  private fail(e: OFDecodeError): never {
    this.failed = e;
    this.pending = null;
    throw e;
  }
}
