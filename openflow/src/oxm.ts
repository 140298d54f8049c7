// OXM TLVs and ofp_match, spec 7.2.3. Basic fields (OFPXMC_OPENFLOW_BASIC, 7.2.3.7), the Nicira NXM
// fields an overlay needs (class 0x0001: reg0-7, tun_src, tun_dst), ONF pbb_uca as Ryu encodes it for
// 1.3, and everything else kept raw so that it re-encodes byte for byte.
import { formatIpv4, formatIpv6, formatMac, parseIpv4, parseIpv6, parseMac } from './addr.js';
import { portName, portValue, ONF_VENDOR_ID } from './consts.js';
import { ERR, OFEncodeError } from './errors.js';
import { copyBytes, fail, need, u16, u24, u32, u64, u8 } from './reader.js';
import type { Writer } from './writer.js';
import type { Match, Oxm, OxmFieldName, OxmKnown, PortNo } from './types.js';

export type OxmKind = 'u8' | 'u16' | 'u24' | 'u32' | 'u64' | 'mac' | 'ipv4' | 'ipv6' | 'port';

export interface OxmFieldDef {
  name: OxmFieldName;
  oxmClass: number;
  oxmField: number;
  /** Value length in bytes (the mask, when present, has the same length). */
  len: number;
  kind: OxmKind;
  /** kind as a small integer (KIND_CODE), for a fast switch on the encode path. */
  code: number;
}

const KIND_CODE: Record<OxmKind, number> = { u8: 0, u16: 1, u24: 2, u32: 3, u64: 4, mac: 5, ipv4: 6, ipv6: 7, port: 8 };

export const OFPXMC_NXM_0 = 0x0000;
export const OFPXMC_NXM_1 = 0x0001;
export const OFPXMC_OPENFLOW_BASIC = 0x8000;
export const OFPXMC_EXPERIMENTER = 0xffff;
/** Ryu's encoding of ONF EXT-256 pbb_uca in OpenFlow 1.3: experimenter OXM with exp_type 2560. */
const ONF_ET_PBB_UCA = 2560;

const KIND_LEN: Record<OxmKind, number> = { u8: 1, u16: 2, u24: 3, u32: 4, u64: 8, mac: 6, ipv4: 4, ipv6: 16, port: 4 };

const basic: [OxmFieldName, OxmKind][] = [
  ['in_port', 'port'], ['in_phy_port', 'port'], ['metadata', 'u64'], ['eth_dst', 'mac'], ['eth_src', 'mac'],
  ['eth_type', 'u16'], ['vlan_vid', 'u16'], ['vlan_pcp', 'u8'], ['ip_dscp', 'u8'], ['ip_ecn', 'u8'],
  ['ip_proto', 'u8'], ['ipv4_src', 'ipv4'], ['ipv4_dst', 'ipv4'], ['tcp_src', 'u16'], ['tcp_dst', 'u16'],
  ['udp_src', 'u16'], ['udp_dst', 'u16'], ['sctp_src', 'u16'], ['sctp_dst', 'u16'], ['icmpv4_type', 'u8'],
  ['icmpv4_code', 'u8'], ['arp_op', 'u16'], ['arp_spa', 'ipv4'], ['arp_tpa', 'ipv4'], ['arp_sha', 'mac'],
  ['arp_tha', 'mac'], ['ipv6_src', 'ipv6'], ['ipv6_dst', 'ipv6'], ['ipv6_flabel', 'u32'], ['icmpv6_type', 'u8'],
  ['icmpv6_code', 'u8'], ['ipv6_nd_target', 'ipv6'], ['ipv6_nd_sll', 'mac'], ['ipv6_nd_tll', 'mac'],
  ['mpls_label', 'u32'], ['mpls_tc', 'u8'], ['mpls_bos', 'u8'], ['pbb_isid', 'u24'], ['tunnel_id', 'u64'],
  ['ipv6_exthdr', 'u16'],
];

export const OXM_FIELDS: OxmFieldDef[] = [];
basic.forEach(([name, kind], i) => OXM_FIELDS.push({ name, oxmClass: OFPXMC_OPENFLOW_BASIC, oxmField: i, len: KIND_LEN[kind], kind, code: KIND_CODE[kind] }));
for (let r = 0; r < 8; r++) OXM_FIELDS.push({ name: `reg${r}` as OxmFieldName, oxmClass: OFPXMC_NXM_1, oxmField: r, len: 4, kind: 'u32', code: 3 });
// NXM_NX_TUN_IPV4_SRC / NXM_NX_TUN_IPV4_DST (Open vSwitch meta-flow.h).
OXM_FIELDS.push({ name: 'tun_src', oxmClass: OFPXMC_NXM_1, oxmField: 31, len: 4, kind: 'ipv4', code: 6 });
OXM_FIELDS.push({ name: 'tun_dst', oxmClass: OFPXMC_NXM_1, oxmField: 32, len: 4, kind: 'ipv4', code: 6 });
const PBB_UCA_DEF: OxmFieldDef = { name: 'pbb_uca', oxmClass: OFPXMC_EXPERIMENTER, oxmField: 0, len: 1, kind: 'u8', code: 0 };

export const OXM_BY_NAME = new Map<OxmFieldName, OxmFieldDef>(OXM_FIELDS.map((d) => [d.name, d]));
OXM_BY_NAME.set('pbb_uca', PBB_UCA_DEF);
/** Indexed by (class << 7) | field for the two classes we interpret. */
const BY_KEY = new Map<number, OxmFieldDef>(OXM_FIELDS.map((d) => [(d.oxmClass << 7) | d.oxmField, d]));
export function oxmDefByHeader(oxmClass: number, oxmField: number): OxmFieldDef | undefined {
  return BY_KEY.get((oxmClass << 7) | oxmField);
}

/**
 * Legacy NXM headers (class 0x0000 NXM_OF_*, 0x0001 NXM_NX_*) of fields the codec names by their
 * OXM header: same field, same width. Open vSwitch writes these back in NXAST_REG_MOVE.
 * (class << 16 | field) -> name. From Open vSwitch meta-flow.h.
 */
const NXM_LEGACY = new Map<number, OxmFieldName>([
  [0x0001, 'eth_dst'], [0x0002, 'eth_src'], [0x0003, 'eth_type'], [0x0006, 'ip_proto'], [0x0007, 'ipv4_src'],
  [0x0008, 'ipv4_dst'], [0x0009, 'tcp_src'], [0x000a, 'tcp_dst'], [0x000b, 'udp_src'], [0x000c, 'udp_dst'],
  [0x000d, 'icmpv4_type'], [0x000e, 'icmpv4_code'], [0x000f, 'arp_op'], [0x0010, 'arp_spa'], [0x0011, 'arp_tpa'],
  [0x10010, 'tunnel_id'], [0x10011, 'arp_sha'], [0x10012, 'arp_tha'], [0x10013, 'ipv6_src'], [0x10014, 'ipv6_dst'],
  [0x10015, 'icmpv6_type'], [0x10016, 'icmpv6_code'], [0x10017, 'ipv6_nd_target'], [0x10018, 'ipv6_nd_sll'],
  [0x10019, 'ipv6_nd_tll'], [0x1001b, 'ipv6_flabel'],
]);

/**
 * The codec's name for an unmasked NXM/OXM header of `length` bytes: its OXM definition, or its
 * legacy NXM twin (NXM_OF_ETH_SRC -> eth_src). Undefined for fields the codec does not know.
 */
export function fieldNameByHeader(oxmClass: number, oxmField: number, length: number): OxmFieldName | undefined {
  const def = oxmDefByHeader(oxmClass, oxmField);
  if (def !== undefined && def.len === length) return def.name;
  const eq = oxmClass <= 1 ? NXM_LEGACY.get((oxmClass << 16) | oxmField) : undefined;
  return eq !== undefined && OXM_BY_NAME.get(eq)?.len === length ? eq : undefined;
}

/** The 32-bit OXM/NXM header of a known field (hasMask clear, length = value length). */
export function oxmHeader(def: OxmFieldDef): number {
  return ((def.oxmClass << 16) | (def.oxmField << 9) | def.len) >>> 0;
}

function readValue(b: Buffer, o: number, kind: OxmKind): OxmKnown['value'] {
  switch (kind) {
    case 'u8': return u8(b, o);
    case 'u16': return u16(b, o);
    case 'u24': return u24(b, o);
    case 'u32': return u32(b, o);
    case 'u64': return u64(b, o);
    case 'mac': return formatMac(b, o);
    case 'ipv4': return formatIpv4(b, o);
    case 'ipv6': return formatIpv6(b, o);
    case 'port': return portName(u32(b, o));
  }
}

/**
 * The offset after the last TLV a read* function decoded. The hot decoders return the value and
 * leave the end offset here instead of allocating a [value, offset] pair for every TLV.
 */
export const cursor = { next: 0 };

/**
 * Decodes one OXM TLV at off, bounded by end (its container). Returns the TLV and the offset after it.
 * Spec 7.2.3.2: oxm_length counts the payload after the 4-byte header; value and mask have equal size.
 */
export function readOxm(b: Buffer, off: number, end: number): Oxm {
  need(end, off, 4, 'OXM header', 'OF_BAD_OXM_LEN', ERR.BAD_MATCH_BAD_LEN);
  const oxmClass = u16(b, off);
  const fh = b[off + 2]!;
  const oxmField = fh >>> 1;
  const hasMask = (fh & 1) === 1;
  const len = b[off + 3]!;
  const p = off + 4;
  const next = p + len;
  if (next > end) fail('OF_BAD_OXM_LEN', off, `OXM length ${len} overruns its match`, ERR.BAD_MATCH_BAD_LEN);
  cursor.next = next;
  if (oxmClass === OFPXMC_EXPERIMENTER) {
    if (len < 4) fail('OF_BAD_OXM_LEN', off, `experimenter OXM length ${len} < 4`, ERR.BAD_MATCH_BAD_LEN);
    const experimenter = u32(b, p);
    // pbb_uca is one bit: any other value stays raw, so it still re-encodes byte for byte.
    if (experimenter === ONF_VENDOR_ID && oxmField === 0 && !hasMask && len === 7 && u16(b, p + 4) === ONF_ET_PBB_UCA && b[p + 6]! <= 1) {
      return { field: 'pbb_uca', value: b[p + 6]! };
    }
    return { field: 'raw', oxmClass, oxmField, hasMask, experimenter, payload: copyBytes(b, p + 4, next) };
  }
  const def = BY_KEY.get((oxmClass << 7) | oxmField);
  if (def === undefined) {
    return { field: 'raw', oxmClass, oxmField, hasMask, payload: copyBytes(b, p, next) };
  }
  if (len !== (hasMask ? def.len * 2 : def.len)) {
    fail('OF_BAD_OXM_LEN', off, `OXM ${def.name} has length ${len}, expected ${hasMask ? def.len * 2 : def.len}`, ERR.BAD_MATCH_BAD_LEN);
  }
  const value = readValue(b, p, def.kind);
  const oxm = hasMask
    // A port mask is a bit mask, not a port: read it as a number (0xffffffff is not "ANY").
    ? ({ field: def.name, value, mask: readValue(b, p + def.len, def.kind === 'port' ? 'u32' : def.kind) } as OxmKnown)
    : ({ field: def.name, value } as OxmKnown);
  return oxm;
}

/** decodeOxm for callers that want the end offset back: [TLV, offset after it]. */
export function decodeOxm(b: Buffer, off: number, end: number): [Oxm, number] {
  const o = readOxm(b, off, end);
  return [o, cursor.next];
}

function writeValue(w: Writer, code: number, v: unknown, name: string): void {
  switch (code) {
    case 0: w.u8(num(v, 0xff, name)); return;
    case 1: w.u16(num(v, 0xffff, name)); return;
    case 2: w.u24(num(v, 0xffffff, name)); return;
    case 3: w.u32(num(v, 0xffffffff, name)); return;
    case 4:
      if (typeof v !== 'bigint') throw new OFEncodeError('OF_BAD_VALUE', `${name} must be a bigint`);
      w.u64(v);
      return;
    case 5: w.ensure(6); parseMac(v as string, w.buf, w.pos); w.pos += 6; return;
    case 6: w.ensure(4); parseIpv4(v as string, w.buf, w.pos); w.pos += 4; return;
    case 7: w.ensure(16); parseIpv6(v as string, w.buf, w.pos); w.pos += 16; return;
    default: w.u32(portValue(v as PortNo)); return;
  }
}

function num(v: unknown, max: number, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new OFEncodeError('OF_BAD_VALUE', `${name} value ${String(v)} is not an integer in 0..${max}`);
  }
  return v;
}

export function encodeOxm(w: Writer, oxm: Oxm): void {
  if (oxm.field === 'raw') {
    const extra = oxm.experimenter !== undefined ? 4 : 0;
    const len = extra + oxm.payload.length;
    if (len > 0xff) throw new OFEncodeError('OF_TOO_LONG', 'raw OXM payload longer than 255 bytes');
    w.u16(oxm.oxmClass);
    w.u8((oxm.oxmField << 1) | (oxm.hasMask ? 1 : 0));
    w.u8(len);
    if (oxm.experimenter !== undefined) w.u32(oxm.experimenter);
    w.bytes(oxm.payload);
    return;
  }
  const def = OXM_BY_NAME.get(oxm.field);
  if (def === undefined) throw new OFEncodeError('OF_BAD_VALUE', `unknown OXM field ${String(oxm.field)}`);
  if (def === PBB_UCA_DEF) {
    w.u32(0xffff0007);
    w.u32(ONF_VENDOR_ID);
    w.u16(ONF_ET_PBB_UCA);
    w.u8(num(oxm.value, 1, 'pbb_uca'));
    return;
  }
  const masked = oxm.mask !== undefined;
  w.u32(masked ? (((def.oxmClass << 16) | (def.oxmField << 9) | 0x100 | (def.len * 2)) >>> 0) : oxmHeader(def));
  writeValue(w, def.code, oxm.value, def.name);
  if (masked) writeValue(w, def.code, oxm.mask, def.name);
}

/** ofp_match (spec 7.2.3.1): type OFPMT_OXM, length without padding, OXMs, zero pad to 8. */
export function decodeMatch(b: Buffer, off: number, end: number): [Match, number] {
  need(end, off, 4, 'ofp_match header', 'OF_BAD_MATCH_LEN', ERR.BAD_MATCH_BAD_LEN);
  const type = u16(b, off);
  const length = u16(b, off + 2);
  if (type !== 1) fail('OF_BAD_MATCH_TYPE', off, `match type ${type} is not OFPMT_OXM (1)`, ERR.BAD_MATCH_BAD_TYPE);
  if (length < 4) fail('OF_BAD_MATCH_LEN', off + 2, `match length ${length} < 4`, ERR.BAD_MATCH_BAD_LEN);
  const padded = (length + 7) & ~7;
  if (off + padded > end) fail('OF_BAD_MATCH_LEN', off + 2, `match length ${length} (padded ${padded}) overruns its container`, ERR.BAD_MATCH_BAD_LEN);
  const match: Match = [];
  const mend = off + length;
  let p = off + 4;
  while (p < mend) {
    match.push(readOxm(b, p, mend));
    p = cursor.next;
  }
  return [match, off + padded];
}

export function encodeMatch(w: Writer, match: Match): void {
  const start = w.pos;
  w.u16(1);
  w.u16(0);
  for (let i = 0; i < match.length; i++) encodeOxm(w, match[i]!);
  w.patchLength16(start + 2, start, 'match');
  w.pad8(start);
}
