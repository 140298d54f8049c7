// bumless flows: desired vs installed flows of the agent's switch, as a table, in ovs-ofctl dump-flows syntax
// (--ovs), or only their difference (--diff).
import type { z } from 'zod';
import type { Command } from './command.js';
import { parseCommand, printJson, table } from './client.js';
import { dumpFlowsLine, sortFlows } from '../api/ovs-format.js';
import type { FlowView } from '../api/ports.js';
import type { Flows } from '../api/schemas.js';

const HELP = `usage: bumless flows [--ovs] [--diff] [--desired] [--json]

  (default)  desired and installed counts, then the installed flows as a table
  --desired  show the desired flows instead of the installed ones
  --ovs      print flows in ovs-ofctl dump-flows syntax (compare with: ovs-ofctl -O OpenFlow13 dump-flows br-int)
  --diff     only the difference: "+" desired but missing, "-" installed but not desired, "~" different actions
             (exit code 1 when there is a difference)`;

type FlowsBody = z.infer<typeof Flows>;

function plain(f: FlowView): string {
  return `table=${f.table} priority=${f.priority}${f.match ? ` ${f.match}` : ''} actions=${f.actions} cookie=${f.cookie}`;
}

export function formatDiff(body: FlowsBody, ovs: boolean): string {
  const fmt = ovs ? (f: FlowView) => dumpFlowsLine(f).trimStart() : plain;
  const lines = [
    ...sortFlows(body.diff.missing).map((f) => `+ ${fmt(f)}`),
    ...sortFlows(body.diff.extra).map((f) => `- ${fmt(f)}`),
    ...body.diff.changed.flatMap((c) => [`~ ${fmt(c.installed)}`, `  now wanted: actions=${c.desired.actions} cookie=${c.desired.cookie}`]),
  ];
  return lines.length ? lines.join('\n') : 'no difference: the installed flows are the desired flows';
}

export function formatFlows(body: FlowsBody, opts: { ovs: boolean; desired: boolean }): string {
  const flows = sortFlows(opts.desired ? body.desired : body.installed);
  if (opts.ovs) return flows.map(dumpFlowsLine).join('\n');
  const d = body.diff;
  const summary = `${body.desired.length} desired, ${body.installed.length} installed; ${d.missing.length} missing, ${d.extra.length} extra, ${d.changed.length} changed`;
  const rows = flows.map((f) => [String(f.table), String(f.priority), f.match || '*', f.actions, f.packets === undefined ? '' : String(f.packets)]);
  return `${summary}\n\n${opts.desired ? 'desired' : 'installed'}:\n${table(['TABLE', 'PRIO', 'MATCH', 'ACTIONS', 'PACKETS'], rows)}`;
}

export const flowsCommand: Command = {
  name: 'flows',
  summary: 'show desired vs installed flows (--ovs in ovs-ofctl syntax, --diff only the difference)',
  async run(argv) {
    const p = parseCommand(argv, { ovs: { type: 'boolean', default: false }, diff: { type: 'boolean', default: false }, desired: { type: 'boolean', default: false } }, HELP);
    if (!p) return 0;
    const diffOnly = p.values.diff === true;
    const res = await p.client().request<FlowsBody>('GET', `/v1/flows${diffOnly ? '?diff=true' : ''}`);
    const d = res.body.diff;
    const differs = d.missing.length + d.extra.length + d.changed.length > 0;
    if (p.json) printJson(diffOnly ? res.body.diff : res.body);
    else if (diffOnly) console.log(formatDiff(res.body, p.values.ovs === true));
    else console.log(formatFlows(res.body, { ovs: p.values.ovs === true, desired: p.values.desired === true }));
    return diffOnly && differs ? 1 : 0;
  },
};
