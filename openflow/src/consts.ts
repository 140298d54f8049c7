// Numeric constants of OpenFlow 1.3.5 and their names, both directions.
import { OFEncodeError } from './errors.js';
import type { BufferId, GroupId, PortNo, ReservedPortName, TableId } from './types.js';

/** A name<->number table for one enum. */
export class EnumMap<N extends string> {
  readonly byName: ReadonlyMap<N, number>;
  readonly byValue: ReadonlyMap<number, N>;
  constructor(readonly what: string, entries: Record<N, number>) {
    const byName = new Map<N, number>();
    const byValue = new Map<number, N>();
    for (const [k, v] of Object.entries(entries) as [N, number][]) {
      byName.set(k, v);
      byValue.set(v, k);
    }
    this.byName = byName;
    this.byValue = byValue;
  }
  /** Name for a wire value, or the number itself when the spec gives none. */
  name(v: number): N | number {
    return this.byValue.get(v) ?? v;
  }
  value(n: N | number): number {
    if (typeof n === 'number') return n;
    const v = this.byName.get(n);
    if (v === undefined) throw new OFEncodeError('OF_BAD_VALUE', `unknown ${this.what} ${String(n)}`);
    return v;
  }
}

/** Bit flags <-> list of names (unknown bits dropped on decode, as no name exists for them). */
export class FlagMap<N extends string> {
  private readonly list: [N, number][];
  private readonly bits: Map<N, number>;
  constructor(readonly what: string, entries: Record<N, number>) {
    this.list = Object.entries(entries) as [N, number][];
    this.bits = new Map(this.list);
  }
  decode(bits: number): N[] {
    const out: N[] = [];
    if (bits === 0) return out;
    for (const [n, b] of this.list) if ((bits & b) !== 0) out.push(n);
    return out;
  }
  encode(names: readonly N[] | number): number {
    if (typeof names === 'number') return names;
    let bits = 0;
    for (let i = 0; i < names.length; i++) {
      const b = this.bits.get(names[i]!);
      if (b === undefined) throw new OFEncodeError('OF_BAD_VALUE', `unknown ${this.what} flag ${String(names[i])}`);
      bits |= b;
    }
    return bits >>> 0;
  }
}

/** ofp_type, spec 7.1. */
export const MSG_TYPES = {
  HELLO: 0, ERROR: 1, ECHO_REQUEST: 2, ECHO_REPLY: 3, EXPERIMENTER: 4, FEATURES_REQUEST: 5, FEATURES_REPLY: 6,
  GET_CONFIG_REQUEST: 7, GET_CONFIG_REPLY: 8, SET_CONFIG: 9, PACKET_IN: 10, FLOW_REMOVED: 11, PORT_STATUS: 12,
  PACKET_OUT: 13, FLOW_MOD: 14, GROUP_MOD: 15, PORT_MOD: 16, TABLE_MOD: 17, MULTIPART_REQUEST: 18,
  MULTIPART_REPLY: 19, BARRIER_REQUEST: 20, BARRIER_REPLY: 21, QUEUE_GET_CONFIG_REQUEST: 22,
  QUEUE_GET_CONFIG_REPLY: 23, ROLE_REQUEST: 24, ROLE_REPLY: 25, GET_ASYNC_REQUEST: 26, GET_ASYNC_REPLY: 27,
  SET_ASYNC: 28, METER_MOD: 29,
} as const;
export type MsgTypeName = keyof typeof MSG_TYPES;
export const MSG_TYPE_NAMES: (MsgTypeName | undefined)[] = [];
for (const [k, v] of Object.entries(MSG_TYPES)) MSG_TYPE_NAMES[v] = k as MsgTypeName;

/** enum ofp_port_no, spec 7.2.1. */
export const PORTS: Record<ReservedPortName, number> = {
  MAX: 0xffffff00, IN_PORT: 0xfffffff8, TABLE: 0xfffffff9, NORMAL: 0xfffffffa, FLOOD: 0xfffffffb,
  ALL: 0xfffffffc, CONTROLLER: 0xfffffffd, LOCAL: 0xfffffffe, ANY: 0xffffffff,
};
const PORT_NAMES = new Map<number, ReservedPortName>(Object.entries(PORTS).map(([k, v]) => [v, k as ReservedPortName]));

export function portName(v: number): PortNo {
  return v >= 0xffffff00 ? (PORT_NAMES.get(v) ?? v) : v;
}
export function portValue(p: PortNo): number {
  if (typeof p === 'number') return p;
  const v = PORTS[p];
  if (v === undefined) throw new OFEncodeError('OF_BAD_VALUE', `unknown port name ${String(p)}`);
  return v;
}

/** OpenFlow 1.0 16-bit port numbers, used by Nicira actions (NXAST_RESUBMIT in_port). */
export function port16Name(v: number): PortNo {
  if (v >= 0xff00) {
    const n = PORT_NAMES.get((v | 0xffff0000) >>> 0);
    if (n !== undefined) return n;
  }
  return v;
}
export function port16Value(p: PortNo): number {
  if (typeof p === 'number') {
    if (p >= 0xffffff00 && p <= 0xffffffff) return (p - 0xffffff00 + 0xff00) & 0xffff;
    if (!(p >= 0 && p <= 0xffff)) throw new OFEncodeError('OF_BAD_VALUE', `port ${p} does not fit a 16-bit Nicira port field`);
    return p;
  }
  return (portValue(p) - 0xffffff00 + 0xff00) & 0xffff;
}

export const OFP_NO_BUFFER = 0xffffffff;
export function bufferIdName(v: number): BufferId {
  return v === OFP_NO_BUFFER ? 'NO_BUFFER' : v;
}
export function bufferIdValue(b: BufferId): number {
  return b === 'NO_BUFFER' ? OFP_NO_BUFFER : b;
}
export function tableIdName(v: number): TableId {
  return v === 0xff ? 'ALL' : v;
}
export function tableIdValue(t: TableId): number {
  return t === 'ALL' ? 0xff : t;
}
/** enum ofp_group, spec 7.3.4.2. */
export function groupIdName(v: number): GroupId {
  return v === 0xfffffffc ? 'ALL' : v === 0xffffffff ? 'ANY' : v;
}
export function groupIdValue(g: GroupId): number {
  return g === 'ALL' ? 0xfffffffc : g === 'ANY' ? 0xffffffff : g;
}
/** enum ofp_meter, spec 7.3.4.4. */
export type MeterId = number | 'SLOWPATH' | 'CONTROLLER' | 'ALL';
export function meterIdName(v: number): MeterId {
  return v === 0xfffffffd ? 'SLOWPATH' : v === 0xfffffffe ? 'CONTROLLER' : v === 0xffffffff ? 'ALL' : v;
}
export function meterIdValue(m: MeterId): number {
  return m === 'SLOWPATH' ? 0xfffffffd : m === 'CONTROLLER' ? 0xfffffffe : m === 'ALL' ? 0xffffffff : m;
}
/** ofp_controller_max_len: OFPCML_NO_BUFFER = 0xffff. */
export function maxLenName(v: number): number | 'NO_BUFFER' {
  return v === 0xffff ? 'NO_BUFFER' : v;
}
export function maxLenValue(v: number | 'NO_BUFFER'): number {
  return v === 'NO_BUFFER' ? 0xffff : v;
}
/** Queue ids: OFPQ_ALL = 0xffffffff. */
export type QueueId = number | 'ALL';
export function queueIdName(v: number): QueueId {
  return v === 0xffffffff ? 'ALL' : v;
}
export function queueIdValue(q: QueueId): number {
  return q === 'ALL' ? 0xffffffff : q;
}

export const FLOW_MOD_COMMANDS = new EnumMap('flow mod command', {
  ADD: 0, MODIFY: 1, MODIFY_STRICT: 2, DELETE: 3, DELETE_STRICT: 4,
});
export const FLOW_MOD_FLAGS = new FlagMap('flow mod', {
  SEND_FLOW_REM: 1, CHECK_OVERLAP: 2, RESET_COUNTS: 4, NO_PKT_COUNTS: 8, NO_BYT_COUNTS: 16,
});

export const CAPABILITIES = new FlagMap('capability', {
  FLOW_STATS: 1, TABLE_STATS: 2, PORT_STATS: 4, GROUP_STATS: 8, IP_REASM: 0x20, QUEUE_STATS: 0x40, PORT_BLOCKED: 0x100,
});
export type Capability = 'FLOW_STATS' | 'TABLE_STATS' | 'PORT_STATS' | 'GROUP_STATS' | 'IP_REASM' | 'QUEUE_STATS' | 'PORT_BLOCKED';

export const PACKET_IN_REASONS = new EnumMap('packet-in reason', { NO_MATCH: 0, ACTION: 1, INVALID_TTL: 2 });
export type PacketInReason = 'NO_MATCH' | 'ACTION' | 'INVALID_TTL';
export const FLOW_REMOVED_REASONS = new EnumMap('flow-removed reason', {
  IDLE_TIMEOUT: 0, HARD_TIMEOUT: 1, DELETE: 2, GROUP_DELETE: 3, METER_DELETE: 4, EVICTION: 5,
});
export type FlowRemovedReason = 'IDLE_TIMEOUT' | 'HARD_TIMEOUT' | 'DELETE' | 'GROUP_DELETE' | 'METER_DELETE' | 'EVICTION';
export const PORT_REASONS = new EnumMap('port status reason', { ADD: 0, DELETE: 1, MODIFY: 2 });
export type PortReason = 'ADD' | 'DELETE' | 'MODIFY';
export const ROLES = new EnumMap('controller role', { NOCHANGE: 0, EQUAL: 1, MASTER: 2, SLAVE: 3 });
export type ControllerRole = 'NOCHANGE' | 'EQUAL' | 'MASTER' | 'SLAVE';

export const PORT_CONFIG = new FlagMap('port config', { PORT_DOWN: 1, NO_RECV: 4, NO_FWD: 0x20, NO_PACKET_IN: 0x40 });
export type PortConfigFlag = 'PORT_DOWN' | 'NO_RECV' | 'NO_FWD' | 'NO_PACKET_IN';
export const PORT_STATE = new FlagMap('port state', { LINK_DOWN: 1, BLOCKED: 2, LIVE: 4 });
export type PortStateFlag = 'LINK_DOWN' | 'BLOCKED' | 'LIVE';
export const PORT_FEATURES = new FlagMap('port feature', {
  '10MB_HD': 1, '10MB_FD': 2, '100MB_HD': 4, '100MB_FD': 8, '1GB_HD': 0x10, '1GB_FD': 0x20, '10GB_FD': 0x40,
  '40GB_FD': 0x80, '100GB_FD': 0x100, '1TB_FD': 0x200, OTHER: 0x400, COPPER: 0x800, FIBER: 0x1000,
  AUTONEG: 0x2000, PAUSE: 0x4000, PAUSE_ASYM: 0x8000,
});
export type PortFeature = '10MB_HD' | '10MB_FD' | '100MB_HD' | '100MB_FD' | '1GB_HD' | '1GB_FD' | '10GB_FD' | '40GB_FD' |
  '100GB_FD' | '1TB_FD' | 'OTHER' | 'COPPER' | 'FIBER' | 'AUTONEG' | 'PAUSE' | 'PAUSE_ASYM';

export const GROUP_MOD_COMMANDS = new EnumMap('group mod command', { ADD: 0, MODIFY: 1, DELETE: 2 });
export type GroupModCommand = 'ADD' | 'MODIFY' | 'DELETE';
export const GROUP_TYPES = new EnumMap('group type', { ALL: 0, SELECT: 1, INDIRECT: 2, FF: 3 });
export type GroupType = 'ALL' | 'SELECT' | 'INDIRECT' | 'FF';
export const METER_MOD_COMMANDS = new EnumMap('meter mod command', { ADD: 0, MODIFY: 1, DELETE: 2 });
export type MeterModCommand = 'ADD' | 'MODIFY' | 'DELETE';
export const METER_FLAGS = new FlagMap('meter', { KBPS: 1, PKTPS: 2, BURST: 4, STATS: 8 });
export type MeterFlag = 'KBPS' | 'PKTPS' | 'BURST' | 'STATS';

/** enum ofp_multipart_type, spec 7.3.5. */
export const MP_TYPES = {
  DESC: 0, FLOW: 1, AGGREGATE: 2, TABLE: 3, PORT_STATS: 4, QUEUE: 5, GROUP: 6, GROUP_DESC: 7, GROUP_FEATURES: 8,
  METER: 9, METER_CONFIG: 10, METER_FEATURES: 11, TABLE_FEATURES: 12, PORT_DESC: 13, EXPERIMENTER: 0xffff,
} as const;
export type MpTypeName = keyof typeof MP_TYPES;
export const MP_TYPE_NAMES = new Map<number, MpTypeName>(Object.entries(MP_TYPES).map(([k, v]) => [v, k as MpTypeName]));

/** ofp_error_type and the codes of each, spec 7.4.4. */
export const ERROR_TYPES = new EnumMap('error type', {
  HELLO_FAILED: 0, BAD_REQUEST: 1, BAD_ACTION: 2, BAD_INSTRUCTION: 3, BAD_MATCH: 4, FLOW_MOD_FAILED: 5,
  GROUP_MOD_FAILED: 6, PORT_MOD_FAILED: 7, TABLE_MOD_FAILED: 8, QUEUE_OP_FAILED: 9, SWITCH_CONFIG_FAILED: 10,
  ROLE_REQUEST_FAILED: 11, METER_MOD_FAILED: 12, TABLE_FEATURES_FAILED: 13, EXPERIMENTER: 0xffff,
});
export type ErrorTypeName = 'HELLO_FAILED' | 'BAD_REQUEST' | 'BAD_ACTION' | 'BAD_INSTRUCTION' | 'BAD_MATCH' |
  'FLOW_MOD_FAILED' | 'GROUP_MOD_FAILED' | 'PORT_MOD_FAILED' | 'TABLE_MOD_FAILED' | 'QUEUE_OP_FAILED' |
  'SWITCH_CONFIG_FAILED' | 'ROLE_REQUEST_FAILED' | 'METER_MOD_FAILED' | 'TABLE_FEATURES_FAILED' | 'EXPERIMENTER';

const codes = (names: string[]): Record<string, number> => Object.fromEntries(names.map((n, i) => [n, i]));
export const ERROR_CODES: Record<number, EnumMap<string>> = {
  0: new EnumMap('hello failed code', codes(['INCOMPATIBLE', 'EPERM'])),
  1: new EnumMap('bad request code', codes(['BAD_VERSION', 'BAD_TYPE', 'BAD_MULTIPART', 'BAD_EXPERIMENTER',
    'BAD_EXP_TYPE', 'EPERM', 'BAD_LEN', 'BUFFER_EMPTY', 'BUFFER_UNKNOWN', 'BAD_TABLE_ID', 'IS_SLAVE', 'BAD_PORT',
    'BAD_PACKET', 'MULTIPART_BUFFER_OVERFLOW'])),
  2: new EnumMap('bad action code', codes(['BAD_TYPE', 'BAD_LEN', 'BAD_EXPERIMENTER', 'BAD_EXP_TYPE', 'BAD_OUT_PORT',
    'BAD_ARGUMENT', 'EPERM', 'TOO_MANY', 'BAD_QUEUE', 'BAD_OUT_GROUP', 'MATCH_INCONSISTENT', 'UNSUPPORTED_ORDER',
    'BAD_TAG', 'BAD_SET_TYPE', 'BAD_SET_LEN', 'BAD_SET_ARGUMENT'])),
  3: new EnumMap('bad instruction code', codes(['UNKNOWN_INST', 'UNSUP_INST', 'BAD_TABLE_ID', 'UNSUP_METADATA',
    'UNSUP_METADATA_MASK', 'BAD_EXPERIMENTER', 'BAD_EXP_TYPE', 'BAD_LEN', 'EPERM', 'DUP_INST'])),
  4: new EnumMap('bad match code', codes(['BAD_TYPE', 'BAD_LEN', 'BAD_TAG', 'BAD_DL_ADDR_MASK', 'BAD_NW_ADDR_MASK',
    'BAD_WILDCARDS', 'BAD_FIELD', 'BAD_VALUE', 'BAD_MASK', 'BAD_PREREQ', 'DUP_FIELD', 'EPERM'])),
  5: new EnumMap('flow mod failed code', codes(['UNKNOWN', 'TABLE_FULL', 'BAD_TABLE_ID', 'OVERLAP', 'EPERM',
    'BAD_TIMEOUT', 'BAD_COMMAND', 'BAD_FLAGS'])),
  6: new EnumMap('group mod failed code', codes(['GROUP_EXISTS', 'INVALID_GROUP', 'WEIGHT_UNSUPPORTED',
    'OUT_OF_GROUPS', 'OUT_OF_BUCKETS', 'CHAINING_UNSUPPORTED', 'WATCH_UNSUPPORTED', 'LOOP', 'UNKNOWN_GROUP',
    'CHAINED_GROUP', 'BAD_TYPE', 'BAD_COMMAND', 'BAD_BUCKET', 'BAD_WATCH', 'EPERM'])),
  7: new EnumMap('port mod failed code', codes(['BAD_PORT', 'BAD_HW_ADDR', 'BAD_CONFIG', 'BAD_ADVERTISE', 'EPERM'])),
  8: new EnumMap('table mod failed code', codes(['BAD_TABLE', 'BAD_CONFIG', 'EPERM'])),
  9: new EnumMap('queue op failed code', codes(['BAD_PORT', 'BAD_QUEUE', 'EPERM'])),
  10: new EnumMap('switch config failed code', codes(['BAD_FLAGS', 'BAD_LEN', 'EPERM'])),
  11: new EnumMap('role request failed code', codes(['STALE', 'UNSUP', 'BAD_ROLE'])),
  12: new EnumMap('meter mod failed code', codes(['UNKNOWN', 'METER_EXISTS', 'INVALID_METER', 'UNKNOWN_METER',
    'BAD_COMMAND', 'BAD_FLAGS', 'BAD_RATE', 'BAD_BURST', 'BAD_BAND', 'BAD_BAND_VALUE', 'OUT_OF_METERS',
    'OUT_OF_BANDS'])),
  13: new EnumMap('table features failed code', codes(['BAD_TABLE', 'BAD_METADATA', 'BAD_TYPE', 'BAD_LEN',
    'BAD_ARGUMENT', 'EPERM'])),
};

/** Experimenter ids. */
export const NX_VENDOR_ID = 0x00002320; // Nicira
export const ONF_VENDOR_ID = 0x4f4e4600; // Open Networking Foundation ("ONF\0")
/** ONF bundle extension for OpenFlow 1.3 (EXT-230), as Open vSwitch implements it. */
export const ONF_ET_BUNDLE_CONTROL = 2300;
export const ONF_ET_BUNDLE_ADD_MESSAGE = 2301;
export const BUNDLE_CTRL_TYPES = new EnumMap('bundle control type', {
  OPEN_REQUEST: 0, OPEN_REPLY: 1, CLOSE_REQUEST: 2, CLOSE_REPLY: 3, COMMIT_REQUEST: 4, COMMIT_REPLY: 5,
  DISCARD_REQUEST: 6, DISCARD_REPLY: 7,
});
export type BundleCtrlType = 'OPEN_REQUEST' | 'OPEN_REPLY' | 'CLOSE_REQUEST' | 'CLOSE_REPLY' | 'COMMIT_REQUEST' |
  'COMMIT_REPLY' | 'DISCARD_REQUEST' | 'DISCARD_REPLY';
export const BUNDLE_FLAGS = new FlagMap('bundle', { ATOMIC: 1, ORDERED: 2 });
export type BundleFlag = 'ATOMIC' | 'ORDERED';
