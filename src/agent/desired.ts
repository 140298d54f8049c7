// The agent's desired table, kept per network so that a registry change costs the size of the networks
// it touched, not the size of the host's table: each update recomputes those networks with the pure
// pipeline (planNetwork) and returns only the flows that changed in the merged table. The merge rule is
// mergeFlows's (unique identities; on a collision between networks the lower cookie, then the lower
// data text, wins), so the table always equals a full planPipeline over the same input
// (test/unit/agent-desired.test.ts holds it to that).
import { compareFlowData, flowDataText, flowIdentity, globalFlows, planNetwork, sameFlowData, sortFlows } from '../pipeline/desired.js';
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
  /** identity -> this part's flow of that identity */
  flows: Map<string, DesiredFlow>;
  problems: PipelineProblem[];
}

const GLOBAL = '';

/**
 * The parts holding a flow of one identity: almost always one, so the part's key itself (a string the
 * part map already holds) rather than a collection per identity. With 100,000 remote endpoints this
 * table has 200,000 identities (bench B4).
 */
type Owners = string | Set<string>;

const better = (a: DesiredFlow, b: DesiredFlow): boolean => compareFlowData(a, b) < 0;

export class DesiredState {
  #ctx: HostContext;
  readonly #parts = new Map<string, Part>();
  readonly #owners = new Map<string, Owners>();

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
    const before = new Map<string, DesiredFlow | undefined>();
    for (const { key, network, endpoints } of inputs) {
      if (key === GLOBAL) continue;
      const plan = network ? planNetwork(this.#ctx, network, endpoints) : { flows: [], problems: [] };
      this.#replace(key, plan.flows, plan.problems, before);
    }
    const delta: DesiredDelta = { upsert: [], remove: [] };
    for (const [id, old] of before) {
      const now = this.#winner(id);
      if (!now) {
        if (old) delta.remove.push(old);
      } else if (!old || !sameFlowData(old, now)) delta.upsert.push(now);
    }
    return delta;
  }

  /** The merged table, sorted as planPipeline sorts it. */
  flows(): DesiredFlow[] {
    const out: DesiredFlow[] = [];
    for (const id of this.#owners.keys()) out.push(this.#winner(id)!);
    return sortFlows(out);
  }

  problems(): PipelineProblem[] {
    const out: PipelineProblem[] = [];
    for (const p of this.#parts.values()) out.push(...p.problems);
    for (const [id, owners] of this.#owners) {
      if (typeof owners === 'string') continue;
      const flows = [...owners].map((k) => this.#parts.get(k)!.flows.get(id)!);
      const datas = new Set(flows.map((f) => `${f.cookie}|${flowDataText(f)}`));
      if (datas.size > 1) out.push({ message: `conflicting flows for ${id} from ${[...owners].map((k) => k || 'global').join(', ')}; kept 0x${this.#winner(id)!.cookie.toString(16)}` });
    }
    return out;
  }

  /** Replaces one part's flows, remembering each touched identity's winner from before the first change. */
  #replace(key: string, flows: readonly DesiredFlow[], problems: PipelineProblem[], before: Map<string, DesiredFlow | undefined>): void {
    const old = this.#parts.get(key)?.flows ?? new Map<string, DesiredFlow>();
    const next = new Map<string, DesiredFlow>();
    for (const f of flows) {
      const id = flowIdentity(f);
      const dup = next.get(id);
      // planNetwork output has unique identities; should one repeat, the merge rule decides here too.
      if (dup && !better(f, dup)) continue;
      const e = old.get(id);
      // Unchanged: keep the object the reconciler already holds (and its identity text as the key),
      // so a recompute never leaves two copies of a flow and of the keys made from it.
      if (e && sameFlowData(f, e)) next.set(flowIdentity(e), e);
      else next.set(id, f);
    }
    const touch = (id: string): void => {
      if (!before.has(id)) before.set(id, this.#winner(id));
    };
    for (const [id, e] of old) {
      if (next.get(id) === e) continue;
      touch(id);
      this.#disown(id, key);
    }
    // The part's flows are replaced below; an owner entry only names the part, so an unchanged flow
    // needs nothing here and a new or changed one is owned (again) by this part.
    if (next.size === 0 && problems.length === 0 && key !== GLOBAL) this.#parts.delete(key);
    else this.#parts.set(key, { flows: next, problems });
    for (const [id, n] of next) {
      if (old.get(id) === n) continue;
      touch(id);
      this.#own(id, key);
    }
  }

  #own(id: string, key: string): void {
    const owners = this.#owners.get(id);
    if (owners === undefined) this.#owners.set(id, key);
    else if (typeof owners === 'string') {
      if (owners !== key) this.#owners.set(id, new Set([owners, key]));
    } else owners.add(key);
  }

  #disown(id: string, key: string): void {
    const owners = this.#owners.get(id);
    if (owners === undefined) return;
    if (typeof owners === 'string') {
      if (owners === key) this.#owners.delete(id);
      return;
    }
    owners.delete(key);
    if (owners.size === 1) this.#owners.set(id, owners.values().next().value!);
  }

  #winner(id: string): DesiredFlow | undefined {
    const owners = this.#owners.get(id);
    if (owners === undefined) return undefined;
    if (typeof owners === 'string') return this.#parts.get(owners)?.flows.get(id);
    let best: DesiredFlow | undefined;
    for (const k of owners) {
      const f = this.#parts.get(k)?.flows.get(id);
      if (f && (!best || better(f, best))) best = f;
    }
    return best;
  }
}
