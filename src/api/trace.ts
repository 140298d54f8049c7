// `bumless trace`: turns a described frame (network, source endpoint, destination) into the microflow
// that `ovs-appctl ofproto/trace` takes, and its output into tables passed and a fate.
import { isIP } from 'node:net';
import type { Endpoint } from '../registry/model.js';

export interface TraceFrame {
  /** The local source endpoint: its port, MAC and first address of the destination's family. */
  source: Endpoint;
  protocol: 'arp' | 'icmp' | 'udp' | 'tcp';
  /** Destination IP; for "broadcast" the limited broadcast address. */
  dstIp?: string;
  dstMac: string;
  dstPort?: number;
}

export class TraceInputError extends Error {
  constructor(
    message: string,
    readonly path: string[],
  ) {
    super(message);
    this.name = 'ValidationError';
  }
}

const BROADCAST = 'ff:ff:ff:ff:ff:ff';

/** The microflow for ofproto/trace, with the port given by name (Open vSwitch resolves it). */
export function microflow(f: TraceFrame): string {
  const src = f.source;
  const v6 = f.dstIp !== undefined && isIP(f.dstIp) === 6;
  const srcIp = src.ips.find((ip) => isIP(ip) === (v6 ? 6 : 4));
  const parts = [`in_port=${src.port}`];
  if (f.protocol === 'arp') {
    if (v6) throw new TraceInputError('ARP is IPv4 only; trace IPv6 with protocol icmp', ['protocol']);
    if (!srcIp) throw new TraceInputError(`source ${src.mac} has no IPv4 address to send ARP from`, ['source']);
    if (!f.dstIp) throw new TraceInputError('an ARP trace needs a destination IP', ['destination']);
    parts.push('arp', 'arp_op=1', `dl_src=${src.mac}`, `dl_dst=${f.dstMac}`, `arp_spa=${srcIp}`, `arp_tpa=${f.dstIp}`, `arp_sha=${src.mac}`);
    return parts.join(',');
  }
  if (!srcIp) throw new TraceInputError(`source ${src.mac} has no IPv${v6 ? 6 : 4} address`, ['source']);
  const dstIp = f.dstIp ?? (v6 ? 'ff02::1' : '255.255.255.255');
  const proto = v6 ? { icmp: 'icmp6', udp: 'udp6', tcp: 'tcp6' }[f.protocol] : f.protocol;
  parts.push(proto, `dl_src=${src.mac}`, `dl_dst=${f.dstMac}`);
  parts.push(v6 ? `ipv6_src=${srcIp}` : `nw_src=${srcIp}`, v6 ? `ipv6_dst=${dstIp}` : `nw_dst=${dstIp}`);
  if (f.protocol === 'icmp') parts.push(v6 ? 'icmpv6_type=128' : 'icmp_type=8', 'icmp_code=0');
  // Not tp_dst: Open vSwitch parses that name as the TCP field, so with udp it refuses the flow
  // ("prerequisites not met for setting tp_dst"). udp_dst and tcp_dst name the field of the protocol.
  else parts.push(`${f.protocol}_dst=${f.dstPort ?? (f.protocol === 'udp' ? 53 : 80)}`);
  return parts.join(',');
}

export interface TraceTable {
  /** The bridge whose table this is: the traced one, or one the frame continued into (br-phy after a tunnel). */
  bridge?: string;
  table: number;
  match: string;
  actions: string[];
}

export interface ParsedTrace {
  tables: TraceTable[];
  datapathActions: string;
  fate: string;
}

/** Reads the bridge section and the "Datapath actions" line of ofproto/trace output (Open vSwitch 2.8 and later). */
export function parseTrace(output: string): ParsedTrace {
  const tables: TraceTable[] = [];
  let datapathActions = '';
  let tunnelDst: string | undefined;
  let tunnelOut = false;
  let tunnelFailed = false;
  // ofproto/trace nests a bridge the frame continues into (the userspace tunnel's br-phy) under the
  // action that led there, indented deeper; a table line less indented than that bridge's header is
  // back in the bridge before it.
  const bridges: { name: string; indent: number }[] = [];
  let actionIndent = 4;
  const indentOf = (l: string) => l.length - l.trimStart().length;
  for (const line of output.split('\n')) {
    const b = /^(\s*)bridge\("([^"]+)"\)\s*$/.exec(line);
    if (b) {
      bridges.push({ name: b[2]!, indent: b[1]!.length });
      continue;
    }
    const t = /^(\s*)(\d+)\. (.*)$/.exec(line);
    if (t) {
      const indent = t[1]!.length;
      while (bridges.length > 1 && indent < bridges[bridges.length - 1]!.indent) bridges.pop();
      const bridge = bridges[bridges.length - 1]?.name;
      // "%2d. ": a one-digit table number is padded by a space; its actions are one level (4) deeper.
      actionIndent = Math.floor(indent / 4) * 4 + 4;
      tables.push({ ...(bridge ? { bridge } : {}), table: Number(t[2]), match: t[3]!, actions: [] });
      continue;
    }
    const dp = /^Datapath actions: (.*)$/.exec(line);
    if (dp) {
      datapathActions = dp[1]!.trim();
      continue;
    }
    if (/^\s*->\s*output to native tunnel/.test(line)) tunnelOut = true;
    if (/^\s*>>\s*native tunnel routing failed/.test(line)) tunnelFailed = true;
    const action = indentOf(line) === actionIndent ? /^\s*(\S.*)$/.exec(line) : null;
    const current = tables[tables.length - 1];
    if (action && current && !/^(->|>>)/.test(action[1]!)) {
      current.actions.push(action[1]!);
      const td = /^set_field:([0-9.]+)->tun_dst$/.exec(action[1]!);
      if (td) tunnelDst = td[1];
    }
  }
  const all = tables.flatMap((t) => t.actions);
  let fate: string;
  if (tunnelOut || (tunnelDst && all.some((a) => a.startsWith('output:')))) {
    fate = `sent through the tunnel to ${tunnelDst ?? 'a remote host'}${tunnelFailed ? ' (this host has no underlay route to it)' : ''}`;
  } else if (all.includes('IN_PORT') || all.some((a) => a === 'output:in_port')) {
    fate = 'answered by the switch out of the port it came in on';
  } else if (datapathActions === 'drop' || datapathActions === '') {
    const last = tables[tables.length - 1];
    const where = last && last.bridge !== undefined && last.bridge !== tables[0]!.bridge ? `${last.bridge} table` : 'table';
    fate = last ? `dropped in ${where} ${last.table} (${last.match})` : 'dropped';
  } else {
    const outs = all.filter((a) => a.startsWith('output:')).map((a) => a.slice('output:'.length));
    fate = outs.length ? `output to OpenFlow port ${outs.join(', ')}` : `datapath actions: ${datapathActions}`;
  }
  return { tables, datapathActions, fate };
}

/** The frame a trace request describes, resolved against the registry's endpoints of the network. */
export function resolveTrace(
  req: { source: string; destination: string; protocol: TraceFrame['protocol']; destinationMac?: string; dstPort?: number },
  endpoints: Endpoint[],
  localHostId: string | undefined,
): TraceFrame {
  const bySelector = (s: string) => {
    const low = s.toLowerCase();
    return endpoints.find((e) => e.mac === low || e.ips.includes(s));
  };
  const source = bySelector(req.source);
  if (!source) throw new TraceInputError(`no endpoint with MAC or IP ${req.source} in this network`, ['source']);
  if (localHostId !== undefined && source.hostId !== localHostId) {
    throw new TraceInputError(`endpoint ${source.mac} is on host ${source.hostId}; run the trace against that host's agent`, ['source']);
  }
  if (req.destination === 'broadcast') {
    return { source, protocol: req.protocol === 'arp' ? 'icmp' : req.protocol, dstMac: BROADCAST, ...(req.dstPort === undefined ? {} : { dstPort: req.dstPort }) };
  }
  const isMac = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(req.destination);
  if (!isMac && isIP(req.destination) === 0) {
    throw new TraceInputError(`destination ${req.destination} is not an IP, a MAC or "broadcast"`, ['destination']);
  }
  const dst = bySelector(req.destination);
  if (req.protocol === 'arp') {
    if (isMac) throw new TraceInputError('an ARP trace asks for an IP: give the destination as an IP', ['destination']);
    return { source, protocol: 'arp', dstIp: req.destination, dstMac: req.destinationMac ?? BROADCAST };
  }
  const dstIp = isMac ? dst?.ips.find((ip) => isIP(ip) === 4) ?? dst?.ips[0] : req.destination;
  const dstMac = req.destinationMac ?? (isMac ? req.destination.toLowerCase() : dst?.mac);
  if (!dstMac) {
    throw new TraceInputError(`${req.destination} is not registered in this network; give destinationMac to trace a frame to an unknown destination`, ['destination']);
  }
  if (!dstIp) throw new TraceInputError(`${req.destination} has no IP; give the destination as an IP`, ['destination']);
  return { source, protocol: req.protocol, dstIp, dstMac, ...(req.dstPort === undefined ? {} : { dstPort: req.dstPort }) };
}
