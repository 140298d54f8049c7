// Flows as the API shows them (FlowView: ovs-ofctl syntax for match and actions), made from the
// pipeline's formatter so the agent, `bumless flows` and docs/pipeline.md print flows the same way.
import { canonicalFieldRef } from 'node-openflow';
import { formatFlow } from '../pipeline/format.js';
import type { FlowView } from '../api/ports.js';
import type { Flow } from '../reconcile/table.js';
import type { Action, Instruction } from '../reconcile/oftypes.js';

export interface FlowCounters {
  packetCount: bigint;
  byteCount: bigint;
  durationSec: number;
  durationNsec: number;
}

// Open vSwitch reports the fields of a Nicira move by NXM header whatever was sent; naming them
// makes an installed flow print exactly as its desired form does.
function namedAction(a: Action): Action {
  if (a.type !== 'NX_REG_MOVE') return a;
  return { ...a, src: canonicalFieldRef(a.src), dst: canonicalFieldRef(a.dst) };
}

function namedInstruction(i: Instruction): Instruction {
  if (i.type !== 'APPLY_ACTIONS' && i.type !== 'WRITE_ACTIONS') return i;
  return { ...i, actions: i.actions.map(namedAction) };
}

export function flowView(f: Flow, stats?: FlowCounters): FlowView {
  // formatFlow: "cookie=0x.., table=N, priority=P[,match] actions=..."
  const text = formatFlow({ ...f, instructions: f.instructions.map(namedInstruction) });
  const at = text.indexOf(' actions=');
  const head = text.slice(0, at);
  const actions = text.slice(at + ' actions='.length);
  const prio = /priority=\d+(,(.*))?$/.exec(head);
  return {
    table: f.tableId,
    priority: f.priority,
    cookie: `0x${f.cookie.toString(16)}`,
    match: prio?.[2] ?? '',
    actions,
    ...(stats
      ? {
          packets: Number(stats.packetCount),
          bytes: Number(stats.byteCount),
          durationSec: stats.durationSec + stats.durationNsec / 1e9,
        }
      : {}),
  };
}
