// Public value types of node-openflow: what decode() returns and encode() accepts.
// Names follow the OpenFlow 1.3.5 specification (section numbers in comments), upper-case for
// message, action and instruction types, lower-case ovs-ofctl style for OXM field names.
//
// Conventions (issue #2, "Values"):
// - 64-bit quantities (cookie, metadata, tunnel id, datapath id, generation id, byte/packet counters)
//   are bigint; everything that fits in 32 bits is number.
// - MAC addresses are lower-case "aa:bb:cc:dd:ee:ff"; IPv4 dotted quad; IPv6 in RFC 5952 canonical form.
// - Reserved port numbers decode to their spec names ('CONTROLLER', 'IN_PORT', 'ANY', ...); the encoder
//   accepts either the name or the number.

/** OpenFlow 1.3 wire version. */
export const OFP_VERSION = 0x04;

/** Reserved ports, spec 7.2.1 (enum ofp_port_no). */
export type ReservedPortName = 'MAX' | 'IN_PORT' | 'TABLE' | 'NORMAL' | 'FLOOD' | 'ALL' | 'CONTROLLER' | 'LOCAL' | 'ANY';
export type PortNo = number | ReservedPortName;

/** Reserved table ids (enum ofp_table): OFPTT_ALL = 0xff. */
export type TableId = number | 'ALL';

/** Group ids (enum ofp_group): OFPG_ALL, OFPG_ANY. */
export type GroupId = number | 'ALL' | 'ANY';

/** Buffer id: OFP_NO_BUFFER = 0xffffffff. */
export type BufferId = number | 'NO_BUFFER';

// ---------------------------------------------------------------------------------------------
// OXM match fields, spec 7.2.3.7 (OFPXMC_OPENFLOW_BASIC) plus the Nicira NXM fields Open vSwitch
// accepts in OpenFlow 1.3 that an overlay needs.

/** The value type of each known OXM field. */
export interface OxmFieldTypes {
  in_port: PortNo;
  in_phy_port: PortNo;
  metadata: bigint;
  eth_dst: string;
  eth_src: string;
  eth_type: number;
  vlan_vid: number; // includes OFPVID_PRESENT (0x1000) as on the wire
  vlan_pcp: number;
  ip_dscp: number;
  ip_ecn: number;
  ip_proto: number;
  ipv4_src: string;
  ipv4_dst: string;
  tcp_src: number;
  tcp_dst: number;
  udp_src: number;
  udp_dst: number;
  sctp_src: number;
  sctp_dst: number;
  icmpv4_type: number;
  icmpv4_code: number;
  arp_op: number;
  arp_spa: string;
  arp_tpa: string;
  arp_sha: string;
  arp_tha: string;
  ipv6_src: string;
  ipv6_dst: string;
  ipv6_flabel: number;
  icmpv6_type: number;
  icmpv6_code: number;
  ipv6_nd_target: string;
  ipv6_nd_sll: string;
  ipv6_nd_tll: string;
  mpls_label: number;
  mpls_tc: number;
  mpls_bos: number;
  pbb_isid: number;
  tunnel_id: bigint;
  ipv6_exthdr: number;
  pbb_uca: number; // OFPXMT_OFB_PBB_UCA (OpenFlow 1.4 field OVS also accepts in 1.3 via experimenter); optional
  // Nicira extensions (OXM class 0x0001, NXM_NX_*)
  tun_src: string; // NXM_NX_TUN_IPV4_SRC
  tun_dst: string; // NXM_NX_TUN_IPV4_DST
  reg0: number;
  reg1: number;
  reg2: number;
  reg3: number;
  reg4: number;
  reg5: number;
  reg6: number;
  reg7: number;
}

export type OxmFieldName = keyof OxmFieldTypes;

/** One known OXM TLV. `mask` present means the HASMASK bit is set on the wire. */
export type OxmKnown = {
  [K in OxmFieldName]: { field: K; value: OxmFieldTypes[K]; mask?: OxmFieldTypes[K] };
}[OxmFieldName];

/**
 * An OXM TLV the codec does not interpret: kept byte for byte and re-encoded unchanged.
 * `payload` is everything after the 4-byte OXM header (and after the experimenter id when
 * oxmClass is 0xffff), value and mask together.
 */
export interface OxmRaw {
  field: 'raw';
  oxmClass: number;
  oxmField: number;
  hasMask: boolean;
  experimenter?: number;
  payload: Uint8Array;
}

export type Oxm = OxmKnown | OxmRaw;

/** A match is an ordered list of OXM TLVs (spec 7.2.3, OFPMT_OXM). */
export type Match = Oxm[];

// ---------------------------------------------------------------------------------------------
// Actions, spec 7.2.5 (enum ofp_action_type), plus the Nicira actions an ARP responder needs.

/**
 * A reference to a field for NXAST_REG_MOVE: the NXM/OXM header identifies the field. A name
 * encodes as the field's OXM header (NXM_1 for reg0-7, tun_src/tun_dst). The object form is the
 * header itself and re-encodes to exactly those bits; decoding a legacy NXM header of a field the
 * codec knows (Open vSwitch writes NXM_OF_ETH_SRC, NXM_NX_ARP_SHA, NXM_OF_ARP_SPA... back in a
 * flow dump) adds its `name`, so `src.name === 'eth_src'` holds whichever spelling the switch used.
 */
export type FieldRef = OxmFieldName | { name?: OxmFieldName; oxmClass: number; oxmField: number; length: number; hasMask?: boolean };

export type Action =
  | { type: 'OUTPUT'; port: PortNo; maxLen?: number | 'NO_BUFFER' }
  | { type: 'COPY_TTL_OUT' }
  | { type: 'COPY_TTL_IN' }
  | { type: 'SET_MPLS_TTL'; mplsTtl: number }
  | { type: 'DEC_MPLS_TTL' }
  | { type: 'PUSH_VLAN'; ethertype: number }
  | { type: 'POP_VLAN' }
  | { type: 'PUSH_MPLS'; ethertype: number }
  | { type: 'POP_MPLS'; ethertype: number }
  | { type: 'SET_QUEUE'; queueId: number }
  | { type: 'GROUP'; groupId: number }
  | { type: 'SET_NW_TTL'; nwTtl: number }
  | { type: 'DEC_NW_TTL' }
  // A field the codec does not know (e.g. Open vSwitch's pkt_mark, ct_mark, reg8-15, any experimenter
  // OXM) is an OxmRaw, re-encoded byte for byte; consumers must handle field === 'raw'.
  | { type: 'SET_FIELD'; field: OxmKnown | OxmRaw }
  | { type: 'PUSH_PBB'; ethertype: number }
  | { type: 'POP_PBB' }
  // Nicira NXAST_REG_MOVE (ovs-ofctl `move:src[ofs..]->dst[ofs..]`); whole fields when offsets/bits omitted.
  | { type: 'NX_REG_MOVE'; src: FieldRef; dst: FieldRef; nBits: number; srcOfs: number; dstOfs: number }
  // Nicira NXAST_RESUBMIT / NXAST_RESUBMIT_TABLE (`resubmit(port,table)`); table 255 = current.
  | { type: 'NX_RESUBMIT'; port: PortNo; table?: number }
  // Any other experimenter action, kept byte for byte (data = everything after the experimenter id).
  | { type: 'EXPERIMENTER'; experimenter: number; data: Uint8Array };

export type ActionType = Action['type'];

// ---------------------------------------------------------------------------------------------
// Instructions, spec 7.2.4.

export type Instruction =
  | { type: 'GOTO_TABLE'; tableId: number }
  | { type: 'WRITE_METADATA'; metadata: bigint; metadataMask: bigint }
  | { type: 'WRITE_ACTIONS'; actions: Action[] }
  | { type: 'APPLY_ACTIONS'; actions: Action[] }
  | { type: 'CLEAR_ACTIONS' }
  | { type: 'METER'; meterId: number }
  | { type: 'EXPERIMENTER'; experimenter: number; data: Uint8Array };

// ---------------------------------------------------------------------------------------------
// FLOW_MOD, spec 7.3.4.2, and the flow entry as returned in a FLOW multipart reply (7.3.5.2).

export type FlowModCommand = 'ADD' | 'MODIFY' | 'MODIFY_STRICT' | 'DELETE' | 'DELETE_STRICT';
export type FlowModFlag = 'SEND_FLOW_REM' | 'CHECK_OVERLAP' | 'RESET_COUNTS' | 'NO_PKT_COUNTS' | 'NO_BYT_COUNTS';

export interface FlowModBody {
  cookie: bigint;
  cookieMask: bigint;
  tableId: TableId;
  command: FlowModCommand;
  idleTimeout: number;
  hardTimeout: number;
  priority: number;
  bufferId: BufferId;
  outPort: PortNo;
  outGroup: GroupId;
  flags: FlowModFlag[];
  match: Match;
  instructions: Instruction[];
}

/** ofp_flow_stats: one installed flow in a FLOW multipart reply. */
export interface FlowStats {
  tableId: number;
  durationSec: number;
  durationNsec: number;
  priority: number;
  idleTimeout: number;
  hardTimeout: number;
  flags: FlowModFlag[];
  cookie: bigint;
  packetCount: bigint;
  byteCount: bigint;
  match: Match;
  instructions: Instruction[];
}
