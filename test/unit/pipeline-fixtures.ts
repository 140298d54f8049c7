// The classic demo topology for pipeline tests: three hosts, two tenants with the same IPs and MACs
// (h1-h3 in tenant a, j1-j3 in tenant b, 10.10.10.0/24, aa:aa:aa:aa:aa:01-03, VNIs 10 and 11).
import type { Endpoint, Network } from '../../src/registry/model.js';
import type { PipelineInput } from '../../src/pipeline/desired.js';
import { desiredFlows } from '../../src/pipeline/desired.js';
import { BROADCAST_MAC, FlowSim, arpReply, arpRequest, ipv4Frame, ipv6Frame } from '../../src/sim/index.js';
import type { Frame } from '../../src/sim/index.js';

const T = '2026-11-21T06:00:00.000Z';

export const TUNNEL_PORT = 1;
export const VTEP = (host: number) => `192.168.100.${host}`;
export const HOST = (host: number) => `host-${host}`;
export const MAC = (n: number) => `aa:aa:aa:aa:aa:${n.toString(16).padStart(2, '0')}`;
export const IP = (n: number) => `10.10.10.${n}`;
/** Port numbers on each host: the tenant-a container on 3, the tenant-b container on 4. */
export const PORT_A = 3;
export const PORT_B = 4;

export function network(tenant: string, name: string, vni: number, cidr = '10.10.10.0/24'): Network {
  return { tenant, name, vni, cidrs: [cidr], encap: 'vxlan', createdAt: T, updatedAt: T };
}

export function endpoint(p: { net: string; mac: string; ips: string[]; host: number; port: string; seq?: number }): Endpoint {
  return { network: p.net, mac: p.mac, ips: p.ips, hostId: HOST(p.host), vtep: VTEP(p.host), port: p.port, seq: p.seq ?? 1, createdAt: T, updatedAt: T };
}

export const NET_A = network('a', 'net', 10);
export const NET_B = network('b', 'net', 11);

export function classicEndpoints(): Endpoint[] {
  const out: Endpoint[] = [];
  for (let i = 1; i <= 3; i++) {
    out.push(endpoint({ net: 'a/net', mac: MAC(i), ips: [IP(i)], host: i, port: `h${i}` }));
    out.push(endpoint({ net: 'b/net', mac: MAC(i), ips: [IP(i)], host: i, port: `j${i}` }));
  }
  return out;
}

/** The pipeline input of host `host` (1..3) in the classic demo, with optional extra state. */
export function classicInput(host: number, extra: Partial<PipelineInput> = {}): PipelineInput {
  return {
    hostId: HOST(host),
    vtepIp: VTEP(host),
    tunnelOfport: TUNNEL_PORT,
    localPorts: new Map([
      [`h${host}`, PORT_A],
      [`j${host}`, PORT_B],
    ]),
    networks: [NET_A, NET_B],
    endpoints: classicEndpoints(),
    ...extra,
  };
}

/** A simulated br-int programmed with the desired flows of `input`. */
export function simFor(input: PipelineInput): FlowSim {
  const ports = [...input.localPorts.values()];
  if (input.tunnelOfport !== undefined) ports.push(input.tunnelOfport);
  return new FlowSim({ tunnelPorts: input.tunnelOfport !== undefined ? [input.tunnelOfport] : [], ports }).load(desiredFlows(input));
}

/** Every frame a misbehaving or chatty container might send, from port `port` owning host index `n`. */
export function noisyFrames(n: number): [string, Frame][] {
  const me = { mac: MAC(n), ip: IP(n) };
  return [
    ['broadcast ARP for a known IP', arpRequest({ ...me, target: IP(n === 1 ? 2 : 1) })],
    ['broadcast ARP for an unknown IP', arpRequest({ ...me, target: '10.10.10.77' })],
    ['RFC 5227 probe for own IP', arpRequest({ mac: me.mac, ip: '0.0.0.0', target: me.ip })],
    ['gratuitous ARP request', arpRequest({ ...me, target: me.ip })],
    ['gratuitous ARP reply', arpReply({ ...me, dstMac: BROADCAST_MAC, dstIp: me.ip })],
    ['IPv4 broadcast (DHCP discover)', { ...ipv4Frame({ src: me.mac, dst: BROADCAST_MAC, srcIp: '0.0.0.0', dstIp: '255.255.255.255', proto: 17 }), udp_src: 68, udp_dst: 67 }],
    ['IPv4 subnet broadcast', ipv4Frame({ src: me.mac, dst: BROADCAST_MAC, srcIp: me.ip, dstIp: '10.10.10.255' })],
    ['IPv4 multicast (mDNS)', ipv4Frame({ src: me.mac, dst: '01:00:5e:00:00:fb', srcIp: me.ip, dstIp: '224.0.0.251', proto: 17 })],
    ['IPv6 router solicitation', ipv6Frame({ src: me.mac, dst: '33:33:00:00:00:02', srcIp: 'fe80::a8aa:aaff:feaa:aa01', dstIp: 'ff02::2', icmpv6Type: 133 })],
    ['IPv6 MLDv2 report', ipv6Frame({ src: me.mac, dst: '33:33:00:00:00:16', srcIp: '::', dstIp: 'ff02::16', icmpv6Type: 143 })],
    ['IPv6 neighbour solicitation', ipv6Frame({ src: me.mac, dst: '33:33:ff:aa:aa:01', srcIp: '::', dstIp: 'ff02::1:ffaa:aa01', icmpv6Type: 135 })],
    ['unknown unicast', ipv4Frame({ src: me.mac, dst: 'aa:aa:aa:aa:aa:99', srcIp: me.ip, dstIp: '10.10.10.99' })],
    ['LLDP-like other ethertype', { eth_src: me.mac, eth_dst: '01:80:c2:00:00:0e', eth_type: 0x88cc }],
    // 802.3 with LLC: Open vSwitch reports eth_type 0x05ff for frames without an Ethernet II type.
    ['STP BPDU (802.3/LLC)', { eth_src: me.mac, eth_dst: '01:80:c2:00:00:00', eth_type: 0x05ff }],
  ];
}
