// Codec flows (node-openflow Match/Instruction) as ovs-ofctl prints them in `dump-flows`, so `bumless flows
// --ovs` can be compared line by line with `ovs-ofctl -O OpenFlow13 dump-flows br-int`. Field order and
// names follow Open vSwitch's match_format() (lib/match.c): priority, protocol shorthand, registers,
// tunnel, metadata, in_port, VLAN, Ethernet, L3, nw_proto, ARP/ND hardware addresses, L4.
import type { Action, FieldRef, Instruction, Match, OxmKnown, OxmRaw, PortNo } from 'node-openflow';
import type { FlowView } from './ports.js';

const hex = (v: bigint | number) => `0x${v.toString(16)}`;

const ETH_IP = 0x0800;
const ETH_ARP = 0x0806;
const ETH_RARP = 0x8035;
const ETH_IPV6 = 0x86dd;
const OFPVID_PRESENT = 0x1000;

function port(p: PortNo): string {
  return typeof p === 'number' ? String(p) : p === 'IN_PORT' ? 'IN_PORT' : p;
}

/** Contiguous IPv4 mask as a prefix length, else undefined. */
function prefixLen(mask: string): number | undefined {
  const n = mask.split('.').reduce((acc, o) => (acc << 8) | Number(o), 0) >>> 0;
  const len = 32 - Math.log2((~n >>> 0) + 1);
  return Number.isInteger(len) ? len : undefined;
}

function value(o: OxmKnown, v: unknown): string {
  switch (o.field) {
    case 'metadata':
    case 'tunnel_id':
    case 'reg0':
    case 'reg1':
    case 'reg2':
    case 'reg3':
    case 'reg4':
    case 'reg5':
    case 'reg6':
    case 'reg7':
    case 'ipv6_flabel':
    case 'pbb_isid':
      return hex(v as bigint | number);
    case 'in_port':
    case 'in_phy_port':
      return port(v as PortNo);
    case 'eth_type':
      return `0x${(v as number).toString(16).padStart(4, '0')}`;
    default:
      return String(v);
  }
}

function masked(name: string, o: OxmKnown): string {
  const v = value(o, o.value);
  if (o.mask === undefined) return `${name}=${v}`;
  if (typeof o.value === 'string' && /^\d+\.\d+\.\d+\.\d+$/.test(o.value)) {
    const len = prefixLen(o.mask as string);
    if (len !== undefined) return `${name}=${v}/${len}`;
  }
  return `${name}=${v}/${value(o, o.mask)}`;
}

/**
 * Fields the codec keeps raw (OxmRaw) that Open vSwitch names, by "class:field": the name, the value
 * width in bytes, and how ovs-ofctl prints the value. Checked with `ovs-ofctl ofp-parse` (Open vSwitch
 * 3.1) on raw OXMs; class 1 is NXM_NX, 0x8001 the OXM packet registers (xreg0-7, 64-bit).
 */
type RawFormat = 'hex' | 'dec' | 'ct_state';
type RawField = [name: string, width: number, format: RawFormat];
const RAW_FIELDS = new Map<string, RawField>([
  ...Array.from({ length: 16 }, (_, i): [string, RawField] => [`1:${i}`, [`reg${i}`, 4, 'hex']]),
  ...Array.from({ length: 8 }, (_, i): [string, RawField] => [`32769:${i}`, [`xreg${i}`, 8, 'hex']]),
  ['1:33', ['pkt_mark', 4, 'hex']],
  ['1:35', ['dp_hash', 4, 'hex']],
  ['1:36', ['recirc_id', 4, 'hex']],
  ['1:37', ['conj_id', 4, 'dec']],
  ['1:38', ['tun_gbp_id', 2, 'dec']],
  ['1:105', ['ct_state', 4, 'ct_state']],
  ['1:106', ['ct_zone', 2, 'dec']],
  ['1:107', ['ct_mark', 4, 'hex']],
  ['1:108', ['ct_label', 16, 'hex']],
]);

/** Open vSwitch's ct_state flag names, bit 0 upwards (lib/packets.h CS_*). */
const CT_STATE = ['new', 'est', 'rel', 'rpl', 'inv', 'trk', 'snat', 'dnat'];

function bytesToBig(b: Uint8Array, from: number, to: number): bigint {
  let v = 0n;
  for (let i = from; i < to; i++) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

const allOnes = (width: number): bigint => (1n << BigInt(width * 8)) - 1n;

function rawValueText(v: bigint, format: RawFormat): string {
  if (format === 'dec') return v.toString(10);
  if (format === 'hex') return hex(v);
  const set = CT_STATE.filter((_, i) => (v >> BigInt(i)) & 1n);
  return set.length === 0 ? '0' : set.join('|');
}

/** A raw field with a name Open vSwitch knows: its name, value and mask (undefined = exact). */
function namedRaw(o: OxmRaw): { name: string; width: number; format: RawFormat; value: bigint; mask: bigint | undefined } | undefined {
  if (o.experimenter !== undefined) return undefined;
  const known = RAW_FIELDS.get(`${o.oxmClass}:${o.oxmField}`);
  if (!known) return undefined;
  const [name, width, format] = known;
  if (o.payload.length !== (o.hasMask ? width * 2 : width)) return undefined;
  const value = bytesToBig(o.payload, 0, width);
  const mask = o.hasMask ? bytesToBig(o.payload, width, width * 2) : undefined;
  return { name, width, format, value, mask: mask === allOnes(width) ? undefined : mask };
}

/** A field the codec keeps raw and Open vSwitch would not name either: class, field, bytes in hex. */
function rawText(o: OxmRaw): string {
  const id = `raw(${hex(o.oxmClass)}:${o.oxmField}${o.experimenter === undefined ? '' : `,exp=${hex(o.experimenter)}`})`;
  const bytes = Buffer.from(o.payload).toString('hex');
  if (!o.hasMask || o.payload.length % 2 !== 0) return `${id}=0x${bytes}`;
  const half = o.payload.length;
  return `${id}=0x${bytes.slice(0, half)}/0x${bytes.slice(half)}`;
}

/** A raw match field as ovs-ofctl prints it (ct_state masked as +flag-flag, as Open vSwitch does). */
function rawMatchText(o: OxmRaw): string {
  const n = namedRaw(o);
  if (!n) return rawText(o);
  if (n.format === 'ct_state' && n.mask !== undefined) {
    const parts = CT_STATE.map((f, i) => ((n.mask! >> BigInt(i)) & 1n ? `${(n.value >> BigInt(i)) & 1n ? '+' : '-'}${f}` : '')).join('');
    return `${n.name}=${parts}`;
  }
  return `${n.name}=${rawValueText(n.value, n.format)}${n.mask === undefined ? '' : `/${hex(n.mask)}`}`;
}

/** Raw fields Open vSwitch prints before the protocol shorthand, in its order (lib/match.c match_format). */
const RAW_BEFORE_PROTOCOL = ['pkt_mark', 'recirc_id', 'dp_hash', 'conj_id', 'ct_state', 'ct_zone', 'ct_mark', 'ct_label'];

/** The ovs-ofctl match text (without priority) of a codec match. */
export function matchToOvs(match: Match): string {
  const by = new Map<string, OxmKnown>();
  // Raw fields Open vSwitch names go where it prints them; the rest at the end, in match order.
  const named = new Map<string, OxmRaw>();
  const raw: string[] = [];
  for (const o of match) {
    if (o.field !== 'raw') by.set(o.field, o);
    else {
      const n = namedRaw(o);
      if (n && !named.has(n.name)) named.set(n.name, o);
      else raw.push(rawText(o));
    }
  }
  const get = (f: string) => by.get(f);
  const out: string[] = [];
  const pushRaw = (name: string) => {
    const o = named.get(name);
    if (o) out.push(rawMatchText(o));
  };
  for (const name of RAW_BEFORE_PROTOCOL) pushRaw(name);
  const ethType = get('eth_type')?.value as number | undefined;
  const proto = get('ip_proto')?.value as number | undefined;
  let skipType = false;
  let skipProto = false;
  if (ethType !== undefined && get('eth_type')!.mask === undefined) {
    skipType = true;
    const l4: Record<number, string> = { 1: 'icmp', 2: 'igmp', 6: 'tcp', 17: 'udp', 132: 'sctp' };
    const l4v6: Record<number, string> = { 58: 'icmp6', 6: 'tcp6', 17: 'udp6', 132: 'sctp6' };
    if (ethType === ETH_IP && proto !== undefined && l4[proto]) {
      out.push(l4[proto]);
      skipProto = true;
    } else if (ethType === ETH_IPV6 && proto !== undefined && l4v6[proto]) {
      out.push(l4v6[proto]);
      skipProto = true;
    } else if (ethType === ETH_IP) out.push('ip');
    else if (ethType === ETH_IPV6) out.push('ipv6');
    else if (ethType === ETH_ARP) out.push('arp');
    else if (ethType === ETH_RARP) out.push('rarp');
    else skipType = false;
    // With recirc_id matched, Open vSwitch names the packet type before the shorthand.
    if (skipType && named.has('recirc_id')) out.splice(out.length - 1, 0, 'eth');
  }
  const push = (field: string, name = field) => {
    const o = get(field);
    if (o) out.push(masked(name, o));
  };
  // Registers in number order; a 64-bit xregN prints as reg(2N) and reg(2N+1), the halves it masks.
  for (let r = 0; r < 16; r++) {
    if (r < 8) push(`reg${r}`);
    pushRaw(`reg${r}`);
    const x = named.get(`xreg${r >> 1}`);
    const xn = x && namedRaw(x);
    if (xn) {
      const shift = r & 1 ? 0n : 32n;
      const m = ((xn.mask ?? allOnes(8)) >> shift) & 0xffffffffn;
      const v = (xn.value >> shift) & 0xffffffffn;
      if (m !== 0n) out.push(`reg${r}=${hex(v)}${m === 0xffffffffn ? '' : `/${hex(m)}`}`);
    }
  }
  push('tunnel_id', 'tun_id');
  push('tun_src');
  push('tun_dst');
  pushRaw('tun_gbp_id');
  push('metadata');
  push('in_port');
  const vid = get('vlan_vid');
  if (vid) {
    const v = vid.value as number;
    if (vid.mask === undefined && v === 0) out.push('vlan_tci=0x0000/0x1fff');
    else if (vid.mask === undefined && v & OFPVID_PRESENT) out.push(`dl_vlan=${v & 0xfff}`);
    else out.push(masked('vlan_vid', vid));
  }
  push('vlan_pcp', 'dl_vlan_pcp');
  push('eth_src', 'dl_src');
  push('eth_dst', 'dl_dst');
  if (!skipType) push('eth_type', 'dl_type');
  if (ethType === ETH_IPV6) {
    push('ipv6_src');
    push('ipv6_dst');
    push('ipv6_flabel', 'ipv6_label');
  } else if (ethType === ETH_ARP || ethType === ETH_RARP) {
    push('arp_spa');
    push('arp_tpa');
  } else {
    push('ipv4_src', 'nw_src');
    push('ipv4_dst', 'nw_dst');
  }
  if (ethType === ETH_ARP || ethType === ETH_RARP) push('arp_op');
  else if (!skipProto) push('ip_proto', 'nw_proto');
  const dscp = get('ip_dscp');
  if (dscp) out.push(`nw_tos=${(dscp.value as number) << 2}`);
  push('ip_ecn', 'nw_ecn');
  push('arp_sha');
  push('arp_tha');
  for (const [a, b] of [['tcp_src', 'tp_src'], ['tcp_dst', 'tp_dst'], ['udp_src', 'tp_src'], ['udp_dst', 'tp_dst'], ['sctp_src', 'tp_src'], ['sctp_dst', 'tp_dst']] as const) push(a, b);
  push('icmpv4_type', 'icmp_type');
  push('icmpv4_code', 'icmp_code');
  // ICMPv6 type and code print as icmp_type/icmp_code, followed by the neighbour discovery fields.
  push('icmpv6_type', 'icmp_type');
  push('icmpv6_code', 'icmp_code');
  push('ipv6_nd_target', 'nd_target');
  push('ipv6_nd_sll', 'nd_sll');
  push('ipv6_nd_tll', 'nd_tll');
  for (const f of ['mpls_label', 'mpls_tc', 'mpls_bos', 'pbb_isid', 'in_phy_port', 'ipv6_exthdr', 'pbb_uca']) push(f);
  return [...out, ...raw].join(',');
}

/** Names Open vSwitch prints in set_field actions. */
const SET_FIELD_NAMES: Record<string, string> = { tunnel_id: 'tun_id', ipv4_src: 'ip_src', ipv4_dst: 'ip_dst', ip_proto: 'nw_proto', icmpv4_type: 'icmp_type', icmpv4_code: 'icmp_code', ipv6_nd_target: 'nd_target' };

/** NXM/OXM names Open vSwitch prints in move actions, and each field's width in bits. */
const NXM: Record<string, [string, number]> = {
  in_port: ['NXM_OF_IN_PORT', 16],
  eth_src: ['NXM_OF_ETH_SRC', 48],
  eth_dst: ['NXM_OF_ETH_DST', 48],
  eth_type: ['NXM_OF_ETH_TYPE', 16],
  ip_proto: ['NXM_OF_IP_PROTO', 8],
  ipv4_src: ['NXM_OF_IP_SRC', 32],
  ipv4_dst: ['NXM_OF_IP_DST', 32],
  arp_op: ['NXM_OF_ARP_OP', 16],
  arp_spa: ['NXM_OF_ARP_SPA', 32],
  arp_tpa: ['NXM_OF_ARP_TPA', 32],
  arp_sha: ['NXM_NX_ARP_SHA', 48],
  arp_tha: ['NXM_NX_ARP_THA', 48],
  ipv6_src: ['NXM_NX_IPV6_SRC', 128],
  ipv6_dst: ['NXM_NX_IPV6_DST', 128],
  tunnel_id: ['NXM_NX_TUN_ID', 64],
  tun_src: ['NXM_NX_TUN_IPV4_SRC', 32],
  tun_dst: ['NXM_NX_TUN_IPV4_DST', 32],
  metadata: ['OXM_OF_METADATA', 64],
  ...Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`reg${i}`, [`NXM_NX_REG${i}`, 32] as [string, number]])),
};

/**
 * Field headers as the codec decodes move operands it does not name: NXM class 0 (NXM_OF_*), class 1
 * (NXM_NX_*) and OpenFlow basic (0x8000), by "class:field" -> the name Open vSwitch prints and the width.
 */
const NXM_HEADERS: Record<string, [string, number]> = {
  '0:0': ['NXM_OF_IN_PORT', 16], '0:1': ['NXM_OF_ETH_DST', 48], '0:2': ['NXM_OF_ETH_SRC', 48], '0:3': ['NXM_OF_ETH_TYPE', 16],
  '0:4': ['NXM_OF_VLAN_TCI', 16], '0:5': ['NXM_OF_IP_TOS', 8], '0:6': ['NXM_OF_IP_PROTO', 8], '0:7': ['NXM_OF_IP_SRC', 32],
  '0:8': ['NXM_OF_IP_DST', 32], '0:9': ['NXM_OF_TCP_SRC', 16], '0:10': ['NXM_OF_TCP_DST', 16], '0:11': ['NXM_OF_UDP_SRC', 16],
  '0:12': ['NXM_OF_UDP_DST', 16], '0:13': ['NXM_OF_ICMP_TYPE', 8], '0:14': ['NXM_OF_ICMP_CODE', 8], '0:15': ['NXM_OF_ARP_OP', 16],
  '0:16': ['NXM_OF_ARP_SPA', 32], '0:17': ['NXM_OF_ARP_TPA', 32],
  '1:16': ['NXM_NX_TUN_ID', 64], '1:17': ['NXM_NX_ARP_SHA', 48], '1:18': ['NXM_NX_ARP_THA', 48], '1:19': ['NXM_NX_IPV6_SRC', 128],
  '1:20': ['NXM_NX_IPV6_DST', 128], '1:21': ['NXM_NX_ICMPV6_TYPE', 8], '1:22': ['NXM_NX_ICMPV6_CODE', 8], '1:23': ['NXM_NX_ND_TARGET', 128],
  '1:24': ['NXM_NX_ND_SLL', 48], '1:25': ['NXM_NX_ND_TLL', 48], '1:31': ['NXM_NX_TUN_IPV4_SRC', 32], '1:32': ['NXM_NX_TUN_IPV4_DST', 32],
  ...Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`1:${i}`, [`NXM_NX_REG${i}`, 32] as [string, number]])),
  '32768:0': ['NXM_OF_IN_PORT', 32], '32768:2': ['OXM_OF_METADATA', 64], '32768:3': ['NXM_OF_ETH_DST', 48], '32768:4': ['NXM_OF_ETH_SRC', 48],
  '32768:5': ['NXM_OF_ETH_TYPE', 16], '32768:10': ['NXM_OF_IP_PROTO', 8], '32768:11': ['NXM_OF_IP_SRC', 32], '32768:12': ['NXM_OF_IP_DST', 32],
  '32768:21': ['NXM_OF_ARP_OP', 16], '32768:22': ['NXM_OF_ARP_SPA', 32], '32768:23': ['NXM_OF_ARP_TPA', 32], '32768:24': ['NXM_NX_ARP_SHA', 48],
  '32768:25': ['NXM_NX_ARP_THA', 48], '32768:38': ['NXM_NX_TUN_ID', 64],
};

function subfield(r: FieldRef, ofs: number, nBits: number): string {
  const known = typeof r === 'string' ? NXM[r] : NXM_HEADERS[`${r.oxmClass}:${r.oxmField}`];
  const [name, width] = known ?? (typeof r === 'string' ? [r, 0] : [`${hex(r.oxmClass)}:${r.oxmField}`, r.length * 8]);
  return ofs === 0 && nBits === width ? `${name}[]` : `${name}[${ofs}..${ofs + nBits - 1}]`;
}

export function actionToOvs(a: Action): string {
  switch (a.type) {
    case 'OUTPUT':
      if (a.port === 'CONTROLLER') return `CONTROLLER:${a.maxLen === undefined || a.maxLen === 'NO_BUFFER' ? 65535 : a.maxLen}`;
      return typeof a.port === 'number' ? `output:${a.port}` : a.port;
    case 'SET_FIELD': {
      const f = a.field;
      if (f.field === 'raw') {
        // A foreign flow's field (pkt_mark, reg8-15, xreg, ct_mark...): Open vSwitch's name when it has one.
        const n = namedRaw(f);
        if (!n) return `set_field:${rawText(f).replace(/^(raw\([^)]*\))=(.*)$/, '$2->$1')}`;
        return `set_field:${n.format === 'ct_state' ? hex(n.value) : rawValueText(n.value, n.format)}${n.mask === undefined ? '' : `/${hex(n.mask)}`}->${n.name}`;
      }
      const name = SET_FIELD_NAMES[f.field] ?? f.field;
      const v = value(f, f.value);
      return `set_field:${v}${f.mask === undefined ? '' : `/${value(f, f.mask)}`}->${name}`;
    }
    case 'NX_REG_MOVE':
      return `move:${subfield(a.src, a.srcOfs, a.nBits)}->${subfield(a.dst, a.dstOfs, a.nBits)}`;
    case 'NX_RESUBMIT': {
      const p = a.port === 'IN_PORT' ? '' : port(a.port);
      return a.table === undefined || a.table === 255 ? `resubmit:${p}` : `resubmit(${p},${a.table})`;
    }
    case 'PUSH_VLAN':
      return `push_vlan:${hex(a.ethertype)}`;
    case 'POP_VLAN':
      return 'pop_vlan';
    case 'PUSH_MPLS':
      return `push_mpls:${hex(a.ethertype)}`;
    case 'POP_MPLS':
      return `pop_mpls:${hex(a.ethertype)}`;
    case 'DEC_NW_TTL':
      return 'dec_ttl';
    case 'SET_NW_TTL':
      return `mod_nw_ttl:${a.nwTtl}`;
    case 'SET_MPLS_TTL':
      return `set_mpls_ttl(${a.mplsTtl})`;
    case 'DEC_MPLS_TTL':
      return 'dec_mpls_ttl';
    case 'GROUP':
      return `group:${a.groupId}`;
    case 'SET_QUEUE':
      return `set_queue:${a.queueId}`;
    case 'COPY_TTL_OUT':
      return 'copy_ttl_out';
    case 'COPY_TTL_IN':
      return 'copy_ttl_in';
    case 'PUSH_PBB':
      return `push_pbb:${hex(a.ethertype)}`;
    case 'POP_PBB':
      return 'pop_pbb';
    case 'EXPERIMENTER':
      return `experimenter(${hex(a.experimenter)})`;
  }
}

/** Instructions as ovs-ofctl prints them: in Open vSwitch's fixed order, "drop" when there is nothing. */
export function instructionsToOvs(instructions: readonly Instruction[]): string {
  const order: Record<Instruction['type'], number> = { METER: 0, APPLY_ACTIONS: 1, CLEAR_ACTIONS: 2, WRITE_ACTIONS: 3, WRITE_METADATA: 4, GOTO_TABLE: 5, EXPERIMENTER: 6 };
  const parts: string[] = [];
  for (const i of [...instructions].sort((a, b) => order[a.type] - order[b.type])) {
    switch (i.type) {
      case 'METER':
        parts.push(`meter:${i.meterId}`);
        break;
      case 'APPLY_ACTIONS':
        parts.push(...i.actions.map(actionToOvs));
        break;
      case 'CLEAR_ACTIONS':
        parts.push('clear_actions');
        break;
      case 'WRITE_ACTIONS':
        parts.push(`write_actions(${i.actions.map(actionToOvs).join(',')})`);
        break;
      case 'WRITE_METADATA':
        parts.push(`write_metadata:${hex(i.metadata)}${i.metadataMask === 0xffffffffffffffffn ? '' : `/${hex(i.metadataMask)}`}`);
        break;
      case 'GOTO_TABLE':
        parts.push(`goto_table:${i.tableId}`);
        break;
      case 'EXPERIMENTER':
        parts.push(`experimenter(${hex(i.experimenter)})`);
        break;
    }
  }
  return parts.length ? parts.join(',') : 'drop';
}

/** A desired flow (pipeline/reconciler) or an installed one (FLOW multipart reply, with counters). */
export interface CodecFlow {
  tableId: number;
  priority: number;
  cookie: bigint;
  match: Match;
  instructions: readonly Instruction[];
  packetCount?: bigint;
  byteCount?: bigint;
  durationSec?: number;
  durationNsec?: number;
  /** Set on a dumped flow whose instructions the codec cannot decode (src/switch/codec.ts). */
  undecodable?: { error: string; instructions: Uint8Array };
}

/** The API's JSON view of a codec flow (what FlowsPort.flows() returns). */
export function flowView(f: CodecFlow): FlowView {
  return {
    table: f.tableId,
    priority: f.priority,
    cookie: hex(f.cookie),
    match: matchToOvs(f.match),
    // Not "drop": the flow has instructions, only not ones the codec can read; show their bytes.
    actions: f.undecodable ? `undecodable(0x${Buffer.from(f.undecodable.instructions).toString('hex')})` : instructionsToOvs(f.instructions),
    ...(f.packetCount === undefined ? {} : { packets: Number(f.packetCount) }),
    ...(f.byteCount === undefined ? {} : { bytes: Number(f.byteCount) }),
    ...(f.durationSec === undefined ? {} : { durationSec: f.durationSec + (f.durationNsec ?? 0) / 1e9 }),
  };
}
