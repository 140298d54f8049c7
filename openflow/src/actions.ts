// Actions (spec 7.2.5) and instructions (spec 7.2.4), plus the Nicira actions an ARP responder
// needs (NXAST_REG_MOVE, NXAST_RESUBMIT[_TABLE]). Any other experimenter action or instruction,
// and any Nicira action whose shape we do not recognise, is kept raw and re-encoded byte for byte.
import { maxLenName, maxLenValue, NX_VENDOR_ID, port16Name, port16Value, portName, portValue } from './consts.js';
import { ERR, OFEncodeError } from './errors.js';
import { cursor, encodeOxm, fieldNameByHeader, oxmDefByHeader, oxmHeader, OXM_BY_NAME, OFPXMC_EXPERIMENTER, readOxm } from './oxm.js';
import { copyBytes, fail, need, u16, u32, u64 } from './reader.js';
import type { Writer } from './writer.js';
import type { Action, FieldRef, Instruction, OxmKnown } from './types.js';

export const ACTION_TYPES = {
  OUTPUT: 0, COPY_TTL_OUT: 11, COPY_TTL_IN: 12, SET_MPLS_TTL: 15, DEC_MPLS_TTL: 16, PUSH_VLAN: 17, POP_VLAN: 18,
  PUSH_MPLS: 19, POP_MPLS: 20, SET_QUEUE: 21, GROUP: 22, SET_NW_TTL: 23, DEC_NW_TTL: 24, SET_FIELD: 25,
  PUSH_PBB: 26, POP_PBB: 27, EXPERIMENTER: 0xffff,
} as const;
export const ACTION_TYPE_NAMES = new Map<number, string>(Object.entries(ACTION_TYPES).map(([k, v]) => [v, k]));
export const INSTRUCTION_TYPES = {
  GOTO_TABLE: 1, WRITE_METADATA: 2, WRITE_ACTIONS: 3, APPLY_ACTIONS: 4, CLEAR_ACTIONS: 5, METER: 6, EXPERIMENTER: 0xffff,
} as const;
export const INSTRUCTION_TYPE_NAMES = new Map<number, string>(Object.entries(INSTRUCTION_TYPES).map(([k, v]) => [v, k]));

const NXAST_RESUBMIT = 1;
const NXAST_REG_MOVE = 6;
const NXAST_RESUBMIT_TABLE = 14;

function badLen(off: number, what: string, len: number): never {
  return fail('OF_BAD_ACTION_LEN', off, `${what} action has length ${len}`, ERR.BAD_ACTION_BAD_LEN);
}

function decodeFieldRef(h: number): FieldRef {
  const oxmClass = h >>> 16;
  const oxmField = (h >>> 9) & 0x7f;
  const hasMask = ((h >>> 8) & 1) === 1;
  const length = h & 0xff;
  const def = oxmDefByHeader(oxmClass, oxmField);
  if (def !== undefined && !hasMask && length === def.len) return def.name;
  if (hasMask) return { oxmClass, oxmField, length, hasMask };
  // A legacy NXM spelling of a field we know: named, and the header kept so it re-encodes as it came.
  const name = fieldNameByHeader(oxmClass, oxmField, length);
  return name !== undefined ? { name, oxmClass, oxmField, length } : { oxmClass, oxmField, length };
}

/** NXM/OXM header of each nameable field (Open vSwitch writes OXM headers for basic fields in 1.3). */
const FIELD_HEADERS = new Map<string, number>();
for (const def of OXM_BY_NAME.values()) if (def.oxmClass !== OFPXMC_EXPERIMENTER) FIELD_HEADERS.set(def.name, oxmHeader(def));

function fieldRefHeader(r: FieldRef): number {
  if (typeof r === 'string') {
    const h = FIELD_HEADERS.get(r);
    if (h === undefined) throw new OFEncodeError('OF_BAD_VALUE', `field ${r} cannot be named in a Nicira move`);
    return h;
  }
  return ((r.oxmClass << 16) | (r.oxmField << 9) | (r.hasMask ? 0x100 : 0) | (r.length & 0xff)) >>> 0;
}

/** Decodes one action at off within [off, end); the offset after it is left in cursor.next. */
export function readAction(b: Buffer, off: number, end: number): Action {
  need(end, off, 8, 'action header', 'OF_BAD_ACTION_LEN', ERR.BAD_ACTION_BAD_LEN);
  const type = u16(b, off);
  const len = u16(b, off + 2);
  // Spec 7.2.5: every action is a multiple of 8 bytes long, at least the 8-byte header.
  if (len < 8 || (len & 7) !== 0) badLen(off, `type ${type}`, len);
  const next = off + len;
  if (next > end) fail('OF_BAD_ACTION_LEN', off, `action length ${len} overruns its list`, ERR.BAD_ACTION_BAD_LEN);
  switch (type) {
    case 0:
      if (len !== 16) badLen(off, 'OUTPUT', len);
      return done(next, { type: 'OUTPUT', port: portName(u32(b, off + 4)), maxLen: maxLenName(u16(b, off + 8)) });
    case 11: case 12: case 16: case 18: case 24: case 27:
      if (len !== 8) badLen(off, ACTION_TYPE_NAMES.get(type)!, len);
      return done(next, { type: ACTION_TYPE_NAMES.get(type) } as Action);
    case 15:
      if (len !== 8) badLen(off, 'SET_MPLS_TTL', len);
      return done(next, { type: 'SET_MPLS_TTL', mplsTtl: b[off + 4]! });
    case 23:
      if (len !== 8) badLen(off, 'SET_NW_TTL', len);
      return done(next, { type: 'SET_NW_TTL', nwTtl: b[off + 4]! });
    case 17: case 19: case 20: case 26:
      if (len !== 8) badLen(off, ACTION_TYPE_NAMES.get(type)!, len);
      return done(next, { type: ACTION_TYPE_NAMES.get(type), ethertype: u16(b, off + 4) } as Action);
    case 21:
      if (len !== 8) badLen(off, 'SET_QUEUE', len);
      return done(next, { type: 'SET_QUEUE', queueId: u32(b, off + 4) });
    case 22:
      if (len !== 8) badLen(off, 'GROUP', len);
      return done(next, { type: 'GROUP', groupId: u32(b, off + 4) });
    case 25: {
      // Spec 7.2.5: ofp_action_set_field = header, one OXM, zero pad to a multiple of 8.
      const oxm = readOxm(b, off + 4, next);
      const oend = cursor.next;
      // A field we do not know (pkt_mark, ct_mark, reg8+, experimenter OXMs) stays raw (OxmRaw) and
      // re-encodes byte for byte, so a foreign flow can still be read, compared and deleted.
      if (((oend - off + 7) & ~7) !== len) fail('OF_BAD_ACTION_LEN', off, `SET_FIELD length ${len} does not fit its OXM`, ERR.BAD_ACTION_BAD_SET_LEN);
      return done(next, { type: 'SET_FIELD', field: oxm });
    }
    case 0xffff:
      return done(next, decodeExperimenterAction(b, off, len));
    default:
      return fail('OF_BAD_ACTION_TYPE', off, `unknown action type ${type}`, ERR.BAD_ACTION_BAD_TYPE);
  }
}

function decodeExperimenterAction(b: Buffer, off: number, len: number): Action {
  const experimenter = u32(b, off + 4);
  if (experimenter === NX_VENDOR_ID && len >= 16) {
    const subtype = u16(b, off + 8);
    if ((subtype === NXAST_RESUBMIT || subtype === NXAST_RESUBMIT_TABLE) && len === 16) {
      const port = port16Name(u16(b, off + 10));
      return subtype === NXAST_RESUBMIT ? { type: 'NX_RESUBMIT', port } : { type: 'NX_RESUBMIT', port, table: b[off + 12]! };
    }
    if (subtype === NXAST_REG_MOVE && len === 24) {
      return {
        type: 'NX_REG_MOVE', nBits: u16(b, off + 10), srcOfs: u16(b, off + 12), dstOfs: u16(b, off + 14),
        src: decodeFieldRef(u32(b, off + 16)), dst: decodeFieldRef(u32(b, off + 20)),
      };
    }
  }
  return { type: 'EXPERIMENTER', experimenter, data: copyBytes(b, off + 8, off + len) };
}

/** decodeAction for callers that want the end offset back: [action, offset after it]. */
export function decodeAction(b: Buffer, off: number, end: number): [Action, number] {
  const a = readAction(b, off, end);
  return [a, cursor.next];
}

export function decodeActions(b: Buffer, off: number, end: number): Action[] {
  const out: Action[] = [];
  let p = off;
  while (p < end) {
    out.push(readAction(b, p, end));
    p = cursor.next;
  }
  return out;
}

/** Records where the TLV just decoded ends and passes its value through. */
function done<T>(next: number, v: T): T {
  cursor.next = next;
  return v;
}

function header8(w: Writer, type: number): void {
  w.u32((type << 16) | 8);
  w.u32(0);
}

export function encodeAction(w: Writer, a: Action): void {
  // Hot path (thousands of FLOW_MODs per bundle): the common actions come first, and each fixed
  // header is one 32-bit write of type << 16 | length.
  switch (a.type) {
    case 'OUTPUT': {
      const port = portValue(a.port);
      w.u32(16);
      w.u32(port);
      // OFPCML_NO_BUFFER for the controller (whole packet), 0 elsewhere: what ovs-ofctl writes.
      w.u16(a.maxLen === undefined ? (port === 0xfffffffd ? 0xffff : 0) : maxLenValue(a.maxLen));
      w.zeros(6);
      return;
    }
    case 'SET_FIELD': {
      const start = w.pos;
      w.u32(0x00190000);
      encodeOxm(w, a.field);
      w.pad8(start);
      w.patchLength16(start + 2, start, 'SET_FIELD action');
      return;
    }
    case 'NX_REG_MOVE':
      w.u32(0xffff0018);
      w.u32(NX_VENDOR_ID);
      w.u16(NXAST_REG_MOVE);
      w.u16(a.nBits);
      w.u16(a.srcOfs);
      w.u16(a.dstOfs);
      w.u32(fieldRefHeader(a.src));
      w.u32(fieldRefHeader(a.dst));
      return;
    case 'NX_RESUBMIT':
      w.u32(0xffff0010);
      w.u32(NX_VENDOR_ID);
      w.u16(a.table === undefined ? NXAST_RESUBMIT : NXAST_RESUBMIT_TABLE);
      w.u16(port16Value(a.port));
      w.u8(a.table ?? 0);
      w.zeros(3);
      return;
    case 'GROUP': w.u32(0x00160008); w.u32(a.groupId); return;
    case 'COPY_TTL_OUT': header8(w, 11); return;
    case 'COPY_TTL_IN': header8(w, 12); return;
    case 'DEC_MPLS_TTL': header8(w, 16); return;
    case 'POP_VLAN': header8(w, 18); return;
    case 'DEC_NW_TTL': header8(w, 24); return;
    case 'POP_PBB': header8(w, 27); return;
    case 'SET_MPLS_TTL': w.u32(0x000f0008); w.u8(a.mplsTtl); w.zeros(3); return;
    case 'SET_NW_TTL': w.u32(0x00170008); w.u8(a.nwTtl); w.zeros(3); return;
    case 'PUSH_VLAN': w.u32(0x00110008); w.u16(a.ethertype); w.u16(0); return;
    case 'PUSH_MPLS': w.u32(0x00130008); w.u16(a.ethertype); w.u16(0); return;
    case 'POP_MPLS': w.u32(0x00140008); w.u16(a.ethertype); w.u16(0); return;
    case 'PUSH_PBB': w.u32(0x001a0008); w.u16(a.ethertype); w.u16(0); return;
    case 'SET_QUEUE': w.u32(0x00150008); w.u32(a.queueId); return;
    case 'EXPERIMENTER': {
      const start = w.pos;
      w.u32(0xffff0000);
      w.u32(a.experimenter);
      w.bytes(a.data);
      w.pad8(start);
      w.patchLength16(start + 2, start, 'experimenter action');
      return;
    }
    default:
      throw new OFEncodeError('OF_BAD_VALUE', `unknown action type ${String((a as { type: unknown }).type)}`);
  }
}

export function encodeActions(w: Writer, actions: readonly Action[]): void {
  for (let i = 0; i < actions.length; i++) encodeAction(w, actions[i]!);
}

function instExact(len: number, n: number, off: number, what: string): void {
  if (len !== n) fail('OF_BAD_INSTRUCTION_LEN', off, `${what} instruction has length ${len}, expected ${n}`, ERR.BAD_INSTRUCTION_BAD_LEN);
}

/** Decodes one instruction at off within [off, end); the offset after it is left in cursor.next. */
export function readInstruction(b: Buffer, off: number, end: number): Instruction {
  need(end, off, 8, 'instruction header', 'OF_BAD_INSTRUCTION_LEN', ERR.BAD_INSTRUCTION_BAD_LEN);
  const type = u16(b, off);
  const len = u16(b, off + 2);
  if (len < 8 || (len & 7) !== 0) fail('OF_BAD_INSTRUCTION_LEN', off, `instruction length ${len}`, ERR.BAD_INSTRUCTION_BAD_LEN);
  const next = off + len;
  if (next > end) fail('OF_BAD_INSTRUCTION_LEN', off, `instruction length ${len} overruns its list`, ERR.BAD_INSTRUCTION_BAD_LEN);
  switch (type) {
    case 1: instExact(len, 8, off, 'GOTO_TABLE'); return done(next, { type: 'GOTO_TABLE', tableId: b[off + 4]! });
    case 2:
      instExact(len, 24, off, 'WRITE_METADATA');
      return done(next, { type: 'WRITE_METADATA', metadata: u64(b, off + 8), metadataMask: u64(b, off + 16) });
    case 3: return done(next, { type: 'WRITE_ACTIONS', actions: decodeActions(b, off + 8, next) });
    case 4: return done(next, { type: 'APPLY_ACTIONS', actions: decodeActions(b, off + 8, next) });
    case 5: instExact(len, 8, off, 'CLEAR_ACTIONS'); return done(next, { type: 'CLEAR_ACTIONS' });
    case 6: instExact(len, 8, off, 'METER'); return done(next, { type: 'METER', meterId: u32(b, off + 4) });
    case 0xffff: return done(next, { type: 'EXPERIMENTER', experimenter: u32(b, off + 4), data: copyBytes(b, off + 8, next) });
    default:
      return fail('OF_BAD_INSTRUCTION_TYPE', off, `unknown instruction type ${type}`, ERR.BAD_INSTRUCTION_UNKNOWN_INST);
  }
}

/** decodeInstruction for callers that want the end offset back: [instruction, offset after it]. */
export function decodeInstruction(b: Buffer, off: number, end: number): [Instruction, number] {
  const i = readInstruction(b, off, end);
  return [i, cursor.next];
}

export function decodeInstructions(b: Buffer, off: number, end: number): Instruction[] {
  const out: Instruction[] = [];
  let p = off;
  while (p < end) {
    out.push(readInstruction(b, p, end));
    p = cursor.next;
  }
  return out;
}

export function encodeInstruction(w: Writer, ins: Instruction): void {
  switch (ins.type) {
    case 'GOTO_TABLE': w.u16(1); w.u16(8); w.u8(ins.tableId); w.zeros(3); return;
    case 'WRITE_METADATA': w.u16(2); w.u16(24); w.u32(0); w.u64(ins.metadata); w.u64(ins.metadataMask); return;
    case 'WRITE_ACTIONS':
    case 'APPLY_ACTIONS': {
      const start = w.pos;
      w.u16(ins.type === 'WRITE_ACTIONS' ? 3 : 4);
      w.u16(0);
      w.u32(0);
      encodeActions(w, ins.actions);
      w.patchLength16(start + 2, start, `${ins.type} instruction`);
      return;
    }
    case 'CLEAR_ACTIONS': w.u16(5); w.u16(8); w.u32(0); return;
    case 'METER': w.u16(6); w.u16(8); w.u32(ins.meterId); return;
    case 'EXPERIMENTER': {
      const start = w.pos;
      w.u16(0xffff);
      w.u16(0);
      w.u32(ins.experimenter);
      w.bytes(ins.data);
      w.pad8(start);
      w.patchLength16(start + 2, start, 'experimenter instruction');
      return;
    }
    default:
      throw new OFEncodeError('OF_BAD_VALUE', `unknown instruction type ${String((ins as { type: unknown }).type)}`);
  }
}

export function encodeInstructions(w: Writer, list: readonly Instruction[]): void {
  for (let i = 0; i < list.length; i++) encodeInstruction(w, list[i]!);
}

/** Type guard for a SET_FIELD's field, for callers building actions from untyped input. */
export function isKnownOxm(o: { field: string }): o is OxmKnown {
  return o.field !== 'raw' && OXM_BY_NAME.has(o.field as OxmKnown['field']);
}
