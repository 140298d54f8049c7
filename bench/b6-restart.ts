// B6 restart: with the scenario's flows on h1 and a 10 ms ping from b6a (h1) to b6b (h2), kill -9 and
// restart h1's agent (lost pings, flows re-added, time until reconciled), then kill -9 h1's
// ovs-vswitchd and bring it back with the lab's own recipe (time until the ping is answered again).
import type { Bench, BenchContext } from './lib/context.js';
import { agentStatus, call, until, type AgentSwitch } from './lib/agents.js';
import { Ping, firstReplyAfter } from './lib/ping.js';
import { OURS, figure, side } from './lib/report.js';
import { CONTAINERS, bigScenario } from './lib/scenario.js';
import { sh, sleep } from './lib/sys.js';
import { Lab } from '../src/lab/index.js';
import { ovnRestartPeer } from './lib/ovn.js';

/** flow identity (table, priority, match) -> duration in seconds, from ovs-ofctl dump-flows. */
export function flowDurations(dump: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of dump.split('\n')) {
    const d = /duration=([\d.]+)s/.exec(line);
    if (!d) continue;
    const key = line.replace(/(cookie|duration|n_packets|n_bytes|idle_age|hard_age|reset_counts)=[^,\s]+,?\s?/g, '').trim();
    out.set(key, Number(d[1]));
  }
  return out;
}

type Reconcile = AgentSwitch['reconcile'];

/**
 * Flow mods the agent sent since it started: its own count, or (an agent without it) the sum of its
 * only run's changes; a run with nothing to change is not counted and sends nothing.
 */
export function restartFlowMods(rc: Reconcile): number | null {
  if (rc.flowModsSent !== undefined) return rc.flowModsSent;
  if (rc.count === 0) return 0;
  return rc.count === 1 ? (rc.lastAdded ?? 0) + (rc.lastModified ?? 0) + (rc.lastDeleted ?? 0) : null;
}

export function restartNote(rc: Reconcile): string {
  const mods = restartFlowMods(rc);
  const sent = mods === null ? 'flow mods sent unknown (the agent does not count them)' : `${mods.toLocaleString('en-US')} flow mods sent`;
  if (rc.count === 0) return `${sent}; no reconcile run had anything to change (the dump matched the desired table)`;
  return `${sent} in ${rc.count} reconcile run(s) that changed flows; the last added ${rc.lastAdded ?? 0}, modified ${rc.lastModified ?? 0}, deleted ${rc.lastDeleted ?? 0}`;
}

export const b6: Bench = {
  id: 'B6',
  title: 'restart disruption (agent kill -9, ovs-vswitchd restart)',
  async run(ctx: BenchContext) {
    const endpoints = ctx.quick ? 10000 : 50000;
    const sc = await bigScenario(ctx, endpoints);
    const { lab, http } = sc;
    const h1 = sc.agents.get('h1')!;
    const src = CONTAINERS[0];
    const dst = CONTAINERS[1];
    const ns = lab.ns({ container: src.name });
    await until('a first ping reply b6a -> b6b', async () => ((await sh('ip', ['netns', 'exec', ns, 'ping', '-c', '1', '-W', '1', dst.ip], { check: false })).exitCode === 0 ? true : undefined), 30000, 200);
    const before = await agentStatus(http, h1);
    const flows = before?.switch.flows.installed ?? 0;
    ctx.note(`h1 holds ${flows.toLocaleString('en-US')} flows (${endpoints.toLocaleString('en-US')} endpoints seeded into h2's store, carried by the mesh); ping -i 0.01 from container ${src.name} (h1) to ${dst.name} (h2) through the overlay.`);
    ctx.note('Agent restart: `kill -9` of h1\'s agent, then the lab starts it again (node bin/bumless.js agent, same data dir); "reconciled" = /readyz answers 200 again (switch connected, flows reconciled), timed from the kill. Flows re-added = flows whose OVS duration restarted (dump-flows before and after).');

    const dumpBefore = flowDurations(await lab.ofctl('h1', 'dump-flows'));
    const ping = new Ping(ns, dst.ip);
    await sleep(1000);
    const tKill = Date.now();
    await lab.stopAgents({ host: 'h1', signal: 'KILL' });
    await lab.startAgents({ host: 'h1', readyTimeoutMs: 300000 });
    const st = await lab.status();
    const a1 = { ...h1, token: st.hosts[0]!.agent?.adminToken ?? h1.token, pid: st.hosts[0]!.agent?.pid ?? 0 };
    await until('h1 /readyz after restart', async () => ((await call(http, a1, 'GET', '/readyz')).status === 200 ? true : undefined), 300000, 20);
    const reconciledMs = Date.now() - tKill;
    await sleep(1000);
    const r1 = await ping.stop();
    const after = await agentStatus(http, a1);
    const elapsedS = (Date.now() - tKill) / 1000;
    const dumpAfter = flowDurations(await lab.ofctl('h1', 'dump-flows'));
    let readded = 0;
    for (const [k, d] of dumpAfter) {
      const was = dumpBefore.get(k);
      if (was === undefined || d < elapsedS - 0.5) readded++;
    }
    const rc = after?.switch.reconcile;
    const mods = rc ? restartFlowMods(rc) : null;
    ctx.report(figure({ bench: 'B6', name: `agent kill -9 + restart, ${flows.toLocaleString('en-US')} flows: lost pings`, unit: 'pings', better: 'lower', ours: side(OURS, [r1.lost]), target: '0 lost', meets: (o) => o.median === 0, note: `${r1.transmitted} sent, ${r1.received} answered over ${(r1.transmitted / 100).toFixed(1)} s` }));
    ctx.report(figure({ bench: 'B6', name: 'agent restart: flows re-added (OVS duration reset)', unit: 'flows', better: 'lower', ours: side(OURS, [readded]), target: '0 re-added unchanged flow', meets: (o) => o.median === 0, note: rc ? `restarted agent: ${restartNote(rc)}` : 'the restarted agent\'s /v1/status did not answer' }));
    ctx.report(figure({ bench: 'B6', name: 'agent restart: flow mods sent by the restarted agent', unit: 'flow mods', better: 'lower', ours: side(OURS, mods === null ? null : [mods], rc ? 'the agent does not count its flow mods (no reconcile.flowModsSent) and ran more than once' : 'the restarted agent\'s /v1/status did not answer'), target: '0', meets: (o) => o.median === 0, note: `its reconciler dumped the ${flows.toLocaleString('en-US')} installed flows and compared them with its desired table` }));
    ctx.report(figure({ bench: 'B6', name: 'agent restart: kill to reconciled (/readyz)', unit: 'ms', better: 'lower', ours: side(OURS, [reconciledMs]), note: 'includes Node start, store open, mesh resync and the flow dump of the switch' }));

    // ovs-vswitchd restart: kill -9, then the lab's recipe (ovs-start + bridges) brings it back.
    const vsPid = (await lab.status()).hosts[0]!.vswitchdPid;
    if (!vsPid) throw new Error('h1 has no running ovs-vswitchd');
    const ping2 = new Ping(ns, dst.ip);
    await sleep(1000);
    const tKill2 = Date.now();
    process.kill(vsPid, 'SIGKILL');
    await Lab.up({ lab: lab.name });
    const tUp = Date.now();
    await until('h1 /readyz after ovs-vswitchd restart', async () => ((await call(http, a1, 'GET', '/readyz')).status === 200 ? true : undefined), 300000, 50);
    const tReady = Date.now();
    await sleep(2000);
    const r2 = await ping2.stop();
    const back = firstReplyAfter(r2, tKill2 + 1);
    ctx.report(
      figure({
        bench: 'B6',
        name: 'ovs-vswitchd kill -9 + restart: until forwarding again',
        unit: 'ms',
        better: 'lower',
        ours: back === null ? side(OURS, null, `no ping reply within ${((Date.now() - tKill2) / 1000).toFixed(0)} s of the kill`) : side(OURS, [back - tKill2]),
        note: `ovs-vswitchd back (lab recipe) after ${tUp - tKill2} ms, agent /readyz after ${tReady - tKill2} ms; ${r2.lost} pings lost of ${r2.transmitted}`,
      }),
    );
    for (const f of await ovnRestartPeer(ctx)) ctx.report({ ...f, ours: side(OURS, [r1.lost]), ratio: null });
  },
};
