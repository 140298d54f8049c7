// OXM prerequisites, spec 7.2.3.6 (table 11): a field may appear in a match only when the fields
// it depends on are matched exactly to the right values; the switch rejects the flow with
// OFPBMC_BAD_PREREQ otherwise. Checked here so the pipeline finds out before the switch does.
import { encodeOxm } from './oxm.js';
import type { Match, OxmFieldName, OxmKnown } from './types.js';
import { Writer } from './writer.js';

interface Prereq {
  field: OxmFieldName;
  /** Allowed exact values; empty means "present with any value other than 0". */
  values: number[];
}

const ETH_IP = { field: 'eth_type', values: [0x0800, 0x86dd] } as const;
const ETH_IPV4 = { field: 'eth_type', values: [0x0800] } as const;
const ETH_IPV6 = { field: 'eth_type', values: [0x86dd] } as const;
const ETH_ARP = { field: 'eth_type', values: [0x0806] } as const;
const ETH_MPLS = { field: 'eth_type', values: [0x8847, 0x8848] } as const;
const proto = (p: number): Prereq => ({ field: 'ip_proto', values: [p] });

const PREREQS: Partial<Record<OxmFieldName, Prereq>> = {
  in_phy_port: { field: 'in_port', values: [] },
  vlan_pcp: { field: 'vlan_vid', values: [] }, // VLAN_VID != OFPVID_NONE
  ip_dscp: { ...ETH_IP, values: [...ETH_IP.values] },
  ip_ecn: { ...ETH_IP, values: [...ETH_IP.values] },
  ip_proto: { ...ETH_IP, values: [...ETH_IP.values] },
  ipv4_src: { ...ETH_IPV4, values: [...ETH_IPV4.values] },
  ipv4_dst: { ...ETH_IPV4, values: [...ETH_IPV4.values] },
  tcp_src: proto(6), tcp_dst: proto(6),
  udp_src: proto(17), udp_dst: proto(17),
  sctp_src: proto(132), sctp_dst: proto(132),
  icmpv4_type: proto(1), icmpv4_code: proto(1),
  arp_op: { ...ETH_ARP, values: [...ETH_ARP.values] },
  arp_spa: { ...ETH_ARP, values: [...ETH_ARP.values] },
  arp_tpa: { ...ETH_ARP, values: [...ETH_ARP.values] },
  arp_sha: { ...ETH_ARP, values: [...ETH_ARP.values] },
  arp_tha: { ...ETH_ARP, values: [...ETH_ARP.values] },
  ipv6_src: { ...ETH_IPV6, values: [...ETH_IPV6.values] },
  ipv6_dst: { ...ETH_IPV6, values: [...ETH_IPV6.values] },
  ipv6_flabel: { ...ETH_IPV6, values: [...ETH_IPV6.values] },
  ipv6_exthdr: { ...ETH_IPV6, values: [...ETH_IPV6.values] },
  icmpv6_type: proto(58), icmpv6_code: proto(58),
  ipv6_nd_target: { field: 'icmpv6_type', values: [135, 136] },
  ipv6_nd_sll: { field: 'icmpv6_type', values: [135] },
  ipv6_nd_tll: { field: 'icmpv6_type', values: [136] },
  mpls_label: { ...ETH_MPLS, values: [...ETH_MPLS.values] },
  mpls_tc: { ...ETH_MPLS, values: [...ETH_MPLS.values] },
  mpls_bos: { ...ETH_MPLS, values: [...ETH_MPLS.values] },
  pbb_isid: { field: 'eth_type', values: [0x88e7] },
};

export type PrereqResult = { ok: true } | { ok: false; field: OxmFieldName; missing: string };

function isExact(o: OxmKnown): boolean {
  if (o.mask === undefined) return true;
  // A mask of all ones is an exact match written the long way.
  const m = o.mask;
  if (typeof m === 'number') return m === 0xffff || m === 0xff || m === 0xffffffff;
  return false;
}

function describe(p: Prereq): string {
  if (p.values.length === 0) return p.field;
  const hex = p.field === 'eth_type';
  return `${p.field}=${p.values.map((v) => (hex ? `0x${v.toString(16).padStart(4, '0')}` : String(v))).join('|')}`;
}

/**
 * Checks every field's prerequisites. On failure names the first field whose prerequisite is not
 * met and what is missing, e.g. { field: 'arp_tpa', missing: 'eth_type=0x0806' }.
 */
export function checkPrerequisites(match: Match): PrereqResult {
  const byField = new Map<string, OxmKnown>();
  for (const o of match) if (o.field !== 'raw') byField.set(o.field, o);
  for (const o of match) {
    if (o.field === 'raw') continue;
    const pre = PREREQS[o.field];
    if (pre === undefined) continue;
    const have = byField.get(pre.field);
    let ok = have !== undefined && isExact(have);
    if (ok && have !== undefined) {
      const v = have.value;
      ok = pre.values.length === 0 ? v !== 0 : typeof v === 'number' && pre.values.includes(v);
    }
    if (!ok) return { ok: false, field: o.field, missing: describe(pre) };
  }
  return { ok: true };
}

export type MatchCheck =
  | { ok: true }
  | { ok: false; field: string; problem: 'BAD_PREREQ' | 'DUP_FIELD' | 'BAD_WILDCARDS'; detail: string };

/**
 * Everything Open vSwitch checks on a match before accepting a flow, in the order it reports them:
 * a field twice (OFPBMC_DUP_FIELD), a value with bits outside its mask (OFPBMC_BAD_WILDCARDS),
 * then prerequisites (OFPBMC_BAD_PREREQ).
 */
export function checkMatch(match: Match): MatchCheck {
  const seen = new Set<string>();
  const w = new Writer(64);
  for (const o of match) {
    const id = o.field === 'raw' ? `raw:${o.oxmClass}:${o.oxmField}:${o.experimenter ?? ''}` : o.field;
    if (seen.has(id)) return { ok: false, field: id, problem: 'DUP_FIELD', detail: `${id} appears twice` };
    seen.add(id);
    if (o.field === 'raw' || o.mask === undefined) continue;
    w.reset();
    encodeOxm(w, o);
    const b = w.view();
    const half = b[3]! / 2;
    for (let i = 0; i < half; i++) {
      if ((b[4 + i]! & ~b[4 + half + i]!) !== 0) {
        return { ok: false, field: o.field, problem: 'BAD_WILDCARDS', detail: `${o.field} value has bits set outside its mask` };
      }
    }
  }
  const pre = checkPrerequisites(match);
  if (!pre.ok) return { ok: false, field: pre.field, problem: 'BAD_PREREQ', detail: `${pre.field} needs ${pre.missing}` };
  return { ok: true };
}
