// B4 memory: the agent's memory per remote endpoint: its resident set (/proc VmRSS, split into private
// RssAnon and file-backed RssFile, the latter mostly lmdb's map), its own V8 heap after a forced GC
// (through the inspector, bench/lib/agent-memory.ts), the same structures built stage by stage in this
// process (bench/lib/memory-model.ts), ovs-vswitchd's memory per installed flow, and ovn-controller's
// per port where the OVN lab runs.
import type { Bench, BenchContext } from './lib/context.js';
import { agentStatus, call, until } from './lib/agents.js';
import { heapAfterGcOf, procMemory, type HeapAfterGc, type ProcMemory } from './lib/agent-memory.js';
import { memoryModel, type MemoryModel } from './lib/memory-model.js';
import { OURS, figure, side } from './lib/report.js';
import { bigScenario, type Scenario } from './lib/scenario.js';
import { rssBytes, sleep } from './lib/sys.js';
import { ovnControllerRss, ovnLab } from './lib/ovn.js';
import { Lab } from '../src/lab/index.js';

const MiB = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;

/**
 * ovs-vswitchd keeps, and reuses, the memory of the flows earlier benchmarks installed (B1 and B6
 * reach 100,000), so its RSS would grow by nothing for B4's flows: the zero point starts a fresh one
 * (kill -9, brought back by the lab's recipe, the agent's few flows reinstalled).
 */
async function freshVswitchd(sc: Scenario, ctx: BenchContext): Promise<void> {
  const pid = (await sc.lab.status()).hosts[0]!.vswitchdPid;
  if (!pid) throw new Error('h1 has no running ovs-vswitchd');
  ctx.log('B4: a fresh ovs-vswitchd on h1 for the zero point');
  process.kill(pid, 'SIGKILL');
  await Lab.up({ lab: sc.lab.name });
  const h1 = sc.agents.get('h1')!;
  await until('h1 /readyz with the fresh ovs-vswitchd', async () => ((await call(sc.http, h1, 'GET', '/readyz')).status === 200 ? true : undefined), 120000, 100);
}

interface AgentPoint {
  /** 5 s after h1 installed the flows, GC left to V8. */
  before: ProcMemory;
  /** The agent's own heap after forced GCs, or why it could not be read. */
  heap: HeapAfterGc | string;
  /** /proc right after those GCs. */
  after: ProcMemory | null;
}

export const b4: Bench = {
  id: 'B4',
  title: 'memory per endpoint (agent RSS and heap, ovs-vswitchd per flow, peers)',
  async run(ctx: BenchContext) {
    const points = ctx.quick ? [0, 10000] : [0, 10000, 100000];
    const agent = new Map<number, AgentPoint>();
    const vsRss = new Map<number, { rss: number; flows: number }>();
    for (const n of points) {
      ctx.log(`B4: agent memory with ${n.toLocaleString('en-US')} remote endpoints`);
      const sc = await bigScenario(ctx, n);
      if (n === 0) await freshVswitchd(sc, ctx);
      const st = await sc.lab.status();
      const h1 = st.hosts[0]!;
      // The agent as it runs: 5 s after the sync, whatever V8 collected on its own.
      await sleep(5000);
      const status = await agentStatus(sc.http, sc.agents.get('h1')!);
      const before = h1.agent ? procMemory(h1.agent.pid) : null;
      const vs = h1.vswitchdPid ? rssBytes(h1.vswitchdPid) : null;
      if (before === null || vs === null || !h1.agent) throw new Error('h1 agent or ovs-vswitchd not running');
      const heap = await heapAfterGcOf(sc.lab.ns({ host: 'h1' }), h1.agent.pid).catch((err: unknown) => (err as Error).message);
      const after = procMemory(h1.agent.pid);
      agent.set(n, { before, heap, after });
      vsRss.set(n, { rss: vs, flows: status?.switch.flows.installed ?? 0 });
      ctx.log(
        `B4: ${n} endpoints: agent RSS ${MiB(before.rss)} (anon ${MiB(before.anon)}, file ${MiB(before.file)}); ` +
          (typeof heap === 'string' ? `heap not read: ${heap}` : `after forced GC heap ${MiB(heap.heapUsed)}, RSS ${after ? MiB(after.rss) : '?'} (anon ${after ? MiB(after.anon) : '?'})`) +
          `; ovs-vswitchd RSS ${MiB(vs)} with ${status?.switch.flows.installed} flows`,
      );
    }
    const zero = agent.get(0)!;
    const target = { target: '<= 1 KB per endpoint', meets: (o: { median: number }) => o.median <= 1024 };
    for (const n of points.filter((p) => p > 0)) {
      const at = agent.get(n)!;
      const count = n.toLocaleString('en-US');
      const split = (m: ProcMemory) => `${MiB(m.rss)} (anon ${MiB(m.anon)}, file ${MiB(m.file)})`;
      ctx.report(figure({ bench: 'B4', name: `agent RSS per remote endpoint at ${count}`, unit: 'bytes', better: 'lower', ours: side(OURS, [(at.before.rss - zero.before.rss) / n]), ...target, note: `as it runs, 5 s after the sync (GC left to V8): VmRSS ${split(zero.before)} at 0 -> ${split(at.before)} at ${count}` }));
      if (zero.after === null || at.after === null) {
        ctx.report(figure({ bench: 'B4', name: `agent RSS after GC per remote endpoint at ${count}`, unit: 'bytes', better: 'lower', ours: side(OURS, null, 'the agent process was gone after the forced GC'), ...target }));
      } else {
        ctx.report(figure({ bench: 'B4', name: `agent RSS after GC per remote endpoint at ${count}`, unit: 'bytes', better: 'lower', ours: side(OURS, [(at.after.rss - zero.after.rss) / n]), ...target, note: `right after forced full GCs: VmRSS ${split(zero.after)} at 0 -> ${split(at.after)} at ${count}; private (RssAnon) per endpoint ${Math.round((at.after.anon - zero.after.anon) / n)} B` }));
      }
      const h0 = zero.heap;
      const hn = at.heap;
      if (typeof h0 === 'string' || typeof hn === 'string') {
        ctx.report(figure({ bench: 'B4', name: `agent heap after GC per remote endpoint at ${count}`, unit: 'bytes', better: 'lower', ours: side(OURS, null, typeof hn === 'string' ? hn : (h0 as string)), ...target }));
      } else {
        ctx.report(
          figure({
            bench: 'B4',
            name: `agent heap after GC per remote endpoint at ${count}`,
            unit: 'bytes',
            better: 'lower',
            ours: side(OURS, [(hn.heapUsed - h0.heapUsed) / n]),
            ...target,
            note: `the agent's own heapUsed after forced full GCs ${MiB(h0.heapUsed)} -> ${MiB(hn.heapUsed)} (heapTotal ${MiB(h0.heapTotal)} -> ${MiB(hn.heapTotal)}, external ${MiB(h0.external)} -> ${MiB(hn.external)})`,
          }),
        );
      }
      const v0 = vsRss.get(0)!;
      const vn = vsRss.get(n)!;
      ctx.report(figure({ bench: 'B4', name: `ovs-vswitchd RSS per installed flow (${vn.flows.toLocaleString('en-US')} flows)`, unit: 'bytes', better: 'lower', ours: side('ovs-vswitchd', [(vn.rss - v0.rss) / Math.max(1, vn.flows - v0.flows)]), note: `${MiB(v0.rss)} with ${v0.flows} flows -> ${MiB(vn.rss)}` }));
    }
    const modelN = ctx.quick ? 10000 : 100000;
    const models: MemoryModel[] = [];
    for (let i = 0; i < 2; i++) {
      ctx.log(`B4: heap model with ${modelN.toLocaleString('en-US')} endpoints, run ${i + 1}/2`);
      models.push(await memoryModel(modelN));
    }
    const stages = models[0]!.stages.map((s, i) => `${s.stage}: ${models.map((m) => Math.round(m.stages[i]!.perEndpoint)).join(' / ')} B`);
    ctx.report(
      figure({
        bench: 'B4',
        name: `heap per remote endpoint at ${modelN.toLocaleString('en-US')} (model, after GC)`,
        unit: 'bytes',
        better: 'lower',
        ours: side(OURS, models.map((m) => m.totalPerEndpoint)),
        ...target,
        note: `per stage, each run: ${stages.join('; ')} (${models[0]!.flows.toLocaleString('en-US')} flows)`,
      }),
    );

    // Compared with the agent's RSS per endpoint at 10,000.
    // After GC where it was read: ovn-controller has no garbage collector to wait for.
    const at10k = agent.get(10000);
    const oursPer = at10k === undefined ? null : at10k.after && zero.after ? (at10k.after.rss - zero.after.rss) / 10000 : (at10k.before.rss - zero.before.rss) / 10000;
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
    ctx.note(
      "Agent: h1's agent process with n remote endpoints (seeded into h2's store and carried by the mesh; fresh agents for every point). RSS: /proc/<pid>/status 5 s after h1 installed the flows, VmRSS = RssAnon (private: V8 heap, native allocations) + RssFile (file-backed: lmdb's memory map, node's binary; page cache the kernel can drop) + RssShmem. Heap after GC: the agent's own heapUsed after three full GCs forced through Node's inspector (SIGUSR1 opens it on the namespace's 127.0.0.1:9229; closed again afterwards).",
    );
    ctx.note(
      "Model: the same structures built with the agent's code in the bench process, heapUsed after two forced GCs per stage: the records as the mesh delivers them (JSON) applied to an lmdb store + registry of h1, the agent's per-network desired state, the reconciler's desired table, its installed table after a run against an empty switch; and apart (not in the total) the installed table read back from a flow dump through the codec, as after an agent restart.",
    );
    ctx.note('ovs-vswitchd: VmRSS of h1\'s ovs-vswitchd at each point divided by the flows added; restarted before the zero point, since it keeps the memory of the flows earlier benchmarks installed.');
  },
};
