// `ovs-ofctl -O OpenFlow13 dump-flows` output as records, classified by the bumless cookie (network
// and flow kind), so the demo can pick the ARP-responder and unicast flows and read their counters.
import { cookieKind, cookieVni } from '../pipeline/cookie.js';
import type { FlowKindName } from '../pipeline/cookie.js';

export interface DumpedFlow {
  line: string;
  cookie: bigint;
  table: number;
  packets: number;
  priority: number;
  match: string;
  actions: string;
  kind: FlowKindName | undefined;
  vni: number;
}

const LINE_RE = /^\s*cookie=(0x[0-9a-f]+), duration=[\d.]+s, table=(\d+), n_packets=(\d+), n_bytes=\d+, (?:[a-z_]+=[^,]+, )*?(?:priority=(\d+),?)?(.*?) ?actions=(.*)$/;

export function parseDump(text: string): DumpedFlow[] {
  const out: DumpedFlow[] = [];
  for (const line of text.split('\n')) {
    const m = LINE_RE.exec(line);
    if (!m) continue;
    const cookie = BigInt(m[1] as string);
    out.push({
      line: line.trim(),
      cookie,
      table: Number(m[2]),
      packets: Number(m[3]),
      priority: m[4] === undefined ? 32768 : Number(m[4]),
      match: (m[5] as string).trim(),
      actions: m[6] as string,
      kind: cookieKind(cookie),
      vni: cookieVni(cookie),
    });
  }
  return out;
}

export function ofKind(flows: DumpedFlow[], kind: FlowKindName, vni?: number): DumpedFlow[] {
  return flows.filter((f) => f.kind === kind && (vni === undefined || f.vni === vni));
}

export function packets(flows: DumpedFlow[]): number {
  return flows.reduce((n, f) => n + f.packets, 0);
}
