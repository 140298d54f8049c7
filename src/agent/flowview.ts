// Flows as the API shows them (FlowView: match and actions exactly as `ovs-ofctl -O OpenFlow13 dump-flows`
// prints them, checked against Open vSwitch in test/unit/api-ovs-text.test.ts), so `bumless flows --ovs`
// can be compared line by line with the switch.
import type { FlowView } from '../api/ports.js';
import { flowView as codecFlowView } from '../api/ovs-text.js';
import type { Flow } from '../reconcile/table.js';

export interface FlowCounters {
  packetCount: bigint;
  byteCount: bigint;
  durationSec: number;
  durationNsec: number;
}

export function flowView(f: Flow, stats?: FlowCounters): FlowView {
  return codecFlowView({
    tableId: f.tableId,
    priority: f.priority,
    cookie: f.cookie,
    match: f.match,
    instructions: f.instructions,
    ...(stats ? { packetCount: stats.packetCount, byteCount: stats.byteCount, durationSec: stats.durationSec, durationNsec: stats.durationNsec } : {}),
  });
}
