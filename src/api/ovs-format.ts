// Flows as ovs-ofctl prints them, and the difference between desired and installed flows.
// Identity is (table, priority, match), as in the reconciler; actions and cookie are data.
import type { FlowView } from './ports.js';

export interface FlowDiff {
  /** desired but not installed */
  missing: FlowView[];
  /** installed but not desired */
  extra: FlowView[];
  /** same identity, other actions or cookie */
  changed: Array<{ desired: FlowView; installed: FlowView }>;
}

export function flowIdentity(f: Pick<FlowView, 'table' | 'priority' | 'match'>): string {
  return `${f.table}/${f.priority}/${f.match}`;
}

/**
 * `cookieKey` reduces a cookie to the part that describes the flow: the reconciler stamps its generation
 * into installed cookies, and a flow that differs only in generation is not a difference.
 */
export function diffFlows(desired: FlowView[], installed: FlowView[], cookieKey: (cookie: string) => string = (c) => c): FlowDiff {
  const have = new Map(installed.map((f) => [flowIdentity(f), f]));
  const want = new Set<string>();
  const missing: FlowView[] = [];
  const changed: FlowDiff['changed'] = [];
  for (const f of desired) {
    const id = flowIdentity(f);
    want.add(id);
    const i = have.get(id);
    if (!i) missing.push(f);
    else if (i.actions !== f.actions || cookieKey(i.cookie) !== cookieKey(f.cookie)) changed.push({ desired: f, installed: i });
  }
  const extra = installed.filter((f) => !want.has(flowIdentity(f)));
  return { missing, extra, changed };
}

/**
 * One line of `ovs-ofctl -O OpenFlow13 dump-flows` output for a flow. Installed flows carry duration and
 * counters; desired ones do not, so those fields are left out rather than invented.
 */
export function dumpFlowsLine(f: FlowView): string {
  const head = [`cookie=${f.cookie}`];
  if (f.durationSec !== undefined) head.push(`duration=${f.durationSec.toFixed(3)}s`);
  head.push(`table=${f.table}`);
  if (f.packets !== undefined) head.push(`n_packets=${f.packets}`);
  if (f.bytes !== undefined) head.push(`n_bytes=${f.bytes}`);
  // ovs-ofctl leaves out the default priority (32768) and puts a space, not a comma, before actions.
  const match = [f.priority === 32768 ? '' : `priority=${f.priority}`, f.match].filter(Boolean).join(',');
  return ` ${head.join(', ')}, ${match ? `${match} ` : ''}actions=${f.actions}`;
}

/** Sorted as ovs-ofctl --sort would: by table, then priority descending, then match. */
export function sortFlows(flows: FlowView[]): FlowView[] {
  return [...flows].sort((a, b) => a.table - b.table || b.priority - a.priority || a.match.localeCompare(b.match));
}
