// What Open vSwitch 3.1's ovs-ofctl prints for a flow, derived from node-openflow's message objects,
// and a parser for the flow lines it prints (ofp-print of FLOW_MOD, dump-flows / FLOW stats). The
// oracle test compares the two field by field: a codec that wrote one wrong byte shows up as a
// different match token or action. Only the fields and actions the samples use are mapped; an
// unmapped one throws, so a new sample cannot pass by being ignored.
import type { Action, FieldRef, FlowModMessage, FlowStats, Instruction, Match, OxmKnown, PortNo } from '../src/index.js';
import type { Bucket, GroupModMessage } from '../src/index.js';
import { canonicalFieldRef } from '../src/canonical.js';

export interface OvsFlow {
  table: number;
  priority: number;
  cookie: bigint;
  cookieMask?: bigint;
  match: string[];
  actions: string;
}

const hex = (n: number | bigint): string => `0x${n.toString(16)}`;

function prefixLen(mask: string): number {
  return mask.split('.').reduce((n, o) => n + (Number(o).toString(2).match(/1/g)?.length ?? 0), 0);
}

function port(p: PortNo): string {
  return typeof p === 'number' ? String(p) : p;
}

/** Match tokens in ovs-ofctl's words, sorted (OVS orders them its own way; the set is what counts). */
export function ovsMatch(match: Match): string[] {
  const by = new Map<string, OxmKnown>();
  for (const o of match) if (o.field !== 'raw') by.set(o.field, o);
  const ethType = by.get('eth_type')?.value as number | undefined;
  const proto = by.get('ip_proto')?.value as number | undefined;
  const out: string[] = [];
  let protoShown = false;
  if (ethType === 0x0806) out.push('arp');
  else if (ethType === 0x0800) {
    const s = { 6: 'tcp', 17: 'udp', 1: 'icmp', 132: 'sctp' }[proto ?? -1];
    out.push(s ?? 'ip');
    protoShown = s !== undefined;
  } else if (ethType === 0x86dd) {
    const s = { 6: 'tcp6', 17: 'udp6', 58: 'icmp6', 132: 'sctp6' }[proto ?? -1];
    out.push(s ?? 'ipv6');
    protoShown = s !== undefined;
  } else if (ethType !== undefined) out.push(`dl_type=${hex(ethType)}`);
  for (const o of match) {
    if (o.field === 'raw') throw new Error('raw OXM in an oracle sample');
    const v = o.value as unknown;
    const m = o.mask as unknown;
    const masked = (s: string, f: (x: unknown) => string = String): string => (m === undefined ? s : `${s}/${f(m)}`);
    switch (o.field) {
      case 'eth_type': break;
      case 'ip_proto': if (!protoShown) out.push(`nw_proto=${String(v)}`); break;
      case 'in_port': out.push(`in_port=${port(v as PortNo)}`); break;
      case 'eth_dst': out.push(masked(`dl_dst=${String(v)}`)); break;
      case 'eth_src': out.push(masked(`dl_src=${String(v)}`)); break;
      case 'vlan_vid':
        if (m !== undefined || ((v as number) & 0x1000) === 0) throw new Error('only exact present VLAN ids are mapped');
        out.push(`dl_vlan=${(v as number) & 0xfff}`);
        break;
      case 'vlan_pcp': out.push(`dl_vlan_pcp=${String(v)}`); break;
      case 'ipv4_src': out.push(m === undefined ? `nw_src=${String(v)}` : `nw_src=${String(v)}/${prefixLen(m as string)}`); break;
      case 'ipv4_dst': out.push(m === undefined ? `nw_dst=${String(v)}` : `nw_dst=${String(v)}/${prefixLen(m as string)}`); break;
      case 'tcp_src': case 'udp_src': out.push(`tp_src=${String(v)}`); break;
      case 'tcp_dst': case 'udp_dst': out.push(`tp_dst=${String(v)}`); break;
      case 'arp_op': out.push(`arp_op=${String(v)}`); break;
      case 'arp_spa': case 'arp_tpa': case 'arp_sha': case 'arp_tha': out.push(masked(`${o.field}=${String(v)}`)); break;
      case 'ipv6_src': case 'ipv6_dst': out.push(`${o.field}=${String(v)}`); break;
      case 'icmpv6_type': out.push(`icmp_type=${String(v)}`); break;
      case 'icmpv6_code': out.push(`icmp_code=${String(v)}`); break;
      case 'ipv6_nd_target': out.push(`nd_target=${String(v)}`); break;
      case 'metadata': out.push(masked(`metadata=${hex(v as bigint)}`, (x) => hex(x as bigint))); break;
      case 'tunnel_id': out.push(masked(`tun_id=${hex(v as bigint)}`, (x) => hex(x as bigint))); break;
      case 'tun_src': case 'tun_dst': out.push(`${o.field}=${String(v)}`); break;
      case 'reg0': case 'reg1': case 'reg2': case 'reg3': case 'reg4': case 'reg5': case 'reg6': case 'reg7':
        out.push(masked(`${o.field}=${hex(v as number)}`, (x) => hex(x as number)));
        break;
      default: throw new Error(`no ovs-ofctl mapping for match field ${o.field}`);
    }
  }
  return out.sort();
}

const NXM_NAMES: Record<string, [string, number]> = {
  eth_src: ['NXM_OF_ETH_SRC', 48], eth_dst: ['NXM_OF_ETH_DST', 48], arp_sha: ['NXM_NX_ARP_SHA', 48],
  arp_tha: ['NXM_NX_ARP_THA', 48], arp_spa: ['NXM_OF_ARP_SPA', 32], arp_tpa: ['NXM_OF_ARP_TPA', 32],
  ipv4_src: ['NXM_OF_IP_SRC', 32], ipv4_dst: ['NXM_OF_IP_DST', 32], tun_src: ['NXM_NX_TUN_IPV4_SRC', 32],
  tun_dst: ['NXM_NX_TUN_IPV4_DST', 32], tunnel_id: ['NXM_NX_TUN_ID', 64], in_port: ['NXM_OF_IN_PORT', 16],
  ...Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`reg${i}`, [`NXM_NX_REG${i}`, 32] as [string, number]])),
};

function subfield(ref: FieldRef, ofs: number, n: number): string {
  // Open vSwitch writes moves back with legacy NXM headers; they name the same fields.
  const f = canonicalFieldRef(ref);
  if (typeof f !== 'string') throw new Error(`no name for the move field ${JSON.stringify(f)}`);
  const e = NXM_NAMES[f];
  if (!e) throw new Error(`no NXM name for ${f}`);
  return ofs === 0 && n === e[1] ? `${e[0]}[]` : `${e[0]}[${ofs}..${ofs + n - 1}]`;
}

const SET_FIELD_NAMES: Record<string, string> = { tunnel_id: 'tun_id' };

export function ovsAction(a: Action): string {
  switch (a.type) {
    case 'OUTPUT': {
      if (a.port === 'CONTROLLER') return `CONTROLLER:${a.maxLen === 'NO_BUFFER' || a.maxLen === undefined ? 65535 : a.maxLen}`;
      return typeof a.port === 'number' ? `output:${a.port}` : a.port;
    }
    case 'SET_FIELD': {
      const f = a.field;
      if (!('value' in f)) throw new Error('raw set_field in an oracle sample');
      const name = SET_FIELD_NAMES[f.field] ?? f.field;
      const v = typeof f.value === 'bigint' || /^reg\d$/.test(f.field) ? hex(f.value as number | bigint) : String(f.value);
      return `set_field:${v}->${name}`;
    }
    case 'NX_REG_MOVE': return `move:${subfield(a.src, a.srcOfs, a.nBits)}->${subfield(a.dst, a.dstOfs, a.nBits)}`;
    case 'NX_RESUBMIT': {
      if (a.table === undefined || a.table === 255) return `resubmit:${port(a.port)}`;
      return `resubmit(${a.port === 'IN_PORT' ? '' : port(a.port)},${a.table})`;
    }
    case 'GROUP': return `group:${a.groupId}`;
    case 'SET_QUEUE': return `set_queue:${a.queueId}`;
    case 'POP_VLAN': return 'pop_vlan';
    case 'PUSH_VLAN': return `push_vlan:${hex(a.ethertype)}`;
    case 'PUSH_MPLS': return `push_mpls:${hex(a.ethertype)}`;
    case 'POP_MPLS': return `pop_mpls:0x${a.ethertype.toString(16).padStart(4, '0')}`;
    case 'SET_MPLS_TTL': return `set_mpls_ttl(${a.mplsTtl})`;
    case 'DEC_MPLS_TTL': return 'dec_mpls_ttl';
    case 'DEC_NW_TTL': return 'dec_ttl';
    case 'SET_NW_TTL': return `mod_nw_ttl:${a.nwTtl}`;
    case 'COPY_TTL_OUT': return 'copy_ttl_out';
    case 'COPY_TTL_IN': return 'copy_ttl_in';
    default: throw new Error(`no ovs-ofctl mapping for action ${a.type}`);
  }
}

const INSTRUCTION_ORDER = ['METER', 'APPLY_ACTIONS', 'CLEAR_ACTIONS', 'WRITE_ACTIONS', 'WRITE_METADATA', 'GOTO_TABLE'];

/** The `actions=` text of a flow: OVS prints instructions in its own fixed order, apply-actions inline. */
export function ovsActions(instructions: Instruction[]): string {
  const parts: string[] = [];
  const sorted = [...instructions].sort((a, b) => INSTRUCTION_ORDER.indexOf(a.type) - INSTRUCTION_ORDER.indexOf(b.type));
  for (const i of sorted) {
    switch (i.type) {
      case 'METER': parts.push(`meter:${i.meterId}`); break;
      case 'APPLY_ACTIONS': parts.push(...i.actions.map(ovsAction)); break;
      case 'CLEAR_ACTIONS': parts.push('clear_actions'); break;
      case 'WRITE_ACTIONS': parts.push(`write_actions(${i.actions.map(ovsAction).join(',')})`); break;
      case 'WRITE_METADATA': parts.push(`write_metadata:${hex(i.metadata)}${i.metadataMask === 0xffff_ffff_ffff_ffffn ? '' : `/${hex(i.metadataMask)}`}`); break;
      case 'GOTO_TABLE': parts.push(`goto_table:${i.tableId}`); break;
      default: throw new Error(`no ovs-ofctl mapping for instruction ${i.type}`);
    }
  }
  return parts.length ? parts.join(',') : 'drop';
}

export function expectedFlow(f: FlowModMessage | FlowStats): OvsFlow {
  const e: OvsFlow = {
    table: typeof f.tableId === 'number' ? f.tableId : 255, priority: f.priority, cookie: f.cookie,
    match: ovsMatch(f.match), actions: ovsActions(f.instructions),
  };
  if ('cookieMask' in f && f.cookieMask !== 0n) e.cookieMask = f.cookieMask;
  return e;
}

/**
 * Parses one flow as ovs-ofctl prints it, either in a FLOW_MOD
 * (`ADD table:10 priority=200,arp,... cookie:0x2a actions=...`) or in a flow dump
 * (`cookie=0x2a, duration=1s, table=10, ... priority=200,arp,... actions=...`).
 */
export function parseOvsFlow(line: string): OvsFlow {
  const actions = /\bactions=(.*)$/.exec(line)?.[1]?.trim();
  if (actions === undefined) throw new Error(`no actions= in ${line}`);
  const head = line.slice(0, line.indexOf('actions='));
  const table = /\btable[:=](\d+)/.exec(head)?.[1];
  const cookie = /\bcookie[:=](0x[0-9a-f]+)(?:\/(0x[0-9a-f]+))?/.exec(head);
  const words = head.split(/\s+/);
  // A non-strict DELETE has no priority, so OVS prints its match bare after `table:N`.
  const afterTable = words[words.findIndex((t) => /^table:\d+$/.test(t)) + 1];
  const bare = afterTable !== undefined && !/^(cookie|idle|hard|out_port|importance|buffer):|^(send_flow_rem|check_overlap|reset_counts|no_packet_counts|no_byte_counts)$/.test(afterTable)
    && /^table:\d+$/.test(words[words.indexOf(afterTable) - 1] ?? '') ? afterTable : undefined;
  const matchTok = words.find((t) => t.startsWith('priority=')) ?? bare;
  const tokens = (matchTok ?? '').split(',').filter((t) => t !== '');
  const priority = tokens.find((t) => t.startsWith('priority='));
  const flow: OvsFlow = {
    table: table ? Number(table) : 0,
    priority: priority ? Number(priority.slice('priority='.length)) : 0x8000,
    cookie: cookie ? BigInt(cookie[1]!) : 0n,
    match: tokens.filter((t) => !t.startsWith('priority=')).sort(),
    actions,
  };
  if (cookie?.[2]) flow.cookieMask = BigInt(cookie[2]);
  return flow;
}

/** The group line of a GROUP_MOD as ovs-ofctl prints it (`ADD group_id=7,type=select,bucket=...`). */
export function expectedGroupMod(g: GroupModMessage): string {
  const cmd = { ADD: 'ADD', MODIFY: 'MOD', DELETE: 'DEL' }[g.command];
  const id = typeof g.groupId === 'number' ? g.groupId : { ALL: 0xfffffffc, ANY: 0xffffffff }[g.groupId];
  const type = g.groupType.toLowerCase();
  const bucket = (b: Bucket): string => {
    const attrs: string[] = [];
    if (g.groupType === 'SELECT') attrs.push(`weight:${b.weight}`);
    if (g.groupType === 'FF') {
      if (b.watchPort !== 'ANY') attrs.push(`watch_port:${port(b.watchPort)}`);
      if (b.watchGroup !== 'ANY') attrs.push(`watch_group:${String(b.watchGroup)}`);
    }
    attrs.push(`actions=${b.actions.map(ovsAction).join(',')}`);
    return `bucket=${attrs.join(',')}`;
  };
  return [`${cmd} group_id=${id}`, `type=${type}`, ...g.buckets.map(bucket)].join(',');
}
