// The codec entry points the session uses, in one place: encode/decode and the stream framer of
// node-openflow.
import { decode, encode, encodeInto, OFFramer, Writer } from 'node-openflow';
import type { OFMessage } from './oftypes.js';

export interface Framer {
  push(chunk: Buffer): Buffer[];
}

export function newFramer(): Framer {
  return new OFFramer();
}

export function encodeMessage(msg: OFMessage): Buffer {
  return encode(msg);
}

const batchWriter = new Writer(1 << 20);

/** Many messages in one buffer: one socket write per batch of flow mods. */
export function encodeMessages(msgs: readonly OFMessage[]): Buffer {
  batchWriter.reset();
  try {
    for (const m of msgs) encodeInto(batchWriter, m);
    // toBuffer copies: the writer is reused by the next batch while the socket may still hold this one.
    return batchWriter.toBuffer();
  } finally {
    batchWriter.reset();
  }
}

export function decodeMessage(buf: Buffer): OFMessage {
  return decode(buf);
}
