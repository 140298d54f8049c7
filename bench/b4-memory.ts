// B4 memory: the agent's RSS per remote endpoint (real agent on h1, /proc VmRSS), the heap per endpoint
// of the agent's own data structures after a forced GC (in this process), ovs-vswitchd's memory per
// installed flow, and ovn-controller's per port where the OVN lab runs.
import { mkdtempSync, rmSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Store } from '../src/registry/store.js';
import { Registry } from '../src/registry/registry.js';
import { desiredFlows } from '../src/pipeline/index.js';
import { FlowTable } from '../src/reconcile/index.js';
import type { Bench, BenchContext } from './lib/context.js';
import { agentStatus } from './lib/agents.js';
import { OURS, figure, side } from './lib/report.js';
import { bigScenario } from './lib/scenario.js';
import { seedIp, seedMac } from './lib/seed.js';
import { rssBytes, sleep } from './lib/sys.js';
import { ovnControllerRss, ovnLab } from './lib/ovn.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

/** Heap held per endpoint by a registry of n remote endpoints plus the flows the reconciler keeps for them. */
async function heapPerEndpoint(n: number): Promise<number> {
  const dir = mkdtempSync('/tmp/bumless-b4-');
  const store = await Store.open({ path: dir, hostId: 'h2' });
  const registry = Registry.open({ store, hostId: 'h2', vtep: '192.168.250.2' });
  try {
    await registry.createTenant({ name: 'big', quota: { endpoints: 1_000_000 } });
    await registry.createNetwork({ tenant: 'big', name: 'net', vni: 4000, cidrs: ['10.64.0.0/10'] });
    await registry.upsertLocalEndpoints([{ network: 'big/net', mac: '02:b6:ff:00:00:01', ips: ['10.64.0.1'], port: 'c-b6a' }]);
    const base = heapAfterGc();
    for (let s = 0; s < n; s += 5000) {
      const batch = [];
      for (let i = s; i < Math.min(n, s + 5000); i++) batch.push({ network: 'big/net', mac: seedMac(0xb4, i), ips: [seedIp([10, 65], i)], port: `s${i}` });
      await registry.upsertLocalEndpoints(batch);
    }
    await registry.settled();
    // The host under test sees them as remote: its desired table, and the reconciler's desired and installed copies.
    const eps = registry.endpoints().map((e) => (e.mac === '02:b6:ff:00:00:01' ? { ...e, hostId: 'h1', vtep: '192.168.250.1' } : e));
    const flows = desiredFlows({ hostId: 'h1', vtepIp: '192.168.250.1', tunnelOfport: 1, localPorts: new Map([['c-b6a', 2]]), networks: registry.networks(), endpoints: eps });
    const desired = FlowTable.from(flows);
    const installed = FlowTable.from(flows);
    const held = heapAfterGc() - base;
    if (desired.size + installed.size < n) throw new Error('flow tables smaller than expected');
    return held / n;
  } finally {
    await registry.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const b4: Bench = {
  id: 'B4',
  title: 'memory per endpoint (agent RSS and heap, ovs-vswitchd per flow, peers)',
  async run(ctx: BenchContext) {
    const points = ctx.quick ? [0, 10000] : [0, 10000, 100000];
    const agentRss = new Map<number, number>();
    const vsRss = new Map<number, { rss: number; flows: number }>();
    for (const n of points) {
      ctx.log(`B4: agent memory with ${n.toLocaleString('en-US')} remote endpoints`);
      const sc = await bigScenario(ctx, n);
      const st = await sc.lab.status();
      const h1 = st.hosts[0]!;
      // Let the heap settle after the sync (V8 collects on its own; GC cannot be forced in the agent process).
      await sleep(5000);
      const status = await agentStatus(sc.http, sc.agents.get('h1')!);
      const rss = h1.agent ? rssBytes(h1.agent.pid) : null;
      const vs = h1.vswitchdPid ? rssBytes(h1.vswitchdPid) : null;
      if (rss === null || vs === null) throw new Error('h1 agent or ovs-vswitchd not running');
      agentRss.set(n, rss);
      vsRss.set(n, { rss: vs, flows: status?.switch.flows.installed ?? 0 });
      ctx.log(`B4: ${n} endpoints: agent RSS ${(rss / 1048576).toFixed(1)} MiB, ovs-vswitchd RSS ${(vs / 1048576).toFixed(1)} MiB with ${status?.switch.flows.installed} flows`);
    }
    const zero = agentRss.get(0)!;
    for (const n of points.filter((p) => p > 0)) {
      const per = (agentRss.get(n)! - zero) / n;
      ctx.report(figure({ bench: 'B4', name: `agent RSS per remote endpoint at ${n.toLocaleString('en-US')}`, unit: 'bytes', better: 'lower', ours: side(OURS, [per]), target: '<= 1 KB per endpoint', meets: (o) => o.median <= 1024, note: `RSS ${(zero / 1048576).toFixed(1)} MiB at 0 -> ${(agentRss.get(n)! / 1048576).toFixed(1)} MiB at ${n}` }));
      const v0 = vsRss.get(0)!;
      const vn = vsRss.get(n)!;
      ctx.report(figure({ bench: 'B4', name: `ovs-vswitchd RSS per installed flow (${vn.flows.toLocaleString('en-US')} flows)`, unit: 'bytes', better: 'lower', ours: side('ovs-vswitchd', [(vn.rss - v0.rss) / Math.max(1, vn.flows - v0.flows)]), note: `${(v0.rss / 1048576).toFixed(1)} MiB with ${v0.flows} flows -> ${(vn.rss / 1048576).toFixed(1)} MiB` }));
    }
    const heapN = ctx.quick ? 10000 : 100000;
    const heaps: number[] = [];
    for (let i = 0; i < (ctx.quick ? 2 : 3); i++) heaps.push(await heapPerEndpoint(heapN));
    ctx.report(figure({ bench: 'B4', name: `heap per remote endpoint at ${heapN.toLocaleString('en-US')} (after GC)`, unit: 'bytes', better: 'lower', ours: side(OURS, heaps), target: '<= 1 KB per endpoint', meets: (o) => o.median <= 1024 }));

    // Compared with the agent's RSS per endpoint at 10,000.
    const oursPer = agentRss.has(10000) ? (agentRss.get(10000)! - zero) / 10000 : null;
    const ovn = await ovnLab(ctx);
    if (typeof ovn === 'string') {
      ctx.report(figure({ bench: 'B4', name: 'RSS per endpoint vs ovn-controller per logical port', unit: 'bytes', better: 'lower', ours: oursPer === null ? side(OURS, null, 'no agent RSS at 10,000') : side(OURS, [oursPer]), peer: side('OVN 23.03 ovn-controller', null, ovn) }));
    } else {
      const ports = (await ovn.nb(['--bare', '--columns=name', 'list', 'logical_switch_port'])).stdout.split('\n').filter(Boolean).length;
      const now = ovnControllerRss(ovn);
      const idle = ovn.idleRss;
      const per = now !== null && idle !== null && ports > 10 ? (now - idle) / ports : null;
      ctx.report(
        figure({
          bench: 'B4',
          name: 'RSS per endpoint vs ovn-controller per logical port',
          unit: 'bytes',
          better: 'lower',
          ours: oursPer === null ? side(OURS, null, 'no agent RSS at 10,000') : side(OURS, [oursPer]),
          peer: side('OVN 23.03 ovn-controller', per === null ? null : [per], per === null ? `only ${ports} ports in the OVN lab (run B2 first)` : undefined),
          note: `boh1's ovn-controller: ${idle === null ? '?' : (idle / 1048576).toFixed(1)} MiB idle -> ${now === null ? '?' : (now / 1048576).toFixed(1)} MiB with ${ports} logical ports`,
        }),
      );
    }
    ctx.note('Agent RSS: VmRSS of h1\'s agent process from /proc, 5 s after h1 installed the flows of n remote endpoints (seeded into h2\'s store and carried by the mesh; fresh agents for every point); GC is not forced in the agent. Heap: the same registry (lmdb store + in-memory registry), the pipeline\'s desired flows and the reconciler\'s desired and installed flow tables built in the bench process, heapUsed after three forced GCs, minus the baseline.');
    ctx.note('ovs-vswitchd: VmRSS of h1\'s ovs-vswitchd at each point divided by the flows added.');
  },
};
