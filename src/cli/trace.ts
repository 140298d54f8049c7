// bumless trace: describe a frame (network, source endpoint, destination) and see the tables it passes
// through on the agent's switch and its fate (ovs-appctl ofproto/trace on the agent).
import type { z } from 'zod';
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { intOption, parseCommand, printJson, str } from './client.js';
import { networkRef } from './network.js';
import type { TraceResult } from '../api/schemas.js';

const HELP = `usage: bumless trace TENANT/NETWORK --src MAC|IP --dst IP|MAC|broadcast [--proto arp|icmp|udp|tcp]
                     [--dst-mac MAC] [--dst-port N] [--verbose] [--json]

  --src      a local endpoint of the network (the frame enters the switch on its port)
  --dst      the destination endpoint's IP or MAC, or "broadcast"
  --proto    arp sends a broadcast ARP request for --dst; default icmp (echo request)
  --dst-mac  destination MAC to use (e.g. an unknown MAC, to see unknown unicast dropped)
  --verbose  print the full ofproto/trace output as well

examples:
  bumless trace acme/web --src 10.10.10.1 --dst 10.10.10.2 --proto arp
  bumless trace acme/web --src 10.10.10.1 --dst 10.10.10.3`;

type TraceBody = z.infer<typeof TraceResult>;

export function formatTrace(t: TraceBody, verbose: boolean): string {
  const out = [`frame: ${t.flow}`, ''];
  // Steps in another bridge than the traced one (br-phy after a userspace tunnel) say so: "table 0" alone
  // would read as br-int's classifier.
  const traced = t.tables[0]?.bridge;
  for (const tab of t.tables) {
    const where = tab.bridge !== undefined && tab.bridge !== traced ? `${tab.bridge} table` : 'table';
    out.push(`${where} ${tab.table}: ${tab.match}`);
    for (const a of tab.actions) out.push(`    ${a}`);
  }
  out.push('', `datapath actions: ${t.datapathActions || '(none)'}`, `fate: ${t.fate}`);
  if (verbose) out.push('', t.output);
  return out.join('\n');
}

export const traceCommand: Command = {
  name: 'trace',
  summary: 'trace a described frame through the switch tables and show its fate',
  async run(argv) {
    const p = parseCommand(
      argv,
      { src: { type: 'string' }, dst: { type: 'string' }, proto: { type: 'string' }, 'dst-mac': { type: 'string' }, 'dst-port': { type: 'string' }, verbose: { type: 'boolean', default: false } },
      HELP,
    );
    if (!p) return 0;
    const { values, positionals } = p;
    const src = str(values.src);
    const dst = str(values.dst);
    if (!src || !dst) throw new UsageError('give --src (a local endpoint\'s MAC or IP) and --dst (an IP, a MAC or "broadcast"); see bumless trace --help');
    const proto = str(values.proto);
    if (proto !== undefined && !['arp', 'icmp', 'udp', 'tcp'].includes(proto)) throw new UsageError(`--proto must be arp, icmp, udp or tcp, not "${proto}"`);
    const client = p.client();
    const [tenant, name] = await networkRef(client, positionals[0], true);
    const dstMac = str(values['dst-mac']);
    const dstPort = intOption(values['dst-port'], 'dst-port');
    const body = {
      network: `${tenant}/${name}`,
      source: src,
      destination: dst,
      ...(proto ? { protocol: proto } : {}),
      ...(dstMac ? { destinationMac: dstMac } : {}),
      ...(dstPort === undefined ? {} : { dstPort }),
    };
    const res = await client.request<TraceBody>('POST', '/v1/trace', body);
    if (p.json) printJson(res.body);
    else console.log(formatTrace(res.body, values.verbose === true));
    return 0;
  },
};
