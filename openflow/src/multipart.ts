// Reassembly of multipart replies split with OFPMPF_REPLY_MORE (spec 7.3.5): the switch sends
// several MULTIPART_REPLY messages with the same xid, all but the last flagged REPLY_MORE; the
// bodies of array-valued types concatenate into one list.
import { encodeInto } from './encode.js';
import { ERR, OFDecodeError, OFEncodeError } from './errors.js';
import { Writer } from './writer.js';
import type { MultipartReplyMessage } from './messages.js';

interface Pending {
  mpType: MultipartReplyMessage['mpType'];
  parts: MultipartReplyMessage[];
  entries: number;
}

export interface MultipartAssemblerOptions {
  /** Most body entries held for one xid before giving up (bounds memory against a hostile peer). */
  maxEntries?: number;
}

export class MultipartAssembler {
  private readonly pending = new Map<number, Pending>();
  private readonly maxEntries: number;

  constructor(opts: MultipartAssemblerOptions = {}) {
    this.maxEntries = opts.maxEntries ?? 1_000_000;
  }

  /**
   * Feeds one reply. Returns the whole reply (flags cleared, bodies joined) when this part
   * completes it, or null while more parts are expected. Throws OFDecodeError when parts of one
   * xid disagree on mpType, a non-list type is split, or the entry limit is exceeded.
   */
  push(msg: MultipartReplyMessage): MultipartReplyMessage | null {
    const more = msg.flags.includes('REPLY_MORE');
    const prev = this.pending.get(msg.xid);
    if (!prev && !more) return msg;
    if (prev && prev.mpType !== msg.mpType) {
      this.pending.delete(msg.xid);
      throw new OFDecodeError('OF_BAD_MULTIPART', 0, `xid ${msg.xid}: ${msg.mpType} reply inside a pending ${prev.mpType} reply`, ERR.BAD_REQUEST_BAD_MULTIPART);
    }
    const isList = Array.isArray(msg.body) || msg.mpType === 'EXPERIMENTER';
    if (!isList) {
      this.pending.delete(msg.xid);
      throw new OFDecodeError('OF_BAD_MULTIPART', 0, `xid ${msg.xid}: ${msg.mpType} reply cannot be split with REPLY_MORE`, ERR.BAD_REQUEST_BAD_MULTIPART);
    }
    const p = prev ?? { mpType: msg.mpType, parts: [], entries: 0 };
    p.parts.push(msg);
    p.entries += Array.isArray(msg.body) ? msg.body.length : 1;
    if (p.entries > this.maxEntries) {
      this.pending.delete(msg.xid);
      throw new OFDecodeError('OF_BAD_MULTIPART', 0, `xid ${msg.xid}: more than ${this.maxEntries} entries`, ERR.BAD_REQUEST_BAD_MULTIPART);
    }
    if (more) {
      this.pending.set(msg.xid, p);
      return null;
    }
    this.pending.delete(msg.xid);
    return join(p.parts);
  }

  /** xids with a reply in progress. */
  get pendingXids(): number[] {
    return [...this.pending.keys()];
  }

  /** Forgets a pending reply (e.g. the request timed out). */
  discard(xid: number): void {
    this.pending.delete(xid);
  }
}

function join(parts: MultipartReplyMessage[]): MultipartReplyMessage {
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (first.mpType === 'EXPERIMENTER') {
    const datas = parts.map((m) => (m.body as { data: Uint8Array }).data);
    return { ...first, flags: [], body: { ...first.body, data: Buffer.concat(datas) } };
  }
  const body: unknown[] = [];
  for (const m of parts) for (const e of m.body as unknown[]) body.push(e);
  return { ...last, flags: [], body } as MultipartReplyMessage;
}

/**
 * The inverse of MultipartAssembler, for switch-side code and tests: splits a reply whose list
 * body would not fit one message into parts of at most maxLength bytes, all but the last flagged
 * REPLY_MORE. A reply that fits (or has no list body) comes back as the only element.
 */
export function splitMultipartReply(msg: MultipartReplyMessage, maxLength = 0xffff): MultipartReplyMessage[] {
  if (!Array.isArray(msg.body)) return [msg];
  const w = new Writer(1 << 16);
  const size = (body: unknown[]): number => {
    w.reset();
    encodeInto(w, { ...msg, flags: [], body } as MultipartReplyMessage);
    return w.pos;
  };
  const empty = size([]);
  const parts: unknown[][] = [];
  let cur: unknown[] = [];
  let curLen = empty;
  for (const entry of msg.body as unknown[]) {
    const len = size([entry]) - empty;
    if (empty + len > maxLength) throw new OFEncodeError('OF_TOO_LONG', `one ${msg.mpType} entry of ${len} bytes does not fit a ${maxLength}-byte message`);
    if (curLen + len > maxLength && cur.length > 0) {
      parts.push(cur);
      cur = [];
      curLen = empty;
    }
    cur.push(entry);
    curLen += len;
  }
  parts.push(cur);
  return parts.map((body, i) => ({
    ...msg, flags: i < parts.length - 1 ? ['REPLY_MORE'] : [], body,
  }) as MultipartReplyMessage);
}
