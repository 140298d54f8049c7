// The agent's desired table, kept per network so that a registry change costs the size of the networks
// it touched, not the size of the host's table: each update recomputes those networks with the pure
// pipeline (planNetwork) and returns only the flows that changed in the merged table. The merge rule is
// mergeFlows's (unique identities; on a collision between networks the lower cookie, then the lower
// data text, wins), so the table always equals a full planPipeline over the same input
// (test/unit/agent-desired.test.ts holds it to that).
import { flowDataText, flowIdentity, globalFlows, planNetwork, sortFlows } from '../pipeline/desired.js';
import type { DesiredFlow, HostContext, PipelineProblem } from '../pipeline/desired.js';
import type { Endpoint, Network } from '../registry/model.js';

export interface NetworkInput {
  /** "<tenant>/<network>" */
  key: string;
  /** Undefined: the network is gone (or not forwarded); its flows are withdrawn. */
  network: Network | undefined;
  endpoints: readonly Endpoint[];
}

export interface DesiredDelta {
  upsert: DesiredFlow[];
  remove: DesiredFlow[];
}

interface Part {
  flows: Map<string, { flow: DesiredFlow; data: string }>;
  problems: PipelineProblem[];
}

const GLOBAL = '';

function better(a: { flow: DesiredFlow; data: string }, b: { flow: DesiredFlow; data: string }): boolean {
  if (a.flow.cookie !== b.flow.cookie) return a.flow.cookie < b.flow.cookie;
  return a.data < b.data;
}

export class DesiredState {
  #ctx: HostContext;
  readonly #parts = new Map<string, Part>();
  /** identity -> part key -> that part's flow of this identity */
  readonly #owners = new Map<string, Map<string, { flow: DesiredFlow; data: string }>>();

  constructor(ctx: HostContext) {
    this.#ctx = ctx;
    this.#replace(GLOBAL, globalFlows(), [], new Map());
  }

  get context(): HostContext {
    return this.#ctx;
  }

  /** The host context changed: callers then update every network (networkKeys() and the live ones). */
  setContext(ctx: HostContext): void {
    this.#ctx = ctx;
  }

  networkKeys(): string[] {
    return [...this.#parts.keys()].filter((k) => k !== GLOBAL);
  }

  /** Recomputes the given networks; returns what changed in the merged table. */
  update(inputs: Iterable<NetworkInput>): DesiredDelta {
    const before = new Map<string, { flow: DesiredFlow; data: string } | undefined>();
    for (const { key, network, endpoints } of inputs) {
      if (key === GLOBAL) continue;
      const plan = network ? planNetwork(this.#ctx, network, endpoints) : { flows: [], problems: [] };
      this.#replace(key, plan.flows, plan.problems, before);
    }
    const delta: DesiredDelta = { upsert: [], remove: [] };
    for (const [id, old] of before) {
      const now = this.#winner(id);
      if (!now) {
        if (old) delta.remove.push(old.flow);
      } else if (!old || old.data !== now.data) delta.upsert.push(now.flow);
    }
    return delta;
  }

  /** The merged table, sorted as planPipeline sorts it. */
  flows(): DesiredFlow[] {
    const out: DesiredFlow[] = [];
    for (const id of this.#owners.keys()) out.push(this.#winner(id)!.flow);
    return sortFlows(out);
  }

  problems(): PipelineProblem[] {
    const out: PipelineProblem[] = [];
    for (const p of this.#parts.values()) out.push(...p.problems);
    for (const [id, owners] of this.#owners) {
      if (owners.size < 2) continue;
      const datas = new Set([...owners.values()].map((o) => `${o.flow.cookie}|${o.data}`));
      if (datas.size > 1) out.push({ message: `conflicting flows for ${id} from ${[...owners.keys()].map((k) => k || 'global').join(', ')}; kept 0x${this.#winner(id)!.flow.cookie.toString(16)}` });
    }
    return out;
  }

  /** Replaces one part's flows, remembering each touched identity's winner from before the first change. */
  #replace(key: string, flows: readonly DesiredFlow[], problems: PipelineProblem[], before: Map<string, { flow: DesiredFlow; data: string } | undefined>): void {
    const old = this.#parts.get(key)?.flows ?? new Map<string, { flow: DesiredFlow; data: string }>();
    const next = new Map<string, { flow: DesiredFlow; data: string }>();
    for (const f of flows) {
      const id = flowIdentity(f);
      const entry = { flow: f, data: flowDataText(f) };
      const dup = next.get(id);
      // planNetwork output has unique identities; should one repeat, the merge rule decides here too.
      if (!dup || better(entry, dup)) next.set(id, entry);
    }
    const touch = (id: string): void => {
      if (!before.has(id)) before.set(id, this.#winner(id));
    };
    for (const [id, e] of old) {
      const n = next.get(id);
      if (n && n.data === e.data && n.flow.cookie === e.flow.cookie) continue;
      touch(id);
      const owners = this.#owners.get(id)!;
      owners.delete(key);
      if (owners.size === 0) this.#owners.delete(id);
    }
    for (const [id, n] of next) {
      const e = old.get(id);
      if (e && e.data === n.data && e.flow.cookie === n.flow.cookie) {
        // Unchanged data: keep the entry but point at the newest object.
        this.#owners.get(id)!.set(key, n);
        continue;
      }
      touch(id);
      let owners = this.#owners.get(id);
      if (!owners) this.#owners.set(id, (owners = new Map<string, { flow: DesiredFlow; data: string }>()));
      owners.set(key, n);
    }
    if (next.size === 0 && problems.length === 0 && key !== GLOBAL) this.#parts.delete(key);
    else this.#parts.set(key, { flows: next, problems });
  }

  #winner(id: string): { flow: DesiredFlow; data: string } | undefined {
    const owners = this.#owners.get(id);
    if (!owners) return undefined;
    let best: { flow: DesiredFlow; data: string } | undefined;
    for (const o of owners.values()) if (!best || better(o, best)) best = o;
    return best;
  }
}
