// bumless status: switch connection, flows, reconcile, peers, registry counts, BUM counters, alarms.
import type { z } from 'zod';
import type { Command } from './command.js';
import { parseCommand, printJson, table } from './client.js';
import type { Status } from '../api/schemas.js';

const HELP = `usage: bumless status [--json]

Shows the agent's OpenFlow connection, desired vs installed flows, the last reconciliation, OpenFlow errors,
mesh peers, registry counts, BUM drop and ARP reply counters per network, and alarms (admin token).`;

type StatusBody = z.infer<typeof Status>;

export function formatStatus(s: StatusBody): string {
  const out: string[] = [];
  out.push(`host       ${s.hostId ?? '(unknown)'}   ready: ${s.ready ? 'yes' : 'no'}`);
  const sw = s.switch;
  if (!sw) out.push('switch     none (this agent has no switch session)');
  else {
    const c = sw.connection;
    out.push(`switch     ${c.state} ${c.target}${c.datapathId ? ` (datapath ${c.datapathId})` : ''}${c.since ? ` since ${c.since}` : ''}`);
    const drift = sw.flows.desired === sw.flows.installed ? 'in sync' : 'NOT in sync: see bumless flows --diff';
    out.push(`flows      ${sw.flows.desired} desired, ${sw.flows.installed} installed (${drift})`);
    const r = sw.reconcile;
    const size = r.lastAdded === undefined ? '' : ` +${r.lastAdded} ~${r.lastModified ?? 0} -${r.lastDeleted ?? 0}`;
    out.push(`reconcile  ${r.count} runs${r.lastDurationMs === undefined ? '' : `, last ${r.lastDurationMs.toFixed(1)} ms${size}`}${r.lastAt ? ` at ${r.lastAt}` : ''}`);
    out.push(`of errors  ${sw.openflowErrors.total}`);
    for (const e of sw.openflowErrors.recent.slice(-5)) out.push(`           ${e.at} ${e.type} xid ${e.xid}${e.flow ? ` ${e.flow}` : ''}`);
  }
  out.push(`peers      ${s.peers.length ? s.peers.map((p) => `${p.hostId} ${p.state}`).join(', ') : 'none configured'}`);
  const reg = s.registry;
  const extra = [reg.localEndpoints === undefined ? '' : `${reg.localEndpoints} local`, reg.staleEndpoints ? `${reg.staleEndpoints} stale` : ''].filter(Boolean).join(', ');
  out.push(`registry   ${reg.tenants} tenants, ${reg.networks} networks, ${reg.endpoints} endpoints${extra ? ` (${extra})` : ''}`);
  if (sw?.networks.length) {
    out.push('', table(['NETWORK', 'VNI', 'BUM DROPPED', 'ARP REPLIES'], sw.networks.map((n) => [n.network, String(n.vni), String(n.bumDropPackets), String(n.arpReplies)])));
  }
  out.push('', s.alarms.length ? `alarms (${s.alarms.length}):` : 'alarms     none');
  for (const a of s.alarms) {
    out.push(`  ${a.kind} ${a.subject}: ${a.message} (since ${a.since})`);
    if (a.id) out.push(`    id ${a.id}`);
  }
  if (s.alarms.some((a) => a.id?.startsWith('duplicate-mac:'))) out.push('clear a duplicate-MAC alarm once the duplicate is gone: bumless alarm clear ID');
  return out.join('\n');
}

export const statusCommand: Command = {
  name: 'status',
  summary: 'show the agent\'s switch connection, flows, peers, registry, BUM counters and alarms',
  async run(argv) {
    const p = parseCommand(argv, {}, HELP);
    if (!p) return 0;
    const res = await p.client().request<StatusBody>('GET', '/v1/status');
    if (p.json) printJson(res.body);
    else console.log(formatStatus(res.body));
    return 0;
  },
};
