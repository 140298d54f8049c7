// OXM field semantics shared by the pipeline (canonical flow identity) and the simulator (matching,
// set-field, move): each field's bit width, its value <-> bit-vector conversion, and its prerequisites
// (OpenFlow 1.3.5 section 7.2.3.8, table 12). Values become bigints so that masked matching,
// NXAST_REG_MOVE bit copies and normalisation are one piece of arithmetic for every field.
import type { Match, OxmFieldName, OxmFieldTypes, OxmKnown, PortNo } from './of.js';
import { isIP } from 'node:net';

/** A value, mask or field reference that cannot be represented. */
export class FieldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FieldError';
  }
}

type Kind = 'int' | 'big' | 'mac' | 'ipv4' | 'ipv6' | 'port';

const FIELDS: { [K in OxmFieldName]: { bits: number; kind: Kind } } = {
  in_port: { bits: 32, kind: 'port' },
  in_phy_port: { bits: 32, kind: 'port' },
  metadata: { bits: 64, kind: 'big' },
  eth_dst: { bits: 48, kind: 'mac' },
  eth_src: { bits: 48, kind: 'mac' },
  eth_type: { bits: 16, kind: 'int' },
  vlan_vid: { bits: 13, kind: 'int' },
  vlan_pcp: { bits: 3, kind: 'int' },
  ip_dscp: { bits: 6, kind: 'int' },
  ip_ecn: { bits: 2, kind: 'int' },
  ip_proto: { bits: 8, kind: 'int' },
  ipv4_src: { bits: 32, kind: 'ipv4' },
  ipv4_dst: { bits: 32, kind: 'ipv4' },
  tcp_src: { bits: 16, kind: 'int' },
  tcp_dst: { bits: 16, kind: 'int' },
  udp_src: { bits: 16, kind: 'int' },
  udp_dst: { bits: 16, kind: 'int' },
  sctp_src: { bits: 16, kind: 'int' },
  sctp_dst: { bits: 16, kind: 'int' },
  icmpv4_type: { bits: 8, kind: 'int' },
  icmpv4_code: { bits: 8, kind: 'int' },
  arp_op: { bits: 16, kind: 'int' },
  arp_spa: { bits: 32, kind: 'ipv4' },
  arp_tpa: { bits: 32, kind: 'ipv4' },
  arp_sha: { bits: 48, kind: 'mac' },
  arp_tha: { bits: 48, kind: 'mac' },
  ipv6_src: { bits: 128, kind: 'ipv6' },
  ipv6_dst: { bits: 128, kind: 'ipv6' },
  ipv6_flabel: { bits: 20, kind: 'int' },
  icmpv6_type: { bits: 8, kind: 'int' },
  icmpv6_code: { bits: 8, kind: 'int' },
  ipv6_nd_target: { bits: 128, kind: 'ipv6' },
  ipv6_nd_sll: { bits: 48, kind: 'mac' },
  ipv6_nd_tll: { bits: 48, kind: 'mac' },
  mpls_label: { bits: 20, kind: 'int' },
  mpls_tc: { bits: 3, kind: 'int' },
  mpls_bos: { bits: 1, kind: 'int' },
  pbb_isid: { bits: 24, kind: 'int' },
  tunnel_id: { bits: 64, kind: 'big' },
  ipv6_exthdr: { bits: 9, kind: 'int' },
  pbb_uca: { bits: 1, kind: 'int' },
  tun_src: { bits: 32, kind: 'ipv4' },
  tun_dst: { bits: 32, kind: 'ipv4' },
  reg0: { bits: 32, kind: 'int' },
  reg1: { bits: 32, kind: 'int' },
  reg2: { bits: 32, kind: 'int' },
  reg3: { bits: 32, kind: 'int' },
  reg4: { bits: 32, kind: 'int' },
  reg5: { bits: 32, kind: 'int' },
  reg6: { bits: 32, kind: 'int' },
  reg7: { bits: 32, kind: 'int' },
};

export const FIELD_NAMES = Object.keys(FIELDS) as OxmFieldName[];

export function isFieldName(name: string): name is OxmFieldName {
  return Object.prototype.hasOwnProperty.call(FIELDS, name);
}

export function fieldBits(field: OxmFieldName): number {
  return FIELDS[field].bits;
}

export function fullMask(field: OxmFieldName): bigint {
  return (1n << BigInt(FIELDS[field].bits)) - 1n;
}

/** Reserved port numbers, spec 7.2.1. */
export const RESERVED_PORTS = {
  MAX: 0xffffff00,
  IN_PORT: 0xfffffff8,
  TABLE: 0xfffffff9,
  NORMAL: 0xfffffffa,
  FLOOD: 0xfffffffb,
  ALL: 0xfffffffc,
  CONTROLLER: 0xfffffffd,
  LOCAL: 0xfffffffe,
  ANY: 0xffffffff,
} as const;

export function portNumber(port: PortNo): number {
  return typeof port === 'number' ? port : RESERVED_PORTS[port];
}

function parseMac(s: string): bigint {
  if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(s)) throw new FieldError(`"${s}" is not a MAC address like aa:bb:cc:dd:ee:ff`);
  return BigInt('0x' + s.replaceAll(':', ''));
}

function formatMac(v: bigint): string {
  return v.toString(16).padStart(12, '0').replace(/(..)(?!$)/g, '$1:');
}

function parseIpv4(s: string): bigint {
  if (isIP(s) !== 4) throw new FieldError(`"${s}" is not an IPv4 address`);
  return s.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
}

function formatIpv4(v: bigint): string {
  return [24n, 16n, 8n, 0n].map((sh) => String((v >> sh) & 0xffn)).join('.');
}

function parseIpv6(s: string): bigint {
  if (isIP(s) !== 6 || s.includes('%')) throw new FieldError(`"${s}" is not an IPv6 address`);
  let text = s.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1] !== undefined) {
    const n = parseIpv4(v4[1]);
    text = text.slice(0, v4.index) + (n >> 16n).toString(16) + ':' + (n & 0xffffn).toString(16);
  }
  const halves = text.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const fill = halves.length > 1 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...new Array<string>(fill).fill('0'), ...tail];
  if (groups.length !== 8) throw new FieldError(`"${s}" is not an IPv6 address`);
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** RFC 5952 canonical text: lower case, longest run (>= 2) of zero groups compressed, first on ties. */
function formatIpv6(v: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((v >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return hex.slice(0, best).join(':') + '::' + hex.slice(best + bestLen).join(':');
}

/** The field's value as a bit vector (`field`'s width). */
export function toBits<K extends OxmFieldName>(field: K, value: OxmFieldTypes[K]): bigint {
  const { kind, bits } = FIELDS[field];
  let v: bigint;
  switch (kind) {
    case 'mac':
      v = parseMac(String(value));
      break;
    case 'ipv4':
      v = parseIpv4(String(value));
      break;
    case 'ipv6':
      v = parseIpv6(String(value));
      break;
    case 'port':
      v = BigInt(portNumber(value as PortNo));
      break;
    case 'big':
      if (typeof value !== 'bigint') throw new FieldError(`${field} takes a bigint, got ${typeof value}`);
      v = value;
      break;
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw new FieldError(`${field} takes an integer, got ${String(value)}`);
      v = BigInt(value);
      break;
  }
  if (v < 0n || v >> BigInt(bits) !== 0n) throw new FieldError(`${field} value ${String(value)} does not fit in ${bits} bits`);
  return v;
}

/** The bit vector back as the field's value type (numbers for ports, never reserved names). */
export function fromBits<K extends OxmFieldName>(field: K, v: bigint): OxmFieldTypes[K] {
  switch (FIELDS[field].kind) {
    case 'mac':
      return formatMac(v) as OxmFieldTypes[K];
    case 'ipv4':
      return formatIpv4(v) as OxmFieldTypes[K];
    case 'ipv6':
      return formatIpv6(v) as OxmFieldTypes[K];
    case 'big':
      return v as OxmFieldTypes[K];
    case 'int':
    case 'port':
      return Number(v) as OxmFieldTypes[K];
  }
}

/** An OXM as (value, mask) bit vectors; mask is all ones for an exact match. */
export function oxmBits(oxm: OxmKnown): { value: bigint; mask: bigint } {
  const value = toBits(oxm.field, oxm.value);
  const mask = oxm.mask === undefined ? fullMask(oxm.field) : toBits(oxm.field, oxm.mask);
  return { value, mask };
}

/** Builds an OXM from bit vectors in the form Open vSwitch reports it: no mask when exact. */
export function oxmFromBits(field: OxmFieldName, value: bigint, mask: bigint): OxmKnown {
  const m = mask & fullMask(field);
  const oxm = { field, value: fromBits(field, value & m) } as OxmKnown;
  if (m !== fullMask(field)) (oxm as { mask?: unknown }).mask = fromBits(field, m);
  return oxm;
}

// ---------------------------------------------------------------------------------------------
// Prerequisites, spec 7.2.3.8: a field may appear in a match (or be set or moved) only when the
// match pins the fields it depends on. Open vSwitch rejects violations (OFPBMC_BAD_PREREQ for
// matches, OFPBAC_MATCH_INCONSISTENT for set-field/move), so a flow the pipeline emits with a
// missing prerequisite would be refused by the switch; the simulator refuses it the same way.

type Prereq = { field: OxmFieldName; values: readonly number[] } | { anyOf: readonly { field: OxmFieldName; values: readonly number[] }[] };

const ETH = (...values: number[]) => ({ field: 'eth_type' as const, values });
const PROTO = (...values: number[]) => ({ field: 'ip_proto' as const, values });
const IP_ANY = ETH(0x0800, 0x86dd);

const PREREQS: Partial<Record<OxmFieldName, Prereq[]>> = {
  vlan_pcp: [{ anyOf: [] }], // needs vlan_vid != NONE; checked specially below
  ip_dscp: [IP_ANY],
  ip_ecn: [IP_ANY],
  ip_proto: [IP_ANY],
  ipv4_src: [ETH(0x0800)],
  ipv4_dst: [ETH(0x0800)],
  tcp_src: [PROTO(6)],
  tcp_dst: [PROTO(6)],
  udp_src: [PROTO(17)],
  udp_dst: [PROTO(17)],
  sctp_src: [PROTO(132)],
  sctp_dst: [PROTO(132)],
  icmpv4_type: [PROTO(1), ETH(0x0800)],
  icmpv4_code: [PROTO(1), ETH(0x0800)],
  arp_op: [ETH(0x0806)],
  arp_spa: [ETH(0x0806)],
  arp_tpa: [ETH(0x0806)],
  arp_sha: [ETH(0x0806)],
  arp_tha: [ETH(0x0806)],
  ipv6_src: [ETH(0x86dd)],
  ipv6_dst: [ETH(0x86dd)],
  ipv6_flabel: [ETH(0x86dd)],
  ipv6_exthdr: [ETH(0x86dd)],
  icmpv6_type: [PROTO(58), ETH(0x86dd)],
  icmpv6_code: [PROTO(58), ETH(0x86dd)],
  ipv6_nd_target: [{ field: 'icmpv6_type', values: [135, 136] }],
  ipv6_nd_sll: [{ field: 'icmpv6_type', values: [135] }],
  ipv6_nd_tll: [{ field: 'icmpv6_type', values: [136] }],
  mpls_label: [ETH(0x8847, 0x8848)],
  mpls_tc: [ETH(0x8847, 0x8848)],
  mpls_bos: [ETH(0x8847, 0x8848)],
  pbb_isid: [ETH(0x88e7)],
  pbb_uca: [ETH(0x88e7)],
};

/**
 * Checks that `field` may be used given the exact values `pinned` (a match's exact fields, or a
 * packet's fields). Returns a description of the first unmet prerequisite, or undefined.
 */
export function unmetPrerequisite(field: OxmFieldName, pinned: ReadonlyMap<OxmFieldName, bigint>): string | undefined {
  if (field === 'vlan_pcp') {
    const vid = pinned.get('vlan_vid');
    return vid !== undefined && (vid & 0x1000n) !== 0n ? undefined : 'vlan_pcp needs vlan_vid with OFPVID_PRESENT';
  }
  for (const p of PREREQS[field] ?? []) {
    const alternatives = 'anyOf' in p ? p.anyOf : [p];
    const ok = alternatives.some((alt) => {
      const v = pinned.get(alt.field);
      return v !== undefined && alt.values.includes(Number(v)) && unmetPrerequisite(alt.field, pinned) === undefined;
    });
    if (!ok) {
      const want = alternatives.map((a) => `${a.field}=${a.values.map((x) => '0x' + x.toString(16)).join('|')}`).join(' or ');
      return `${field} needs ${want}`;
    }
  }
  return undefined;
}

/** The exactly-matched fields of a match, as bit vectors (what prerequisites may rely on). */
export function pinnedFields(match: Match): Map<OxmFieldName, bigint> {
  const pinned = new Map<OxmFieldName, bigint>();
  for (const oxm of match) {
    if (oxm.field === 'raw') continue;
    const { value, mask } = oxmBits(oxm);
    if (mask === fullMask(oxm.field)) pinned.set(oxm.field, value);
  }
  return pinned;
}

// ---------------------------------------------------------------------------------------------
// Canonical text, used for flow identity and for sorting: independent of OXM order, of an explicit
// all-ones mask and of value bits outside the mask, the same normalisations Open vSwitch applies
// before it reports a flow back.

export function oxmText(oxm: Match[number]): string {
  if (oxm.field === 'raw') {
    const hex = Buffer.from(oxm.payload).toString('hex');
    return `raw(${oxm.oxmClass}:${oxm.oxmField}${oxm.experimenter !== undefined ? ':' + oxm.experimenter : ''}${oxm.hasMask ? '/m' : ''})=${hex}`;
  }
  const fast = exactText(oxm);
  if (fast !== undefined) return fast;
  const { value, mask } = oxmBits(oxm);
  const norm = oxmFromBits(oxm.field, value, mask);
  const show = (v: unknown) => (typeof v === 'bigint' ? '0x' + v.toString(16) : String(v));
  return `${oxm.field}=${show(norm.value)}${norm.mask !== undefined ? '/' + show(norm.mask) : ''}`;
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * The canonical text of an unmasked OXM whose value is already canonical, without the round trip
 * through bits (identity is computed several times per flow, for tens of thousands of flows).
 * Undefined when the slow path must decide.
 */
function exactText(oxm: OxmKnown): string | undefined {
  if (oxm.mask !== undefined) return undefined;
  const { kind, bits } = FIELDS[oxm.field];
  const v = oxm.value;
  switch (kind) {
    case 'mac':
      return typeof v === 'string' && MAC_RE.test(v) ? `${oxm.field}=${v}` : undefined;
    case 'ipv4':
      return typeof v === 'string' && IPV4_RE.test(v) ? `${oxm.field}=${v}` : undefined;
    case 'int':
    case 'port':
      return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 2 ** bits ? `${oxm.field}=${v}` : undefined;
    case 'big':
      return typeof v === 'bigint' && v >= 0n && v >> BigInt(bits) === 0n ? `${oxm.field}=0x${v.toString(16)}` : undefined;
    default:
      return undefined;
  }
}

/** An all-zeros mask makes a field a wildcard, so it is left out (as the switch leaves it out). */
export function matchText(match: Match): string {
  const parts: string[] = [];
  for (const o of match) {
    if (o.field !== 'raw' && o.mask !== undefined && oxmBits(o).mask === 0n) continue;
    parts.push(oxmText(o));
  }
  return parts.sort().join(',');
}
