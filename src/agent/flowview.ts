// Flows as the API shows them (FlowView): match and actions exactly as `ovs-ofctl -O OpenFlow13 dump-flows`
// prints them (field order, protocol shorthands like "arp", NXM names in moves), so `bumless flows --ovs`
// can be diffed against the switch. src/api/ovs-text.ts does the printing; test/unit/api-ovs-text.test.ts
// checks it against Open vSwitch output and test/integration/cli-lab.test.ts against a live bridge.
import { canonicalFieldRef } from 'node-openflow';
import type { FlowView } from '../api/ports.js';
import { flowView as ovsFlowView } from '../api/ovs-text.js';
import type { Flow } from '../reconcile/table.js';
import type { UndecodableFlow } from '../switch/codec.js';
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

export function flowView(f: Flow & { undecodable?: UndecodableFlow }, stats?: FlowCounters): FlowView {
  return ovsFlowView({
    ...(f.undecodable ? { undecodable: f.undecodable } : {}),
    tableId: f.tableId,
    priority: f.priority,
    cookie: f.cookie,
    match: f.match,
    instructions: f.instructions.map(namedInstruction),
    ...(stats ? { packetCount: stats.packetCount, byteCount: stats.byteCount, durationSec: stats.durationSec, durationNsec: stats.durationNsec } : {}),
  });
}
