// A described frame: the header fields a switch would parse, named like OXM fields (ovs-ofctl style),
// with the tunnel key as `tun_id`. Only what a test describes is present; absent fields read as 0,
// which is what Open vSwitch matches for a header the packet does not have.
import type { OxmFieldName, OxmFieldTypes } from '../pipeline/of.js';

/** OXM fields that describe the packet itself rather than pipeline state (port, metadata, registers). */
export type FrameFieldName = Exclude<
  OxmFieldName,
  'in_port' | 'in_phy_port' | 'metadata' | 'tunnel_id' | 'reg0' | 'reg1' | 'reg2' | 'reg3' | 'reg4' | 'reg5' | 'reg6' | 'reg7'
>;

export type Frame = { [K in FrameFieldName]?: OxmFieldTypes[K] } & {
  eth_src: string;
  eth_dst: string;
  eth_type: number;
  /** Tunnel key (OXM tunnel_id): the VNI a frame arrived with or is sent with. */
  tun_id?: bigint;
  /** Length in bytes, for byte counters; 64 when absent. */
  len?: number;
};

export const ETH_TYPE = { IPV4: 0x0800, ARP: 0x0806, IPV6: 0x86dd } as const;
export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';

/** An ARP request frame (opcode 1), broadcast unless `eth_dst` says otherwise. */
export function arpRequest(p: { mac: string; ip: string; target: string; eth_dst?: string }): Frame {
  return {
    eth_src: p.mac,
    eth_dst: p.eth_dst ?? BROADCAST_MAC,
    eth_type: ETH_TYPE.ARP,
    arp_op: 1,
    arp_sha: p.mac,
    arp_spa: p.ip,
    arp_tha: '00:00:00:00:00:00',
    arp_tpa: p.target,
  };
}

export function arpReply(p: { mac: string; ip: string; dstMac: string; dstIp: string }): Frame {
  return {
    eth_src: p.mac,
    eth_dst: p.dstMac,
    eth_type: ETH_TYPE.ARP,
    arp_op: 2,
    arp_sha: p.mac,
    arp_spa: p.ip,
    arp_tha: p.dstMac,
    arp_tpa: p.dstIp,
  };
}

/** An ICMP echo-like IPv4 unicast frame. */
export function ipv4Frame(p: { src: string; dst: string; srcIp: string; dstIp: string; proto?: number }): Frame {
  return { eth_src: p.src, eth_dst: p.dst, eth_type: ETH_TYPE.IPV4, ip_proto: p.proto ?? 1, ipv4_src: p.srcIp, ipv4_dst: p.dstIp };
}

export function ipv6Frame(p: { src: string; dst: string; srcIp: string; dstIp: string; proto?: number; icmpv6Type?: number }): Frame {
  const f: Frame = { eth_src: p.src, eth_dst: p.dst, eth_type: ETH_TYPE.IPV6, ip_proto: p.proto ?? 58, ipv6_src: p.srcIp, ipv6_dst: p.dstIp };
  if (p.icmpv6Type !== undefined) f.icmpv6_type = p.icmpv6Type;
  return f;
}
