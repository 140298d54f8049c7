// Representative, non-trivial instances of every message the encoder builds: each OFPT type, each
// multipart request and reply type, the Nicira actions and fields, and the ONF bundle messages. The
// Open vSwitch oracle test, the fuzzer's seed corpus and the benchmark all start from these, so
// every sample is something Open vSwitch 3.1 itself accepts (prerequisites met, valid ids).
import { bundleAdd, bundleControl, encode, flowMod } from '../src/index.js';
import type {
  Action, FlowModMessage, FlowStats, Match, MultipartReplyMessage, OFMessage, PacketInMessage, PortDesc,
} from '../src/index.js';

const MAC_A = '02:00:0a:01:02:03';
const MAC_B = '02:00:0a:01:02:04';

/** A 42-byte ARP request from MAC_B asking for 10.1.2.3 (what a PACKET_IN carries). */
export const ARP_REQUEST = Buffer.from(
  'ffffffffffff' + '02000a010204' + '0806' + '0001 0800 06 04 0001'.replace(/ /g, '') +
    '02000a010204' + '0a010204' + '000000000000' + '0a010203',
  'hex',
);

/** The ARP responder flow of the overlay (ovs-userspace-lab.md), about 250 bytes on the wire. */
export function arpResponder(xid = 1): FlowModMessage {
  return flowMod({
    xid, tableId: 10, priority: 200, cookie: 0x8000_0001_0000_002an, idleTimeout: 0, flags: ['SEND_FLOW_REM'],
    match: [
      { field: 'reg6', value: 42 },
      { field: 'eth_type', value: 0x0806 },
      { field: 'arp_op', value: 1 },
      { field: 'arp_tpa', value: '10.1.2.3' },
    ],
    instructions: [{
      type: 'APPLY_ACTIONS',
      actions: [
        { type: 'NX_REG_MOVE', src: 'eth_src', dst: 'eth_dst', nBits: 48, srcOfs: 0, dstOfs: 0 },
        { type: 'SET_FIELD', field: { field: 'eth_src', value: MAC_A } },
        { type: 'SET_FIELD', field: { field: 'arp_op', value: 2 } },
        { type: 'NX_REG_MOVE', src: 'arp_sha', dst: 'arp_tha', nBits: 48, srcOfs: 0, dstOfs: 0 },
        { type: 'SET_FIELD', field: { field: 'arp_sha', value: MAC_A } },
        { type: 'NX_REG_MOVE', src: 'arp_spa', dst: 'arp_tpa', nBits: 32, srcOfs: 0, dstOfs: 0 },
        { type: 'SET_FIELD', field: { field: 'arp_spa', value: '10.1.2.3' } },
        { type: 'OUTPUT', port: 'IN_PORT' },
      ],
    }],
  });
}

export function packetIn(xid = 0): PacketInMessage {
  return {
    type: 'PACKET_IN', xid, bufferId: 'NO_BUFFER', totalLen: ARP_REQUEST.length, reason: 'ACTION', tableId: 3,
    cookie: 0x1234_5678_9abc_def0n,
    match: [{ field: 'in_port', value: 7 }, { field: 'tunnel_id', value: 5001n }, { field: 'tun_src', value: '192.168.100.2' }, { field: 'reg0', value: 3 }],
    data: ARP_REQUEST,
  };
}

const tunnelMatch: Match = [
  { field: 'in_port', value: 3 },
  { field: 'eth_dst', value: MAC_B },
  { field: 'eth_type', value: 0x0800 },
  { field: 'ipv4_src', value: '10.1.0.0', mask: '255.255.0.0' },
  { field: 'ip_proto', value: 6 },
  { field: 'tcp_dst', value: 443 },
];

const tunnelActions: Action[] = [
  { type: 'SET_FIELD', field: { field: 'tunnel_id', value: 5001n } },
  { type: 'SET_FIELD', field: { field: 'tun_dst', value: '192.168.100.3' } },
  { type: 'SET_FIELD', field: { field: 'reg1', value: 0xbeef } },
  { type: 'NX_RESUBMIT', port: 'IN_PORT', table: 4 },
  { type: 'NX_RESUBMIT', port: 9 },
  { type: 'OUTPUT', port: 5 },
];

/** One flow of a FLOW stats reply; i varies the values so a reply of many flows is not one repeated entry. */
export function flowStatsEntry(i: number): FlowStats {
  return {
    tableId: i % 8, durationSec: 3600 + i, durationNsec: 500_000_000, priority: 100 + (i % 50), idleTimeout: 0,
    hardTimeout: 0, flags: ['SEND_FLOW_REM'], cookie: 0x8000_0000_0000_0000n + BigInt(i), packetCount: BigInt(i * 7),
    byteCount: BigInt(i * 7 * 98),
    match: [
      { field: 'in_port', value: 1 + (i % 16) },
      { field: 'eth_type', value: 0x0800 },
      { field: 'ipv4_dst', value: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` },
    ],
    instructions: [
      { type: 'APPLY_ACTIONS', actions: [{ type: 'SET_FIELD', field: { field: 'tunnel_id', value: BigInt(5000 + i) } }, { type: 'OUTPUT', port: 2 }] },
      { type: 'GOTO_TABLE', tableId: 9 },
    ],
  };
}

export function flowStatsReply(n: number, xid = 0): MultipartReplyMessage {
  return { type: 'MULTIPART_REPLY', xid, mpType: 'FLOW', flags: [], body: Array.from({ length: n }, (_, i) => flowStatsEntry(i)) };
}

const port1: PortDesc = {
  portNo: 1, hwAddr: '52:54:00:12:34:56', name: 'veth-c1', config: [], state: ['LIVE'], curr: ['10GB_FD', 'COPPER'],
  advertised: [], supported: ['10GB_FD'], peer: [], currSpeed: 10_000_000, maxSpeed: 0,
};
const portLocal: PortDesc = {
  portNo: 'LOCAL', hwAddr: '52:54:00:ab:cd:ef', name: 'br-int', config: ['PORT_DOWN'], state: ['LINK_DOWN'], curr: [],
  advertised: [], supported: [], peer: [], currSpeed: 0, maxSpeed: 0,
};

/** name -> message: one (or more) of every kind. Names are stable (the oracle test reports by them). */
export function samples(): Map<string, OFMessage> {
  const m = new Map<string, OFMessage>();
  const add = (name: string, msg: OFMessage): void => {
    m.set(name, msg);
  };
  add('hello', { type: 'HELLO', xid: 1, elements: [{ type: 'VERSIONBITMAP', versions: [1, 4] }] });
  // The data is the whole offending request, as Open vSwitch sends it back.
  const offending = encode(flowMod({ xid: 10, tableId: 1, priority: 5, match: [{ field: 'eth_type', value: 0x0806 }, { field: 'arp_tpa', value: '10.1.2.3' }] }));
  add('error', { type: 'ERROR', xid: 2, errType: 'BAD_MATCH', code: 'BAD_PREREQ', data: offending });
  add('echo_request', { type: 'ECHO_REQUEST', xid: 3, data: Buffer.from('bumless') });
  add('echo_reply', { type: 'ECHO_REPLY', xid: 3, data: Buffer.from('bumless') });
  // NXT_SET_CONTROLLER_ID: zero[6], controller_id.
  add('experimenter', { type: 'EXPERIMENTER', xid: 4, experimenter: 0x00002320, expType: 20, data: Buffer.from('000000000000000a', 'hex') });
  add('features_request', { type: 'FEATURES_REQUEST', xid: 5 });
  add('features_reply', {
    type: 'FEATURES_REPLY', xid: 5, datapathId: 0x0000_5254_0012_3456n, nBuffers: 0, nTables: 254, auxiliaryId: 0,
    capabilities: ['FLOW_STATS', 'TABLE_STATS', 'PORT_STATS', 'GROUP_STATS', 'QUEUE_STATS'], reserved: 0,
  });
  add('get_config_request', { type: 'GET_CONFIG_REQUEST', xid: 6 });
  add('get_config_reply', { type: 'GET_CONFIG_REPLY', xid: 6, flags: 0, missSendLen: 128 });
  add('set_config', { type: 'SET_CONFIG', xid: 7, flags: 0, missSendLen: 'NO_BUFFER' });
  add('packet_in', packetIn(8));
  add('flow_removed', {
    type: 'FLOW_REMOVED', xid: 9, cookie: 0xfedc_ba98_7654_3210n, priority: 300, reason: 'IDLE_TIMEOUT', tableId: 2,
    durationSec: 61, durationNsec: 250_000, idleTimeout: 60, hardTimeout: 0, packetCount: 12n, byteCount: 1176n,
    match: [{ field: 'eth_type', value: 0x86dd }, { field: 'ipv6_src', value: 'fd00::1' }, { field: 'ipv6_dst', value: 'fd00::2' }],
  });
  add('port_status', { type: 'PORT_STATUS', xid: 0, reason: 'MODIFY', port: port1 });
  add('packet_out', {
    type: 'PACKET_OUT', xid: 10, bufferId: 'NO_BUFFER', inPort: 'CONTROLLER',
    actions: [{ type: 'SET_FIELD', field: { field: 'eth_src', value: MAC_A } }, { type: 'OUTPUT', port: 4 }], data: ARP_REQUEST,
  });
  add('flow_mod_arp_responder', arpResponder(11));
  add('flow_mod_tunnel', flowMod({
    xid: 12, tableId: 1, priority: 100, cookie: 0x8000_0002_0000_0001n, idleTimeout: 30, hardTimeout: 300, flags: ['SEND_FLOW_REM', 'CHECK_OVERLAP'],
    match: tunnelMatch,
    instructions: [
      { type: 'METER', meterId: 1 },
      { type: 'APPLY_ACTIONS', actions: tunnelActions },
      { type: 'WRITE_METADATA', metadata: 0x0000_0000_0000_1389n, metadataMask: 0x0000_0000_ffff_ffffn },
      { type: 'GOTO_TABLE', tableId: 5 },
    ],
  }));
  add('flow_mod_ipv6_write', flowMod({
    xid: 13, tableId: 2, priority: 50,
    match: [
      { field: 'eth_type', value: 0x86dd }, { field: 'ip_proto', value: 58 }, { field: 'icmpv6_type', value: 135 },
      { field: 'ipv6_nd_target', value: 'fd00::10' }, { field: 'vlan_vid', value: 0x1000 | 10 },
    ],
    instructions: [
      { type: 'CLEAR_ACTIONS' },
      { type: 'WRITE_ACTIONS', actions: [{ type: 'POP_VLAN' }, { type: 'SET_QUEUE', queueId: 1 }, { type: 'GROUP', groupId: 7 }] },
    ],
  }));
  add('flow_mod_delete_strict', flowMod({
    xid: 14, command: 'DELETE_STRICT', tableId: 3, priority: 10, cookie: 0x42n, cookieMask: 0xffff_ffff_ffff_ffffn, outPort: 'ANY', outGroup: 'ANY',
    match: [{ field: 'reg7', value: 0x10, mask: 0xf0 }, { field: 'metadata', value: 0x10n, mask: 0xffn }],
  }));
  add('flow_mod_vlan_mpls', flowMod({
    xid: 15, tableId: 4, priority: 1000, command: 'MODIFY',
    match: [{ field: 'in_port', value: 2 }, { field: 'vlan_vid', value: 0x1000 | 20 }, { field: 'vlan_pcp', value: 3 }],
    instructions: [{
      type: 'APPLY_ACTIONS',
      actions: [
        { type: 'PUSH_VLAN', ethertype: 0x8100 }, { type: 'SET_FIELD', field: { field: 'vlan_vid', value: 0x1000 | 30 } },
        { type: 'PUSH_MPLS', ethertype: 0x8847 }, { type: 'SET_MPLS_TTL', mplsTtl: 64 }, { type: 'DEC_MPLS_TTL' },
        { type: 'OUTPUT', port: 'CONTROLLER', maxLen: 128 },
      ],
    }],
  }));
  // The other commands, and every flag: MODIFY resets counters and keeps none; MODIFY_STRICT asks
  // for FLOW_REMOVED and an overlap check; a non-strict DELETE filters by out_port, out_group and a
  // cookie mask (priority does not apply to it, so it stays the default).
  add('flow_mod_modify', flowMod({
    xid: 60, command: 'MODIFY', tableId: 2, priority: 7, flags: ['RESET_COUNTS', 'NO_PKT_COUNTS', 'NO_BYT_COUNTS'],
    match: [{ field: 'in_port', value: 1 }, { field: 'eth_type', value: 0x0800 }, { field: 'ipv4_dst', value: '10.1.2.0', mask: '255.255.255.0' }],
    instructions: [{ type: 'APPLY_ACTIONS', actions: [{ type: 'DEC_NW_TTL' }, { type: 'OUTPUT', port: 2 }] }],
  }));
  add('flow_mod_modify_strict', flowMod({
    xid: 61, command: 'MODIFY_STRICT', tableId: 3, priority: 9, cookie: 0x5n, cookieMask: 0xffn, idleTimeout: 10, flags: ['SEND_FLOW_REM', 'CHECK_OVERLAP'],
    match: [{ field: 'reg6', value: 42 }, { field: 'eth_src', value: MAC_B }],
    instructions: [{ type: 'GOTO_TABLE', tableId: 4 }],
  }));
  add('flow_mod_delete', flowMod({
    xid: 62, command: 'DELETE', tableId: 'ALL', cookie: 0x8000_0001_0000_0000n, cookieMask: 0xffff_ffff_0000_0000n, outPort: 5, outGroup: 7,
    match: [{ field: 'eth_type', value: 0x0806 }],
  }));
  add('group_mod_indirect', {
    type: 'GROUP_MOD', xid: 63, command: 'ADD', groupType: 'INDIRECT', groupId: 11,
    buckets: [{ weight: 0, watchPort: 'ANY', watchGroup: 'ANY', actions: [{ type: 'SET_FIELD', field: { field: 'tun_dst', value: '192.168.100.5' } }, { type: 'OUTPUT', port: 5 }] }],
  });
  add('group_mod_all_modify', {
    type: 'GROUP_MOD', xid: 64, command: 'MODIFY', groupType: 'ALL', groupId: 12,
    buckets: [
      { weight: 0, watchPort: 'ANY', watchGroup: 'ANY', actions: [{ type: 'OUTPUT', port: 1 }] },
      { weight: 0, watchPort: 'ANY', watchGroup: 'ANY', actions: [{ type: 'OUTPUT', port: 2 }] },
    ],
  });
  add('group_mod_delete_one', { type: 'GROUP_MOD', xid: 65, command: 'DELETE', groupType: 'INDIRECT', groupId: 11, buckets: [] });
  add('group_mod_select', {
    type: 'GROUP_MOD', xid: 16, command: 'ADD', groupType: 'SELECT', groupId: 7,
    buckets: [
      { weight: 10, watchPort: 'ANY', watchGroup: 'ANY', actions: [{ type: 'SET_FIELD', field: { field: 'tun_dst', value: '192.168.100.3' } }, { type: 'OUTPUT', port: 5 }] },
      { weight: 20, watchPort: 'ANY', watchGroup: 'ANY', actions: [{ type: 'SET_FIELD', field: { field: 'tun_dst', value: '192.168.100.4' } }, { type: 'OUTPUT', port: 5 }] },
    ],
  });
  add('group_mod_ff', {
    type: 'GROUP_MOD', xid: 17, command: 'MODIFY', groupType: 'FF', groupId: 8,
    buckets: [
      { weight: 0, watchPort: 3, watchGroup: 'ANY', actions: [{ type: 'OUTPUT', port: 3 }] },
      { weight: 0, watchPort: 4, watchGroup: 'ANY', actions: [{ type: 'OUTPUT', port: 4 }] },
    ],
  });
  add('group_mod_delete', { type: 'GROUP_MOD', xid: 18, command: 'DELETE', groupType: 'ALL', groupId: 'ALL', buckets: [] });
  add('port_mod', {
    type: 'PORT_MOD', xid: 19, portNo: 1, hwAddr: '52:54:00:12:34:56', config: ['NO_PACKET_IN'], mask: ['NO_PACKET_IN', 'PORT_DOWN'], advertise: [],
  });
  add('table_mod', { type: 'TABLE_MOD', xid: 20, tableId: 'ALL', config: 0 });
  add('barrier_request', { type: 'BARRIER_REQUEST', xid: 21 });
  add('barrier_reply', { type: 'BARRIER_REPLY', xid: 21 });
  add('queue_get_config_request', { type: 'QUEUE_GET_CONFIG_REQUEST', xid: 22, port: 1 });
  add('queue_get_config_reply', {
    type: 'QUEUE_GET_CONFIG_REPLY', xid: 22, port: 1,
    queues: [{ queueId: 1, port: 1, properties: [{ property: 'MIN_RATE', rate: 100 }, { property: 'MAX_RATE', rate: 500 }] }],
  });
  add('role_request', { type: 'ROLE_REQUEST', xid: 23, role: 'MASTER', generationId: 0x1_0000_0001n });
  add('role_reply', { type: 'ROLE_REPLY', xid: 23, role: 'MASTER', generationId: 0x1_0000_0001n });
  add('get_async_request', { type: 'GET_ASYNC_REQUEST', xid: 24 });
  add('get_async_reply', { type: 'GET_ASYNC_REPLY', xid: 24, packetInMask: [3, 0], portStatusMask: [7, 7], flowRemovedMask: [15, 0] });
  add('set_async', { type: 'SET_ASYNC', xid: 25, packetInMask: [1, 0], portStatusMask: [7, 0], flowRemovedMask: [1, 0] });
  add('meter_mod', {
    type: 'METER_MOD', xid: 26, command: 'ADD', flags: ['KBPS', 'BURST', 'STATS'], meterId: 1,
    bands: [{ type: 'DROP', rate: 10_000, burstSize: 1000 }, { type: 'DSCP_REMARK', rate: 20_000, burstSize: 2000, precLevel: 1 }],
  });

  // Multipart requests (7.3.5).
  const req = (mp: Record<string, unknown>): OFMessage => ({ type: 'MULTIPART_REQUEST', flags: [], ...mp }) as unknown as OFMessage;
  add('mp_desc_request', req({ xid: 30, mpType: 'DESC' }));
  add('mp_flow_request', req({
    xid: 31, mpType: 'FLOW',
    body: { tableId: 1, outPort: 2, outGroup: 7, cookie: 0x8000_0000_0000_0000n, cookieMask: 0xff00_0000_0000_0000n, match: [{ field: 'reg6', value: 42 }] },
  }));
  add('mp_aggregate_request', req({
    xid: 32, mpType: 'AGGREGATE',
    body: { tableId: 'ALL', outPort: 'ANY', outGroup: 'ANY', cookie: 0n, cookieMask: 0n, match: [{ field: 'eth_type', value: 0x0806 }] },
  }));
  add('mp_table_request', req({ xid: 33, mpType: 'TABLE' }));
  add('mp_port_stats_request', req({ xid: 34, mpType: 'PORT_STATS', body: { portNo: 1 } }));
  add('mp_queue_request', req({ xid: 35, mpType: 'QUEUE', body: { portNo: 'ANY', queueId: 'ALL' } }));
  add('mp_queue_request_one', req({ xid: 45, mpType: 'QUEUE', body: { portNo: 3, queueId: 2 } }));
  add('mp_group_request', req({ xid: 36, mpType: 'GROUP', body: { groupId: 'ALL' } }));
  add('mp_group_request_one', req({ xid: 46, mpType: 'GROUP', body: { groupId: 7 } }));
  add('mp_group_desc_request', req({ xid: 37, mpType: 'GROUP_DESC' }));
  add('mp_group_features_request', req({ xid: 38, mpType: 'GROUP_FEATURES' }));
  add('mp_meter_request', req({ xid: 39, mpType: 'METER', body: { meterId: 'ALL' } }));
  add('mp_meter_config_request', req({ xid: 40, mpType: 'METER_CONFIG', body: { meterId: 1 } }));
  add('mp_meter_features_request', req({ xid: 41, mpType: 'METER_FEATURES' }));
  add('mp_table_features_request', req({ xid: 42, mpType: 'TABLE_FEATURES', body: [] }));
  add('mp_port_desc_request', req({ xid: 43, mpType: 'PORT_DESC' }));
  // ONFST_FLOW_MONITOR request (ONF 1870) as Open vSwitch reads it: id 1, flags INITIAL|ADD, out_port ANY, all tables, empty OXM match.
  add('mp_experimenter_request', req({
    xid: 44, mpType: 'EXPERIMENTER',
    body: { experimenter: 0x4f4e4600, expType: 1870, data: Buffer.from('0000000100030000ffffffffff0000000001000400000000', 'hex') },
  }));

  // Multipart replies.
  const rep = (mp: Record<string, unknown>): OFMessage => ({ type: 'MULTIPART_REPLY', flags: [], ...mp }) as unknown as OFMessage;
  add('mp_desc_reply', rep({
    xid: 30, mpType: 'DESC',
    body: { mfrDesc: 'Nicira, Inc.', hwDesc: 'Open vSwitch', swDesc: '3.1.0', serialNum: 'None', dpDesc: 'br-int' },
  }));
  add('mp_flow_reply', flowStatsReply(3, 31));
  add('mp_aggregate_reply', rep({ xid: 32, mpType: 'AGGREGATE', body: { packetCount: 1000n, byteCount: 98_000n, flowCount: 12 } }));
  add('mp_table_reply', rep({
    xid: 33, mpType: 'TABLE',
    body: [{ tableId: 0, activeCount: 4, lookupCount: 1000n, matchedCount: 990n }, { tableId: 1, activeCount: 2, lookupCount: 990n, matchedCount: 10n }],
  }));
  add('mp_port_stats_reply', rep({
    xid: 34, mpType: 'PORT_STATS',
    body: [{
      portNo: 1, rxPackets: 10n, txPackets: 20n, rxBytes: 1000n, txBytes: 2000n, rxDropped: 0n, txDropped: 1n, rxErrors: 0n,
      txErrors: 0n, rxFrameErr: 0n, rxOverErr: 0n, rxCrcErr: 0n, collisions: 0n, durationSec: 100, durationNsec: 5,
    }],
  }));
  add('mp_queue_reply', rep({
    xid: 35, mpType: 'QUEUE',
    body: [{ portNo: 1, queueId: 1, txBytes: 500n, txPackets: 5n, txErrors: 0n, durationSec: 10, durationNsec: 0 }],
  }));
  add('mp_group_reply', rep({
    xid: 36, mpType: 'GROUP',
    body: [{ groupId: 7, refCount: 1, packetCount: 30n, byteCount: 3000n, durationSec: 12, durationNsec: 0, bucketStats: [{ packetCount: 10n, byteCount: 1000n }, { packetCount: 20n, byteCount: 2000n }] }],
  }));
  add('mp_group_desc_reply', rep({
    xid: 37, mpType: 'GROUP_DESC',
    body: [{ groupType: 'ALL', groupId: 9, buckets: [{ weight: 0, watchPort: 'ANY', watchGroup: 'ANY', actions: [{ type: 'OUTPUT', port: 1 }] }, { weight: 0, watchPort: 'ANY', watchGroup: 'ANY', actions: [{ type: 'OUTPUT', port: 2 }] }] }],
  }));
  add('mp_group_features_reply', rep({
    xid: 38, mpType: 'GROUP_FEATURES',
    // Distinct per group type, so a value read from the wrong slot shows: output+group+set_field,
    // output+push/pop vlan, set_queue+mod_nw_ttl+dec_ttl, output+mpls.
    body: {
      types: 0xf, capabilities: 0x7, maxGroups: [4096, 1024, 512, 64],
      actions: [(1 | 1 << 22 | 1 << 25) >>> 0, (1 | 1 << 17 | 1 << 18) >>> 0, (1 << 21 | 1 << 23 | 1 << 24) >>> 0, (1 | 1 << 15 | 1 << 16 | 1 << 19 | 1 << 20) >>> 0],
    },
  }));
  add('mp_meter_reply', rep({
    xid: 39, mpType: 'METER',
    body: [{ meterId: 1, flowCount: 2, packetInCount: 100n, byteInCount: 10_000n, durationSec: 5, durationNsec: 0, bandStats: [{ packetBandCount: 3n, byteBandCount: 300n }] }],
  }));
  add('mp_meter_config_reply', rep({
    xid: 40, mpType: 'METER_CONFIG',
    body: [{ flags: ['KBPS', 'BURST'], meterId: 1, bands: [{ type: 'DROP', rate: 10_000, burstSize: 1000 }] }],
  }));
  add('mp_meter_features_reply', rep({
    xid: 41, mpType: 'METER_FEATURES', body: { maxMeter: 200_000, bandTypes: 0x2, capabilities: 0xf, maxBands: 1, maxColor: 0 },
  }));
  add('mp_table_features_reply', rep({
    xid: 42, mpType: 'TABLE_FEATURES',
    body: [{
      tableId: 0, name: 'classifier', metadataMatch: 0xffff_ffff_ffff_ffffn, metadataWrite: 0xffff_ffff_ffff_ffffn, config: 0, maxEntries: 1_000_000,
      properties: [
        { type: 'INSTRUCTIONS', ids: [{ type: 1 }, { type: 2 }, { type: 3 }, { type: 4 }, { type: 5 }, { type: 6 }] },
        { type: 'NEXT_TABLES', tableIds: [1, 2, 3] },
        { type: 'WRITE_ACTIONS', ids: [{ type: 0 }, { type: 25 }] },
        { type: 'APPLY_ACTIONS', ids: [{ type: 0 }, { type: 17 }, { type: 25 }] },
        { type: 'MATCH', oxmIds: [{ oxmClass: 0x8000, oxmField: 0, hasMask: false, length: 4 }, { oxmClass: 0x8000, oxmField: 3, hasMask: true, length: 12 }] },
        { type: 'WILDCARDS', oxmIds: [{ oxmClass: 0x8000, oxmField: 3, hasMask: false, length: 6 }] },
        { type: 'WRITE_SETFIELD', oxmIds: [{ oxmClass: 0x8000, oxmField: 3, hasMask: false, length: 6 }] },
        { type: 'APPLY_SETFIELD', oxmIds: [{ oxmClass: 0x8000, oxmField: 4, hasMask: false, length: 6 }] },
      ],
    }],
  }));
  add('mp_port_desc_reply', rep({ xid: 43, mpType: 'PORT_DESC', body: [port1, portLocal] }));
  // ONFST_FLOW_MONITOR reply with one abbreviated update (length 8, ABBREV, xid 1).
  add('mp_experimenter_reply', rep({ xid: 44, mpType: 'EXPERIMENTER', body: { experimenter: 0x4f4e4600, expType: 1870, data: Buffer.from('0008000300000001', 'hex') } }));

  // ONF bundles (OpenFlow 1.3 experimenter form, as Open vSwitch implements them).
  add('bundle_open', bundleControl(0x1001, 'OPEN_REQUEST', ['ATOMIC'], 50));
  add('bundle_add_flow_mod', bundleAdd(0x1001, arpResponder(51)));
  add('bundle_add_group_mod', bundleAdd(0x1001, m.get('group_mod_select')!, ['ATOMIC', 'ORDERED']));
  add('bundle_commit', bundleControl(0x1001, 'COMMIT_REQUEST', ['ATOMIC'], 52));
  add('bundle_discard', bundleControl(0x1002, 'DISCARD_REQUEST', ['ATOMIC'], 53));
  return m;
}
