// Incremental bookkeeping for the agent: it keeps each network's flows and recomputes only the
// networks an event touched. mergeFlows is order-independent, so the merged result is the same as
// planPipeline over the whole registry (test/unit/pipeline-incremental.test.ts holds it to that).
import type { Endpoint, Network } from '../registry/model.js';
import { globalFlows, mergeFlows, planNetwork, type DesiredFlow, type HostContext, type PipelinePlan, type PipelineProblem } from './desired.js';

export class PipelineBook {
  private readonly parts = new Map<string, { flows: DesiredFlow[]; problems: PipelineProblem[] }>();
  private cached: PipelinePlan | undefined;

  constructor(private ctx: HostContext) {}

  get context(): HostContext {
    return this.ctx;
  }

  /**
   * Recomputes one network (key "<tenant>/<network>") from its current definition and endpoints;
   * `network` undefined means it no longer exists. Returns whether its flows changed.
   */
  update(key: string, network: Network | undefined, endpoints: readonly Endpoint[]): boolean {
    const before = this.parts.get(key);
    if (!network) {
      this.parts.delete(key);
    } else {
      this.parts.set(key, planNetwork(this.ctx, network, endpoints));
    }
    const after = this.parts.get(key);
    this.cached = undefined;
    return !sameFlows(before?.flows, after?.flows);
  }

  /**
   * The host context changed (a port appeared or went, the tunnel port was renumbered): every
   * network is recomputed from `networks` and `endpointsOf`.
   */
  reset(ctx: HostContext, networks: Iterable<Network>, endpointsOf: (key: string) => readonly Endpoint[]): void {
    this.ctx = ctx;
    this.parts.clear();
    this.cached = undefined;
    for (const n of networks) {
      const key = `${n.tenant}/${n.name}`;
      if (!this.parts.has(key)) this.parts.set(key, planNetwork(ctx, n, endpointsOf(key)));
    }
  }

  plan(): PipelinePlan {
    if (!this.cached) {
      const keys = [...this.parts.keys()].sort();
      const merged = mergeFlows([globalFlows(), ...keys.map((k) => this.parts.get(k)!.flows)]);
      this.cached = { flows: merged.flows, problems: [...keys.flatMap((k) => this.parts.get(k)!.problems), ...merged.problems] };
    }
    return this.cached;
  }

  flows(): DesiredFlow[] {
    return this.plan().flows;
  }
}

function sameFlows(a: DesiredFlow[] | undefined, b: DesiredFlow[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  // Flows are plain data with bigints; a structural comparison through canonical JSON is enough.
  const text = (f: DesiredFlow[]) => JSON.stringify(f, (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v));
  return text(a) === text(b);
}
