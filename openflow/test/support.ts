// Test support: where the shared golden vectors live, a BigInt-aware JSON parser, and the
// mapping from Ryu's JSON names (the vectors' expected decodings) to node-openflow's message shape.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  encodeOxm, ONF_VENDOR_ID, Writer,
} from '../src/index.js';
import type { Action, Instruction, Match, OFMessage, Oxm, PortDesc, TableFeatureProp } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
/** /work/main (the repository root): openflow/test -> ../.. */
export const repoRoot = resolve(here, '../..');
/** Golden vectors: $BUMLESS_SHARED/testdata/of13, else ../shared/testdata/of13 next to the repo. */
export const testdataDir = process.env.BUMLESS_SHARED
  ? resolve(process.env.BUMLESS_SHARED, 'testdata/of13')
  : resolve(repoRoot, '../shared/testdata/of13');
if (!existsSync(testdataDir)) {
  throw new Error(`golden vectors not found at ${testdataDir}; set BUMLESS_SHARED to the shared folder (holding testdata/of13)`);
}

// ---------------------------------------------------------------------------------------------
// JSON with integers beyond 2^53 kept exact (as bigint); JSON.parse would round them.

export function parseJsonBig(text: string): unknown {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const value = (): unknown => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const o: Record<string, unknown> = {};
      ws();
      if (text[i] === '}') { i++; return o; }
      for (;;) {
        ws();
        const k = value() as string;
        ws();
        if (text[i++] !== ':') throw new SyntaxError(`expected : at ${i}`);
        o[k] = value();
        ws();
        const d = text[i++];
        if (d === '}') return o;
        if (d !== ',') throw new SyntaxError(`expected , or } at ${i}`);
      }
    }
    if (c === '[') {
      i++;
      const a: unknown[] = [];
      ws();
      if (text[i] === ']') { i++; return a; }
      for (;;) {
        a.push(value());
        ws();
        const d = text[i++];
        if (d === ']') return a;
        if (d !== ',') throw new SyntaxError(`expected , or ] at ${i}`);
      }
    }
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const s = JSON.parse(text.slice(i, j + 1)) as string;
      i = j + 1;
      return s;
    }
    const m = /^-?\d+(\.\d+)?([eE][-+]?\d+)?|^true|^false|^null/.exec(text.slice(i, i + 64));
    if (!m) throw new SyntaxError(`unexpected ${c} at ${i}`);
    i += m[0].length;
    if (m[0] === 'true') return true;
    if (m[0] === 'false') return false;
    if (m[0] === 'null') return null;
    if (m[1] === undefined && m[2] === undefined) {
      const n = Number(m[0]);
      return Number.isSafeInteger(n) ? n : BigInt(m[0]);
    }
    return Number(m[0]);
  };
  const v = value();
  ws();
  if (i !== text.length) throw new SyntaxError(`trailing data at ${i}`);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Ryu -> node-openflow. Ryu wraps every structure as {"ClassName": {fields}}, uses spec field
// names in snake_case, numbers for every enum, base64 for bytes. The names below are what the
// spec calls the values (OpenFlow 1.3.5 section 7), written out independently of the codec.

type J = Record<string, unknown>;

function unwrap(v: unknown): [string, J] {
  const o = v as Record<string, J>;
  const k = Object.keys(o)[0]!;
  return [k, o[k]!];
}
const big = (v: unknown): bigint => (typeof v === 'bigint' ? v : BigInt(v as number));
const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : (v as number));
const b64 = (v: unknown): Buffer => (Array.isArray(v) ? Buffer.from(v as number[]) : Buffer.from((v as string | undefined) ?? '', 'base64'));

const PORT_NAMES: Record<number, string> = {
  0xffffff00: 'MAX', 0xfffffff8: 'IN_PORT', 0xfffffff9: 'TABLE', 0xfffffffa: 'NORMAL', 0xfffffffb: 'FLOOD',
  0xfffffffc: 'ALL', 0xfffffffd: 'CONTROLLER', 0xfffffffe: 'LOCAL', 0xffffffff: 'ANY',
};
const port = (v: unknown): unknown => PORT_NAMES[num(v)] ?? num(v);
const bufferId = (v: unknown): unknown => (num(v) === 0xffffffff ? 'NO_BUFFER' : num(v));
const groupId = (v: unknown): unknown => (num(v) === 0xfffffffc ? 'ALL' : num(v) === 0xffffffff ? 'ANY' : num(v));
const tableId = (v: unknown): unknown => (num(v) === 0xff ? 'ALL' : num(v));
const meterId = (v: unknown): unknown => ({ 0xfffffffd: 'SLOWPATH', 0xfffffffe: 'CONTROLLER', 0xffffffff: 'ALL' } as Record<number, string>)[num(v)] ?? num(v);
const maxLen = (v: unknown): unknown => (num(v) === 0xffff ? 'NO_BUFFER' : num(v));
const flags = (v: unknown, names: Record<string, number>): string[] =>
  Object.entries(names).filter(([, bit]) => (num(v) & bit) !== 0).map(([n]) => n);
const enumName = (v: unknown, names: string[]): unknown => names[num(v)] ?? num(v);

const FLOW_MOD_FLAGS = { SEND_FLOW_REM: 1, CHECK_OVERLAP: 2, RESET_COUNTS: 4, NO_PKT_COUNTS: 8, NO_BYT_COUNTS: 16 };
const METER_FLAGS = { KBPS: 1, PKTPS: 2, BURST: 4, STATS: 8 };
const PORT_CONFIG = { PORT_DOWN: 1, NO_RECV: 4, NO_FWD: 0x20, NO_PACKET_IN: 0x40 };
const PORT_STATE = { LINK_DOWN: 1, BLOCKED: 2, LIVE: 4 };
const PORT_FEATURES = {
  '10MB_HD': 1, '10MB_FD': 2, '100MB_HD': 4, '100MB_FD': 8, '1GB_HD': 0x10, '1GB_FD': 0x20, '10GB_FD': 0x40,
  '40GB_FD': 0x80, '100GB_FD': 0x100, '1TB_FD': 0x200, OTHER: 0x400, COPPER: 0x800, FIBER: 0x1000,
  AUTONEG: 0x2000, PAUSE: 0x4000, PAUSE_ASYM: 0x8000,
};
const CAPABILITIES = { FLOW_STATS: 1, TABLE_STATS: 2, PORT_STATS: 4, GROUP_STATS: 8, IP_REASM: 0x20, QUEUE_STATS: 0x40, PORT_BLOCKED: 0x100 };
const FLOW_MOD_COMMANDS = ['ADD', 'MODIFY', 'MODIFY_STRICT', 'DELETE', 'DELETE_STRICT'];
const GROUP_TYPES = ['ALL', 'SELECT', 'INDIRECT', 'FF'];
const ERROR_TYPES = ['HELLO_FAILED', 'BAD_REQUEST', 'BAD_ACTION', 'BAD_INSTRUCTION', 'BAD_MATCH', 'FLOW_MOD_FAILED',
  'GROUP_MOD_FAILED', 'PORT_MOD_FAILED', 'TABLE_MOD_FAILED', 'QUEUE_OP_FAILED', 'SWITCH_CONFIG_FAILED',
  'ROLE_REQUEST_FAILED', 'METER_MOD_FAILED', 'TABLE_FEATURES_FAILED'];
/** Only the codes the vectors use. */
const ERROR_CODES: Record<string, string[]> = {
  BAD_ACTION: ['BAD_TYPE', 'BAD_LEN', 'BAD_EXPERIMENTER', 'BAD_EXP_TYPE', 'BAD_OUT_PORT', 'BAD_ARGUMENT', 'EPERM',
    'TOO_MANY', 'BAD_QUEUE', 'BAD_OUT_GROUP', 'MATCH_INCONSISTENT', 'UNSUPPORTED_ORDER', 'BAD_TAG', 'BAD_SET_TYPE',
    'BAD_SET_LEN', 'BAD_SET_ARGUMENT'],
};
const OXM_NAMES = ['in_port', 'in_phy_port', 'metadata', 'eth_dst', 'eth_src', 'eth_type', 'vlan_vid', 'vlan_pcp',
  'ip_dscp', 'ip_ecn', 'ip_proto', 'ipv4_src', 'ipv4_dst', 'tcp_src', 'tcp_dst', 'udp_src', 'udp_dst', 'sctp_src',
  'sctp_dst', 'icmpv4_type', 'icmpv4_code', 'arp_op', 'arp_spa', 'arp_tpa', 'arp_sha', 'arp_tha', 'ipv6_src',
  'ipv6_dst', 'ipv6_flabel', 'icmpv6_type', 'icmpv6_code', 'ipv6_nd_target', 'ipv6_nd_sll', 'ipv6_nd_tll',
  'mpls_label', 'mpls_tc', 'mpls_bos', 'pbb_isid', 'tunnel_id', 'ipv6_exthdr'];

export function ryuOxm(v: unknown): Oxm {
  const [, o] = unwrap(v);
  // Ryu names the Nicira tunnel fields after NXM_NX_TUN_IPV4_SRC/DST; ovs-ofctl says tun_src/tun_dst.
  const field = ({ tun_ipv4_src: 'tun_src', tun_ipv4_dst: 'tun_dst' } as Record<string, string>)[o.field as string] ?? (o.field as string);
  const conv = (x: unknown): unknown => {
    if (field === 'metadata' || field === 'tunnel_id') return big(x);
    if (field === 'in_port' || field === 'in_phy_port') return port(x);
    if (typeof x === 'string') return x;
    return num(x);
  };
  const out: Record<string, unknown> = { field, value: conv(o.value) };
  if (o.mask !== null && o.mask !== undefined) out.mask = conv(o.mask);
  return out as unknown as Oxm;
}

export function ryuMatch(v: unknown): Match {
  const [, m] = unwrap(v);
  return (m.oxm_fields as unknown[]).map(ryuOxm);
}

const SIMPLE_ACTIONS: Record<string, string> = {
  OFPActionCopyTtlOut: 'COPY_TTL_OUT', OFPActionCopyTtlIn: 'COPY_TTL_IN', OFPActionDecMplsTtl: 'DEC_MPLS_TTL',
  OFPActionPopVlan: 'POP_VLAN', OFPActionDecNwTtl: 'DEC_NW_TTL', OFPActionPopPbb: 'POP_PBB',
};
const ETHERTYPE_ACTIONS: Record<string, string> = {
  OFPActionPushVlan: 'PUSH_VLAN', OFPActionPushMpls: 'PUSH_MPLS', OFPActionPopMpls: 'POP_MPLS', OFPActionPushPbb: 'PUSH_PBB',
};

export function ryuAction(v: unknown): Action {
  const [cls, a] = unwrap(v);
  if (SIMPLE_ACTIONS[cls]) return { type: SIMPLE_ACTIONS[cls] } as Action;
  if (ETHERTYPE_ACTIONS[cls]) return { type: ETHERTYPE_ACTIONS[cls], ethertype: num(a.ethertype) } as Action;
  switch (cls) {
    case 'OFPActionOutput': return { type: 'OUTPUT', port: port(a.port), maxLen: maxLen(a.max_len) } as Action;
    case 'OFPActionSetMplsTtl': return { type: 'SET_MPLS_TTL', mplsTtl: num(a.mpls_ttl) };
    case 'OFPActionSetNwTtl': return { type: 'SET_NW_TTL', nwTtl: num(a.nw_ttl) };
    case 'OFPActionSetQueue': return { type: 'SET_QUEUE', queueId: num(a.queue_id) };
    case 'OFPActionGroup': return { type: 'GROUP', groupId: num(a.group_id) };
    case 'OFPActionSetField': return { type: 'SET_FIELD', field: ryuOxm(a.field) };
    case 'OFPActionExperimenterUnknown':
      return { type: 'EXPERIMENTER', experimenter: num(a.experimenter), data: b64(a.data) };
    case 'NXActionUnknown': {
      // Ryu splits the Nicira subtype off the data; on the wire it is the first two data bytes.
      const sub = Buffer.alloc(2);
      sub.writeUInt16BE(num(a.subtype));
      return { type: 'EXPERIMENTER', experimenter: num(a.experimenter), data: Buffer.concat([sub, b64(a.data)]) };
    }
  }
  throw new Error(`no mapping for Ryu action ${cls}`);
}

export function ryuInstruction(v: unknown): Instruction {
  const [cls, i] = unwrap(v);
  switch (cls) {
    case 'OFPInstructionActions':
      return { type: num(i.type) === 3 ? 'WRITE_ACTIONS' : num(i.type) === 4 ? 'APPLY_ACTIONS' : 'CLEAR_ACTIONS', actions: (i.actions as unknown[]).map(ryuAction) };
    case 'OFPInstructionGotoTable': return { type: 'GOTO_TABLE', tableId: num(i.table_id) };
    case 'OFPInstructionMeter': return { type: 'METER', meterId: num(i.meter_id) };
    case 'OFPInstructionWriteMetadata': return { type: 'WRITE_METADATA', metadata: big(i.metadata), metadataMask: big(i.metadata_mask) };
  }
  throw new Error(`no mapping for Ryu instruction ${cls}`);
}

function ryuPort(v: unknown): PortDesc {
  const [, p] = unwrap(v);
  return {
    portNo: port(p.port_no), hwAddr: p.hw_addr, name: p.name, config: flags(p.config, PORT_CONFIG),
    state: flags(p.state, PORT_STATE), curr: flags(p.curr, PORT_FEATURES), advertised: flags(p.advertised, PORT_FEATURES),
    supported: flags(p.supported, PORT_FEATURES), peer: flags(p.peer, PORT_FEATURES), currSpeed: num(p.curr_speed),
    maxSpeed: num(p.max_speed),
  } as PortDesc;
}

function ryuBucket(v: unknown): unknown {
  const [, b] = unwrap(v);
  return { weight: num(b.weight), watchPort: port(b.watch_port), watchGroup: groupId(b.watch_group), actions: (b.actions as unknown[]).map(ryuAction) };
}

function ryuBand(v: unknown): unknown {
  const [cls, b] = unwrap(v);
  const base = { rate: num(b.rate), burstSize: num(b.burst_size) };
  if (cls === 'OFPMeterBandDrop') return { type: 'DROP', ...base };
  if (cls === 'OFPMeterBandDscpRemark') return { type: 'DSCP_REMARK', ...base, precLevel: num(b.prec_level) };
  return { type: 'EXPERIMENTER', ...base, experimenter: num(b.experimenter), data: Buffer.alloc(0) };
}

const PROP_NAMES: Record<number, string> = {
  0: 'INSTRUCTIONS', 1: 'INSTRUCTIONS_MISS', 2: 'NEXT_TABLES', 3: 'NEXT_TABLES_MISS', 4: 'WRITE_ACTIONS',
  5: 'WRITE_ACTIONS_MISS', 6: 'APPLY_ACTIONS', 7: 'APPLY_ACTIONS_MISS', 8: 'MATCH', 10: 'WILDCARDS',
  12: 'WRITE_SETFIELD', 13: 'WRITE_SETFIELD_MISS', 14: 'APPLY_SETFIELD', 15: 'APPLY_SETFIELD_MISS',
  0xfffe: 'EXPERIMENTER', 0xffff: 'EXPERIMENTER_MISS',
};

function ryuTableFeatureProp(v: unknown): TableFeatureProp {
  const [cls, p] = unwrap(v);
  const type = PROP_NAMES[num(p.type)]!;
  switch (cls) {
    case 'OFPTableFeaturePropInstructions':
      return { type, ids: (p.instruction_ids as unknown[]).map((x) => ({ type: num(unwrap(x)[1].type) })) } as TableFeatureProp;
    case 'OFPTableFeaturePropActions':
      return { type, ids: (p.action_ids as unknown[]).map((x) => ({ type: num(unwrap(x)[1].type) })) } as TableFeatureProp;
    case 'OFPTableFeaturePropNextTables':
      return { type, tableIds: (p.table_ids as unknown[]).map(num) } as TableFeatureProp;
    case 'OFPTableFeaturePropOxm':
      return {
        type,
        oxmIds: (p.oxm_ids as unknown[]).map((x) => {
          const id = unwrap(x)[1];
          const f = OXM_NAMES.indexOf(id.type as string);
          return { oxmClass: 0x8000, oxmField: f, hasMask: num(id.hasmask) === 1, length: num(id.length), name: id.type };
        }),
      } as TableFeatureProp;
    case 'OFPTableFeaturePropExperimenter':
      // Ryu lists the experimenter data as 32-bit words.
      return {
        type, experimenter: num(p.experimenter), expType: num(p.exp_type),
        data: Buffer.concat((p.data as number[]).map((x) => { const b = Buffer.alloc(4); b.writeUInt32BE(x); return b; })),
      } as TableFeatureProp;
  }
  throw new Error(`no mapping for Ryu table feature property ${cls}`);
}

function ryuTableFeatures(v: unknown): unknown {
  const [, t] = unwrap(v);
  return {
    tableId: num(t.table_id), name: t.name, metadataMatch: big(t.metadata_match), metadataWrite: big(t.metadata_write),
    config: num(t.config), maxEntries: num(t.max_entries), properties: (t.properties as unknown[]).map(ryuTableFeatureProp),
  };
}

function flowStatsRequest(r: J): unknown {
  return {
    tableId: tableId(r.table_id), outPort: port(r.out_port), outGroup: groupId(r.out_group), cookie: big(r.cookie),
    cookieMask: big(r.cookie_mask), match: ryuMatch(r.match),
  };
}

/** ONF flow monitor requests (EXT-187), the body of vector 4-63, in wire form. */
function onfFlowMonitorRequests(list: unknown[]): Buffer {
  const w = new Writer();
  for (const x of list) {
    const r = unwrap(x)[1];
    const oxms = ryuMatch(r.match);
    const start = w.pos;
    w.u32(num(r.id));
    w.u16(num(r.flags));
    const lenAt = w.pos;
    w.u16(0);
    w.u32(num(r.out_port));
    w.u8(num(r.table_id));
    w.zeros(3);
    const ms = w.pos;
    for (const o of oxms) encodeOxm(w, o);
    w.patch16(lenAt, w.pos - ms);
    w.pad8(start);
  }
  return w.toBuffer();
}

const list = (v: unknown, f: (x: unknown) => unknown): unknown[] => (v as unknown[]).map(f);
const body = (v: unknown): J => unwrap(v)[1];

const MP: Record<string, [string, boolean]> = {
  OFPDescStatsRequest: ['DESC', true], OFPDescStatsReply: ['DESC', false],
  OFPFlowStatsRequest: ['FLOW', true], OFPFlowStatsReply: ['FLOW', false],
  OFPAggregateStatsRequest: ['AGGREGATE', true], OFPAggregateStatsReply: ['AGGREGATE', false],
  OFPTableStatsRequest: ['TABLE', true], OFPTableStatsReply: ['TABLE', false],
  OFPPortStatsRequest: ['PORT_STATS', true], OFPPortStatsReply: ['PORT_STATS', false],
  OFPQueueStatsRequest: ['QUEUE', true], OFPQueueStatsReply: ['QUEUE', false],
  OFPGroupStatsRequest: ['GROUP', true], OFPGroupStatsReply: ['GROUP', false],
  OFPGroupDescStatsRequest: ['GROUP_DESC', true], OFPGroupDescStatsReply: ['GROUP_DESC', false],
  OFPGroupFeaturesStatsRequest: ['GROUP_FEATURES', true], OFPGroupFeaturesStatsReply: ['GROUP_FEATURES', false],
  OFPMeterStatsRequest: ['METER', true], OFPMeterStatsReply: ['METER', false],
  OFPMeterConfigStatsRequest: ['METER_CONFIG', true], OFPMeterConfigStatsReply: ['METER_CONFIG', false],
  OFPMeterFeaturesStatsRequest: ['METER_FEATURES', true], OFPMeterFeaturesStatsReply: ['METER_FEATURES', false],
  OFPTableFeaturesStatsRequest: ['TABLE_FEATURES', true], OFPTableFeaturesStatsReply: ['TABLE_FEATURES', false],
  OFPPortDescStatsRequest: ['PORT_DESC', true], OFPPortDescStatsReply: ['PORT_DESC', false],
  OFPExperimenterStatsRequest: ['EXPERIMENTER', true], OFPExperimenterStatsReply: ['EXPERIMENTER', false],
  ONFFlowMonitorStatsRequest: ['EXPERIMENTER', true],
};

function multipartBody(cls: string, mpType: string, request: boolean, m: J): unknown {
  if (cls === 'ONFFlowMonitorStatsRequest') {
    return { experimenter: ONF_VENDOR_ID, expType: 1870, data: onfFlowMonitorRequests(m.body as unknown[]) };
  }
  if (mpType === 'EXPERIMENTER') {
    const e = request ? m : body(m.body);
    return { experimenter: num(e.experimenter), expType: num(e.exp_type), data: b64(e.data) };
  }
  if (request) {
    switch (mpType) {
      case 'FLOW': case 'AGGREGATE': return flowStatsRequest(m);
      case 'PORT_STATS': return { portNo: port(m.port_no) };
      case 'QUEUE': return { portNo: port(m.port_no), queueId: num(m.queue_id) === 0xffffffff ? 'ALL' : num(m.queue_id) };
      case 'GROUP': return { groupId: groupId(m.group_id) };
      case 'METER': case 'METER_CONFIG': return { meterId: meterId(m.meter_id) };
      case 'TABLE_FEATURES': return list(m.body, ryuTableFeatures);
      default: return undefined;
    }
  }
  switch (mpType) {
    case 'DESC': {
      const d = body(m.body);
      return { mfrDesc: d.mfr_desc, hwDesc: d.hw_desc, swDesc: d.sw_desc, serialNum: d.serial_num, dpDesc: d.dp_desc };
    }
    case 'FLOW':
      return list(m.body, (x) => {
        const f = body(x);
        return {
          tableId: num(f.table_id), durationSec: num(f.duration_sec), durationNsec: num(f.duration_nsec),
          priority: num(f.priority), idleTimeout: num(f.idle_timeout), hardTimeout: num(f.hard_timeout),
          flags: flags(f.flags, FLOW_MOD_FLAGS), cookie: big(f.cookie), packetCount: big(f.packet_count),
          byteCount: big(f.byte_count), match: ryuMatch(f.match), instructions: list(f.instructions, ryuInstruction),
        };
      });
    case 'AGGREGATE': {
      const a = body(m.body);
      return { packetCount: big(a.packet_count), byteCount: big(a.byte_count), flowCount: num(a.flow_count) };
    }
    case 'TABLE':
      return list(m.body, (x) => {
        const t = body(x);
        return { tableId: num(t.table_id), activeCount: num(t.active_count), lookupCount: big(t.lookup_count), matchedCount: big(t.matched_count) };
      });
    case 'PORT_STATS':
      return list(m.body, (x) => {
        const p = body(x);
        return {
          portNo: port(p.port_no), rxPackets: big(p.rx_packets), txPackets: big(p.tx_packets), rxBytes: big(p.rx_bytes),
          txBytes: big(p.tx_bytes), rxDropped: big(p.rx_dropped), txDropped: big(p.tx_dropped), rxErrors: big(p.rx_errors),
          txErrors: big(p.tx_errors), rxFrameErr: big(p.rx_frame_err), rxOverErr: big(p.rx_over_err),
          rxCrcErr: big(p.rx_crc_err), collisions: big(p.collisions), durationSec: num(p.duration_sec),
          durationNsec: num(p.duration_nsec),
        };
      });
    case 'QUEUE':
      return list(m.body, (x) => {
        const q = body(x);
        return {
          portNo: port(q.port_no), queueId: num(q.queue_id), txBytes: big(q.tx_bytes), txPackets: big(q.tx_packets),
          txErrors: big(q.tx_errors), durationSec: num(q.duration_sec), durationNsec: num(q.duration_nsec),
        };
      });
    case 'GROUP':
      return list(m.body, (x) => {
        const g = body(x);
        return {
          groupId: groupId(g.group_id), refCount: num(g.ref_count), packetCount: big(g.packet_count),
          byteCount: big(g.byte_count), durationSec: num(g.duration_sec), durationNsec: num(g.duration_nsec),
          bucketStats: list(g.bucket_stats, (y) => {
            const c = body(y);
            return { packetCount: big(c.packet_count), byteCount: big(c.byte_count) };
          }),
        };
      });
    case 'GROUP_DESC':
      return list(m.body, (x) => {
        const g = body(x);
        return { groupType: enumName(g.type, GROUP_TYPES), groupId: groupId(g.group_id), buckets: list(g.buckets, ryuBucket) };
      });
    case 'GROUP_FEATURES': {
      const g = body(m.body);
      return { types: num(g.types), capabilities: num(g.capabilities), maxGroups: list(g.max_groups, num), actions: list(g.actions, num) };
    }
    case 'METER':
      return list(m.body, (x) => {
        const s = body(x);
        return {
          meterId: meterId(s.meter_id), flowCount: num(s.flow_count), packetInCount: big(s.packet_in_count),
          byteInCount: big(s.byte_in_count), durationSec: num(s.duration_sec), durationNsec: num(s.duration_nsec),
          bandStats: list(s.band_stats, (y) => {
            const c = body(y);
            return { packetBandCount: big(c.packet_band_count), byteBandCount: big(c.byte_band_count) };
          }),
        };
      });
    case 'METER_CONFIG':
      return list(m.body, (x) => {
        const c = body(x);
        return { flags: flags(c.flags, METER_FLAGS), meterId: meterId(c.meter_id), bands: list(c.bands, ryuBand) };
      });
    case 'METER_FEATURES': {
      // Ryu wraps the single ofp_meter_features in a list.
      const f = body(Array.isArray(m.body) ? m.body[0] : m.body);
      return { maxMeter: num(f.max_meter), bandTypes: num(f.band_types), capabilities: num(f.capabilities), maxBands: num(f.max_bands), maxColor: num(f.max_color) };
    }
    case 'TABLE_FEATURES': return list(m.body, ryuTableFeatures);
    case 'PORT_DESC': return list(m.body, ryuPort);
  }
  throw new Error(`no mapping for multipart ${cls}`);
}

/** The message Ryu's JSON describes, in node-openflow's shape (xid from the packet header). */
export function ryuToMessage(json: unknown, xid: number): OFMessage {
  const [cls, m] = unwrap(json);
  const mp = MP[cls];
  if (mp) {
    const [mpType, request] = mp;
    const more = (num(m.flags) & 1) === 1;
    const b = multipartBody(cls, mpType, request, m);
    const msg: Record<string, unknown> = request
      ? { type: 'MULTIPART_REQUEST', xid, mpType, flags: more ? ['REQ_MORE'] : [] }
      : { type: 'MULTIPART_REPLY', xid, mpType, flags: more ? ['REPLY_MORE'] : [] };
    if (b !== undefined || !request) msg.body = b;
    return msg as unknown as OFMessage;
  }
  const r = ((x: Record<string, unknown>): OFMessage => ({ xid, ...x }) as unknown as OFMessage);
  switch (cls) {
    case 'OFPHello':
      return r({
        type: 'HELLO',
        elements: list(m.elements, (e) => ({ type: 'VERSIONBITMAP', versions: list(body(e).versions, num) })),
      });
    case 'OFPErrorMsg': {
      if (num(m.type) === 0xffff) {
        return r({ type: 'ERROR', errType: 'EXPERIMENTER', code: num(m.exp_type), experimenter: num(m.experimenter), data: b64(m.data) });
      }
      const t = ERROR_TYPES[num(m.type)]!;
      return r({ type: 'ERROR', errType: t, code: ERROR_CODES[t]?.[num(m.code)] ?? num(m.code), data: b64(m.data) });
    }
    case 'OFPEchoRequest': return r({ type: 'ECHO_REQUEST', data: b64(m.data) });
    case 'OFPEchoReply': return r({ type: 'ECHO_REPLY', data: b64(m.data) });
    case 'OFPExperimenter': return r({ type: 'EXPERIMENTER', experimenter: num(m.experimenter), expType: num(m.exp_type), data: b64(m.data) });
    case 'OFPFeaturesRequest': return r({ type: 'FEATURES_REQUEST' });
    case 'OFPSwitchFeatures':
      return r({
        type: 'FEATURES_REPLY', datapathId: big(m.datapath_id), nBuffers: num(m.n_buffers), nTables: num(m.n_tables),
        auxiliaryId: num(m.auxiliary_id), capabilities: flags(m.capabilities, CAPABILITIES), reserved: 0,
      });
    case 'OFPGetConfigRequest': return r({ type: 'GET_CONFIG_REQUEST' });
    case 'OFPGetConfigReply': return r({ type: 'GET_CONFIG_REPLY', flags: num(m.flags), missSendLen: maxLen(m.miss_send_len) });
    case 'OFPSetConfig': return r({ type: 'SET_CONFIG', flags: num(m.flags), missSendLen: maxLen(m.miss_send_len) });
    case 'OFPPacketIn':
      return r({
        type: 'PACKET_IN', bufferId: bufferId(m.buffer_id), totalLen: num(m.total_len),
        reason: enumName(m.reason, ['NO_MATCH', 'ACTION', 'INVALID_TTL']), tableId: num(m.table_id), cookie: big(m.cookie),
        match: ryuMatch(m.match), data: b64(m.data),
      });
    case 'OFPFlowRemoved':
      return r({
        type: 'FLOW_REMOVED', cookie: big(m.cookie), priority: num(m.priority),
        reason: enumName(m.reason, ['IDLE_TIMEOUT', 'HARD_TIMEOUT', 'DELETE', 'GROUP_DELETE', 'METER_DELETE', 'EVICTION']),
        tableId: num(m.table_id), durationSec: num(m.duration_sec), durationNsec: num(m.duration_nsec),
        idleTimeout: num(m.idle_timeout), hardTimeout: num(m.hard_timeout), packetCount: big(m.packet_count),
        byteCount: big(m.byte_count), match: ryuMatch(m.match),
      });
    case 'OFPPortStatus': return r({ type: 'PORT_STATUS', reason: enumName(m.reason, ['ADD', 'DELETE', 'MODIFY']), port: ryuPort(m.desc) });
    case 'OFPPacketOut':
      return r({ type: 'PACKET_OUT', bufferId: bufferId(m.buffer_id), inPort: port(m.in_port), actions: list(m.actions, ryuAction), data: b64(m.data) });
    case 'OFPFlowMod':
      return r({
        type: 'FLOW_MOD', cookie: big(m.cookie), cookieMask: big(m.cookie_mask), tableId: tableId(m.table_id),
        command: enumName(m.command, FLOW_MOD_COMMANDS), idleTimeout: num(m.idle_timeout), hardTimeout: num(m.hard_timeout),
        priority: num(m.priority), bufferId: bufferId(m.buffer_id), outPort: port(m.out_port), outGroup: groupId(m.out_group),
        flags: flags(m.flags, FLOW_MOD_FLAGS), match: ryuMatch(m.match), instructions: list(m.instructions, ryuInstruction),
      });
    case 'OFPGroupMod':
      return r({
        type: 'GROUP_MOD', command: enumName(m.command, ['ADD', 'MODIFY', 'DELETE']), groupType: enumName(m.type, GROUP_TYPES),
        groupId: groupId(m.group_id), buckets: list(m.buckets, ryuBucket),
      });
    case 'OFPPortMod':
      return r({
        type: 'PORT_MOD', portNo: port(m.port_no), hwAddr: m.hw_addr, config: flags(m.config, PORT_CONFIG),
        mask: flags(m.mask, PORT_CONFIG), advertise: flags(m.advertise, PORT_FEATURES),
      });
    case 'OFPTableMod': return r({ type: 'TABLE_MOD', tableId: tableId(m.table_id), config: num(m.config) });
    case 'OFPBarrierRequest': return r({ type: 'BARRIER_REQUEST' });
    case 'OFPBarrierReply': return r({ type: 'BARRIER_REPLY' });
    case 'OFPQueueGetConfigRequest': return r({ type: 'QUEUE_GET_CONFIG_REQUEST', port: port(m.port) });
    case 'OFPQueueGetConfigReply':
      return r({
        type: 'QUEUE_GET_CONFIG_REPLY', port: port(m.port),
        queues: list(m.queues, (x) => {
          const q = body(x);
          return {
            queueId: num(q.queue_id), port: port(q.port),
            properties: list(q.properties, (y) => {
              const [pc, p] = unwrap(y);
              if (pc === 'OFPQueuePropMinRate') return { property: 'MIN_RATE', rate: num(p.rate) };
              if (pc === 'OFPQueuePropMaxRate') return { property: 'MAX_RATE', rate: num(p.rate) };
              return { property: 'EXPERIMENTER', experimenter: num(p.experimenter), data: b64(p.data) };
            }),
          };
        }),
      });
    case 'OFPRoleRequest':
    case 'OFPRoleReply':
      return r({
        type: cls === 'OFPRoleRequest' ? 'ROLE_REQUEST' : 'ROLE_REPLY',
        role: enumName(m.role, ['NOCHANGE', 'EQUAL', 'MASTER', 'SLAVE']), generationId: big(m.generation_id),
      });
    case 'OFPGetAsyncRequest': return r({ type: 'GET_ASYNC_REQUEST' });
    case 'OFPGetAsyncReply':
    case 'OFPSetAsync':
      return r({
        type: cls === 'OFPSetAsync' ? 'SET_ASYNC' : 'GET_ASYNC_REPLY', packetInMask: list(m.packet_in_mask, num),
        portStatusMask: list(m.port_status_mask, num), flowRemovedMask: list(m.flow_removed_mask, num),
      });
    case 'OFPMeterMod':
      return r({
        type: 'METER_MOD', command: enumName(m.command, ['ADD', 'MODIFY', 'DELETE']), flags: flags(m.flags, METER_FLAGS),
        meterId: meterId(m.meter_id), bands: list(m.bands, ryuBand),
      });
  }
  throw new Error(`no mapping for Ryu class ${cls}`);
}

/** Deep copy with Buffers turned into plain Uint8Array-equal form, so deepStrictEqual compares bytes. */
export function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return `bytes:${Buffer.from(v).toString('hex')}`;
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) o[k] = plain(x);
    return o;
  }
  return v;
}

