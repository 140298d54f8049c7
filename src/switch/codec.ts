// The codec entry points the session uses, in one place: encode/decode and the stream framer of
// node-openflow.
import { decode, encode, encodeInstruction, encodeInto, encodeMatch, OFFramer, ONF_VENDOR_ID, Writer } from 'node-openflow';
import type { FlowStats, Instruction, Match, OFMessage } from './oftypes.js';

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

/** The flow mod commands the reconciler sends. */
export type FlowModCommand = 'ADD' | 'MODIFY_STRICT' | 'DELETE_STRICT';

/** What a streamed flow mod is about; the other FLOW_MOD fields take the reconciler's constant values. */
export interface FlowModFields {
  tableId: number;
  priority: number;
  match: Match;
  instructions: readonly Instruction[];
  cookie: bigint;
}

const COMMAND_VALUE: Record<FlowModCommand, number> = { ADD: 0, MODIFY_STRICT: 2, DELETE_STRICT: 4 };
const OFPT_EXPERIMENTER = 4;
const OFPT_FLOW_MOD = 14;
const ONF_ET_BUNDLE_ADD_MESSAGE = 2301;
/** ATOMIC | ORDERED, the only bundle flags the session uses. */
const BUNDLE_ATOMIC_ORDERED = 3;

/**
 * The pipeline shares one instruction list between many flows (every endpoint behind one VTEP, every
 * drop), and flows are immutable once handed to the reconciler: the list's wire bytes are encoded once.
 */
const instructionBytes = new WeakMap<readonly Instruction[], Buffer>();
const instructionWriter = new Writer(1024);

function encodedInstructions(list: readonly Instruction[]): Buffer {
  let b = instructionBytes.get(list);
  if (b === undefined) {
    instructionWriter.reset();
    for (let i = 0; i < list.length; i++) encodeInstruction(instructionWriter, list[i]!);
    b = instructionWriter.toBuffer();
    instructionBytes.set(list, b);
  }
  return b;
}

/**
 * Appends one FLOW_MOD (cookie_mask 0, no timeouts, NO_BUFFER, out_port/out_group ANY, no flags), in
 * an ONF BUNDLE_ADD_MESSAGE with ATOMIC|ORDERED when `bundleId` is given, the inner xid equal to the
 * outer. The same bytes encodeInto() writes for the equivalent message objects (checked by
 * test/unit/switch-codec-flowmod.test.ts), without building them: streaming 100,000 flow mods then costs
 * no object per flow mod. DELETE_STRICT carries no instructions. Throws OFEncodeError on a bad value.
 */
export function encodeFlowModInto(w: Writer, xid: number, command: FlowModCommand, f: FlowModFields, bundleId?: number): void {
  const outer = w.pos;
  if (bundleId !== undefined) {
    w.u32(((4 << 24) | (OFPT_EXPERIMENTER << 16)) >>> 0);
    w.u32(xid);
    w.u32(ONF_VENDOR_ID);
    w.u32(ONF_ET_BUNDLE_ADD_MESSAGE);
    w.u32(bundleId);
    w.u16(0);
    w.u16(BUNDLE_ATOMIC_ORDERED);
  }
  const start = w.pos;
  w.u32(((4 << 24) | (OFPT_FLOW_MOD << 16)) >>> 0);
  w.u32(xid);
  w.u64(f.cookie);
  w.zeros(8); // cookie_mask
  w.u8(f.tableId);
  w.u8(COMMAND_VALUE[command]);
  w.zeros(4); // idle and hard timeout
  w.u16(f.priority);
  w.u32(0xffffffff); // buffer_id NO_BUFFER
  w.u32(0xffffffff); // out_port ANY
  w.u32(0xffffffff); // out_group ANY
  w.zeros(4); // flags, pad
  encodeMatch(w, f.match);
  if (command !== 'DELETE_STRICT') w.bytes(encodedInstructions(f.instructions));
  w.patchLength16(start + 2, start, 'FLOW_MOD');
  if (bundleId !== undefined) w.patchLength16(outer + 2, outer, 'BUNDLE_ADD_MESSAGE');
}

export function decodeMessage(buf: Buffer): OFMessage {
  return decode(buf);
}

/**
 * A flow entry of a FLOW stats reply whose instructions the codec cannot decode: what identifies it
 * (table, priority, match) and its cookie and counters were read, so the reconciler can still replace or
 * delete it by identity (DELETE_STRICT with that match). `instructions` is empty; never compare it.
 */
export interface UndecodableFlow {
  /** The codec's error for the entry. */
  error: string;
  /** The entry's instruction bytes as the switch sent them. */
  instructions: Uint8Array;
}

/** A flow as dumpFlows returns it: decoded, or with `undecodable` set (and no instructions). */
export type DumpedFlow = FlowStats & { undecodable?: UndecodableFlow };

const OFPT_MULTIPART_REPLY = 19;
const OFPMP_FLOW = 1;
/** ofp_multipart_reply header: ofp_header, type, flags, pad[4]. */
const MP_HEADER = 16;
/** ofp_flow_stats up to its match: length, table, pad, durations, priority, timeouts, flags, pad, cookie, counters. */
const FLOW_STATS_FIXED = 48;

function withLength(header: Buffer, parts: Buffer[]): Buffer {
  const b = Buffer.concat([header, ...parts]);
  b.writeUInt16BE(b.length, 2);
  return b;
}

/**
 * Decodes a FLOW stats reply entry by entry, for a reply decode() refused as a whole: one flow the
 * codec cannot read (an action type it does not know, say) must not hide every other flow on the
 * bridge. Each entry is decoded alone; one that fails is read again without its instructions and kept
 * as an UndecodableFlow. Returns undefined when the reply is not a FLOW reply or its entries cannot be
 * delimited (then nothing in it can be trusted); `lost` counts entries whose match cannot be read either.
 */
export function decodeFlowReplyPerEntry(frame: Buffer): { msg: OFMessage; undecodable: DumpedFlow[]; lost: { offset: number; error: string }[] } | undefined {
  if (frame.length < MP_HEADER || frame[0] !== 4 || frame[1] !== OFPT_MULTIPART_REPLY) return undefined;
  if (frame.readUInt16BE(2) !== frame.length || frame.readUInt16BE(8) !== OFPMP_FLOW) return undefined;
  const header = Buffer.from(frame.subarray(0, MP_HEADER));
  let empty: OFMessage;
  try {
    empty = decode(withLength(header, []));
  } catch {
    return undefined;
  }
  if (empty.type !== 'MULTIPART_REPLY' || empty.mpType !== 'FLOW') return undefined;
  // Delimit every entry first: a lying length anywhere means the boundaries are unknown.
  const entries: [number, number][] = [];
  for (let p = MP_HEADER; p < frame.length; ) {
    if (p + FLOW_STATS_FIXED + 8 > frame.length) return undefined;
    const len = frame.readUInt16BE(p);
    if (len < FLOW_STATS_FIXED + 8 || len % 8 !== 0 || p + len > frame.length) return undefined;
    entries.push([p, p + len]);
    p += len;
  }
  const body: DumpedFlow[] = [];
  const undecodable: DumpedFlow[] = [];
  const lost: { offset: number; error: string }[] = [];
  const one = (bytes: Buffer): FlowStats => {
    const m = decode(withLength(header, [bytes]));
    if (m.type !== 'MULTIPART_REPLY' || m.mpType !== 'FLOW' || m.body.length !== 1) throw new Error('not one flow entry');
    return m.body[0]!;
  };
  for (const [start, end] of entries) {
    const entry = Buffer.from(frame.subarray(start, end));
    try {
      body.push(one(entry));
      continue;
    } catch (err) {
      const error = (err as Error).message;
      // The same entry with its match and no instructions: identity, cookie and counters.
      const matchLen = entry.readUInt16BE(FLOW_STATS_FIXED + 2);
      const matchEnd = FLOW_STATS_FIXED + ((matchLen + 7) & ~7);
      try {
        if (matchLen < 4 || matchEnd > entry.length) throw new Error(`match length ${matchLen} does not fit the entry`);
        const head = Buffer.from(entry.subarray(0, matchEnd));
        head.writeUInt16BE(matchEnd, 0);
        const f: DumpedFlow = { ...one(head), instructions: [], undecodable: { error, instructions: new Uint8Array(entry.subarray(matchEnd)) } };
        body.push(f);
        undecodable.push(f);
      } catch (err2) {
        lost.push({ offset: start, error: `${error}; without instructions: ${(err2 as Error).message}` });
      }
    }
  }
  return { msg: { ...empty, body }, undecodable, lost };
}
