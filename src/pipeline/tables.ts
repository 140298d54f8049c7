// The table layout as data: table numbers, priorities, the metadata encoding and a one-line account
// of every flow family. desired.ts builds flows only from these constants and docs/pipeline.md
// describes the same layout; test/unit/pipeline.test.ts checks that every emitted flow belongs to a
// family listed here, so the three cannot drift apart silently.
import type { FlowKindName } from './cookie.js';

/** Table numbers. Gaps leave room for future stages without renumbering installed flows. */
export const Table = {
  CLASSIFY: 0,
  PORT_SECURITY: 10,
  ARP_RESPONDER: 20,
  FORWARD: 30,
} as const;
export type TableId = (typeof Table)[keyof typeof Table];

/**
 * Pipeline metadata (OXM metadata, written with WRITE_METADATA in table 0):
 * bits 0-23 the network's VNI, bit 24 set when the frame came in through the tunnel port.
 */
export const Metadata = {
  VNI_MASK: 0xffffffn,
  FROM_TUNNEL: 1n << 24n,
  /** VNI and tunnel bit together: matching with this mask means "this network, from a local port". */
  NETWORK_MASK: 0x1ffffffn,
} as const;

export const Priority = {
  classify: { local: 100, tunnel: 100, miss: 0 },
  portSecurity: { allow: 100, groupDrop: 50, networkDrop: 1, miss: 0 },
  arp: { ownProbeDrop: 300, respond: 200, pass: 0 },
  forward: { unicast: 100, multicast: 60, unknownUnicast: 40, miss: 0 },
} as const;

export const BROADCAST = 'ff:ff:ff:ff:ff:ff';
/** The Ethernet group bit: set in every broadcast and multicast destination. */
export const GROUP_BIT = '01:00:00:00:00:00';
export const ETH_IPV4 = 0x0800;
export const ETH_ARP = 0x0806;
export const ETH_IPV6 = 0x86dd;
/** Matching and VLAN: OFPVID_NONE, the value of vlan_vid for an untagged frame. */
export const VLAN_NONE = 0;

export interface FlowFamily {
  kind: FlowKindName;
  priority: number;
  /** How many flows of this family a host installs. */
  count: string;
  match: string;
  actions: string;
  why: string;
}

export interface TableSpec {
  id: TableId;
  name: string;
  purpose: string;
  families: FlowFamily[];
}

export const TABLES: readonly TableSpec[] = [
  {
    id: Table.CLASSIFY,
    name: 'classify',
    purpose: 'Admit frames from known sources only and tag them with their network (metadata).',
    families: [
      {
        kind: 'classify-local',
        priority: Priority.classify.local,
        count: 'one per attached local endpoint',
        match: 'in_port=<port>, vlan_vid=none, eth_src=<endpoint MAC>',
        actions: 'write_metadata:<VNI>/0x1ffffff, goto_table:10',
        why: 'source-MAC port security; untagged only, so no tenant can smuggle a VLAN tag through',
      },
      {
        kind: 'classify-tunnel',
        priority: Priority.classify.tunnel,
        count: 'one per (active network, remote VTEP hosting endpoints of it)',
        match: 'in_port=<tunnel>, tunnel_id=<VNI>, tun_src=<peer VTEP>',
        actions: 'write_metadata:<VNI>|0x1000000/0x1ffffff, goto_table:30',
        why: 'only known VNIs from peers that host that network; bit 24 drives split horizon',
      },
      {
        kind: 'default-drop',
        priority: Priority.classify.miss,
        count: 'one',
        match: '(any)',
        actions: 'drop',
        why: 'unknown port, forged source MAC, tagged frame, unknown VNI or peer',
      },
    ],
  },
  {
    id: Table.PORT_SECURITY,
    name: 'port-security',
    purpose: 'Layer-3 source checks for frames from local ports (network already known from metadata).',
    families: [
      {
        kind: 'port-security',
        priority: Priority.portSecurity.allow,
        count: 'per attached local endpoint: one per IPv4 address (IP) + one per IPv4 address and one for 0.0.0.0 (ARP) + one per IPv6 address',
        match:
          'metadata=<VNI>/0x1ffffff, in_port, eth_src, and ip,nw_src=<its IPv4> | arp,arp_sha=<its MAC>,arp_spa=<its IPv4 or 0.0.0.0> | ipv6,ipv6_src=<its IPv6>',
        actions: 'goto_table:20 (ARP) or goto_table:30 (IPv4, IPv6)',
        why: 'an endpoint may only speak with its registered addresses; 0.0.0.0 admits RFC 5227 probes',
      },
      {
        kind: 'bum-drop',
        priority: Priority.portSecurity.groupDrop,
        count: 'one per active network',
        match: 'metadata=<VNI>/0x1ffffff, eth_dst=01:00:00:00:00:00/01:00:00:00:00:00',
        actions: 'drop',
        why: 'broadcast and multicast that fail the source checks (IPv6 ND/MLD/RS from link-local or ::, DHCP discover from 0.0.0.0, LLDP, STP) are BUM, not spoofing',
      },
      {
        kind: 'port-security-drop',
        priority: Priority.portSecurity.networkDrop,
        count: 'one per active network',
        match: 'metadata=<VNI>/0x1ffffff',
        actions: 'drop',
        why: 'unicast with a forged IP/ARP sender or another ethertype; counted per network',
      },
      { kind: 'default-drop', priority: Priority.portSecurity.miss, count: 'one', match: '(any)', actions: 'drop', why: 'unreachable by construction; a counter that moves means a bug' },
    ],
  },
  {
    id: Table.ARP_RESPONDER,
    name: 'arp-responder',
    purpose: 'Answer broadcast ARP requests for known addresses inside the switch; never flood ARP.',
    families: [
      {
        kind: 'arp-own-probe-drop',
        priority: Priority.arp.ownProbeDrop,
        count: 'per attached local endpoint, one per IPv4 address',
        match: 'metadata=<VNI>/0x1ffffff, in_port=<its port>, arp, arp_op=1, arp_tpa=<its own IPv4>',
        actions: 'drop',
        why: 'a probe or gratuitous ARP for the sender\'s own address must not be answered, or duplicate address detection reports a conflict',
      },
      {
        kind: 'arp-responder',
        priority: Priority.arp.respond,
        count: 'per active network, one per IPv4 address of its local and remote endpoints',
        match: 'metadata=<VNI>/0x1ffffff, eth_dst=ff:ff:ff:ff:ff:ff, arp, arp_op=1, arp_tpa=<IPv4>',
        actions:
          'move:eth_src->eth_dst, set_field:<MAC>->eth_src, set_field:2->arp_op, move:arp_sha->arp_tha, move:arp_spa->arp_tpa, set_field:<MAC>->arp_sha, set_field:<IPv4>->arp_spa, output:IN_PORT',
        why: 'strict responder: only broadcast requests (opcode 1) for a registered (network, IP)',
      },
      {
        kind: 'arp-pass',
        priority: Priority.arp.pass,
        count: 'one',
        match: '(any)',
        actions: 'goto_table:30',
        why: 'unicast requests reach their target (liveness probes), replies are forwarded as unicast, and broadcast ARP for unknown IPs is dropped and counted in table 30',
      },
    ],
  },
  {
    id: Table.FORWARD,
    name: 'forward',
    purpose: 'Unicast forwarding per (network, destination MAC); everything else is dropped with a counter.',
    families: [
      {
        kind: 'unicast-local',
        priority: Priority.forward.unicast,
        count: 'one per attached local endpoint',
        match: 'metadata=<VNI>/0xffffff, eth_dst=<endpoint MAC>',
        actions: 'output:<port>',
        why: 'from local ports and from the tunnel alike',
      },
      {
        kind: 'unicast-remote',
        priority: Priority.forward.unicast,
        count: 'per active network, one per remote endpoint',
        match: 'metadata=<VNI>/0x1ffffff, eth_dst=<endpoint MAC>',
        actions: 'set_field:<VTEP>->tun_dst, set_field:<VNI>->tunnel_id, output:<tunnel>',
        why: 'the tunnel bit must be 0: a frame that came from a tunnel never goes back into one',
      },
      {
        kind: 'bum-drop',
        priority: Priority.forward.multicast,
        count: 'one per active network',
        match: 'metadata=<VNI>/0xffffff, eth_dst=01:00:00:00:00:00/01:00:00:00:00:00',
        actions: 'drop',
        why: 'broadcast and multicast, including broadcast ARP for unknown IPs and IPv6 ND/MLD/RS',
      },
      {
        kind: 'unknown-unicast-drop',
        priority: Priority.forward.unknownUnicast,
        count: 'one per active network',
        match: 'metadata=<VNI>/0x1ffffff',
        actions: 'drop',
        why: 'unicast to a MAC the registry does not know in this network',
      },
      {
        kind: 'split-horizon-drop',
        priority: Priority.forward.unknownUnicast,
        count: 'one per active network',
        match: 'metadata=<VNI>|0x1000000/0x1ffffff',
        actions: 'drop',
        why: 'unicast from the tunnel for a MAC that is not local here (stale peer state, e.g. after a move)',
      },
      { kind: 'default-drop', priority: Priority.forward.miss, count: 'one', match: '(any)', actions: 'drop', why: 'unreachable by construction' },
    ],
  },
];
