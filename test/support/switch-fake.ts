// An in-memory switch for reconciler unit tests (Faucet's fakeoftable idea): it applies FLOW_MODs from
// bundles to a flow table the way Open vSwitch does (ADD replaces an identical identity, *_STRICT by
// identity only, an ATOMIC bundle with any failure changes nothing) and dumps flows back the way OVS
// does: match fields in a different order and instructions in execution order.
import { EventEmitter } from 'node:events';
import type { BundleResult, OfpErrorRecord } from '../../src/switch/session.js';
import type { FlowSwitch } from '../../src/reconcile/reconciler.js';
import { flowKey } from '../../src/reconcile/identity.js';
import type { FlowModBody, FlowStats, Instruction } from '../../src/reconcile/oftypes.js';

export interface FakeFlow {
  tableId: number;
  priority: number;
  match: FlowStats['match'];
  instructions: Instruction[];
  cookie: bigint;
  /** Bumped whenever the entry is created (ADD of a new identity); kept across MODIFY, like OVS's duration. */
  createdAt: number;
  packets: number;
}

const ORDER: Record<Instruction['type'], number> = {
  METER: 0, APPLY_ACTIONS: 1, CLEAR_ACTIONS: 2, WRITE_ACTIONS: 3, WRITE_METADATA: 4, GOTO_TABLE: 5, EXPERIMENTER: 6,
};

export class FakeFlowSwitch extends EventEmitter implements FlowSwitch {
  state = 'idle';
  readonly flows = new Map<string, FakeFlow>();
  /** Every flow mod ever applied, by command. */
  readonly applied: { command: string; key: string }[] = [];
  bundles = 0;
  dumps = 0;
  #clock = 0;
  /** Flow mods matching this predicate are rejected (BAD_ACTION), failing their bundle. */
  reject: ((m: FlowModBody) => boolean) | undefined;

  connect(): void {
    this.state = 'connected';
    this.emit('connected');
  }

  disconnect(): void {
    this.state = 'backoff';
    this.emit('disconnected');
  }

  addForeign(f: Omit<FakeFlow, 'createdAt' | 'packets'>): void {
    this.flows.set(flowKey(f.tableId, f.priority, f.match), { ...f, createdAt: this.#clock++, packets: 0 });
  }

  dumpFlows(): Promise<FlowStats[]> {
    if (this.state !== 'connected') return Promise.reject(new Error('not connected'));
    this.dumps++;
    const out: FlowStats[] = [];
    for (const f of this.flows.values()) {
      out.push({
        tableId: f.tableId,
        durationSec: 0,
        durationNsec: 0,
        priority: f.priority,
        idleTimeout: 0,
        hardTimeout: 0,
        flags: [],
        cookie: f.cookie,
        packetCount: BigInt(f.packets),
        byteCount: 0n,
        match: [...f.match].reverse(),
        instructions: [...f.instructions].filter((i) => !(i.type === 'APPLY_ACTIONS' && i.actions.length === 0)).sort((a, b) => ORDER[a.type] - ORDER[b.type]),
      });
    }
    return Promise.resolve(out);
  }

  bundle(mods: readonly FlowModBody[]): Promise<BundleResult> {
    if (this.state !== 'connected') return Promise.reject(new Error('not connected'));
    this.bundles++;
    const bundleId = this.bundles;
    const errors: OfpErrorRecord[] = [];
    for (const m of mods) {
      if (this.reject?.(m)) {
        errors.push({
          at: 0, xid: 0, errType: 'BAD_ACTION', code: 'BAD_OUT_PORT', causeType: 'BUNDLE_ADD_MESSAGE/FLOW_MOD', text: 'rejected',
          flow: { command: m.command, tableId: m.tableId, priority: m.priority, match: m.match, instructions: m.instructions, cookie: m.cookie },
        });
      }
    }
    if (errors.length) return Promise.resolve({ bundleId, messages: mods.length, errors, committed: false });
    for (const m of mods) {
      const key = flowKey(m.tableId as number, m.priority, m.match);
      this.applied.push({ command: m.command, key });
      const old = this.flows.get(key);
      if (m.command === 'ADD') {
        this.flows.set(key, {
          tableId: m.tableId as number, priority: m.priority, match: m.match, instructions: m.instructions, cookie: m.cookie,
          // OVS keeps the counters of a replaced identical flow unless RESET_COUNTS.
          createdAt: old ? old.createdAt : this.#clock++, packets: old ? old.packets : 0,
        });
      } else if (m.command === 'MODIFY_STRICT') {
        if (old) this.flows.set(key, { ...old, instructions: m.instructions });
      } else if (m.command === 'DELETE_STRICT') {
        this.flows.delete(key);
      } else {
        throw new Error(`fake switch: unexpected command ${m.command}`);
      }
    }
    return Promise.resolve({ bundleId, messages: mods.length, errors, committed: true });
  }
}
