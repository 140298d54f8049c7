// B5 data plane: ping RTT and iperf3 TCP from b6a (h1) to b6b (h2) through the agent's pipeline, vs the
// same lab and containers with a minimal static flow set (agents stopped: per host one classify flow
// from the container into the tunnel and one output flow from the tunnel to the container), vs OVN's
// pipeline in its own lab. The two same-lab configurations alternate round by round (ABBA), because
// on this shared machine the load drifts within a minute: measured one block after the other, the
// drift alone moved the ratio from 0.67x to 1.0x. Each round also records why the fast path costs
// what it costs: the megaflows that carried the stream and their mask shapes, the datapath's exact-match
// cache hits, upcalls, and revalidations caused by flow-table changes.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bench, BenchContext } from './lib/context.js';
import { OURS, figure, side } from './lib/report.js';
import { bigScenario, CONTAINERS } from './lib/scenario.js';
import { iperf, maskShape, pingRtt } from './lib/traffic.js';
import { ensureContainers, ovnLab } from './lib/ovn.js';
import { sh, sleep } from './lib/sys.js';
import { agentStatus, readyAgents, until } from './lib/agents.js';
import { median } from './lib/stats.js';

/** Counters of the userspace datapath's threads (`dpif-netdev/pmd-stats-show`), summed over threads. */
export interface PmdStats {
  packets: number;
  emcHits: number;
  smcHits: number;
  megaflowHits: number;
  /** Mean subtable (mask) lookups per megaflow hit, weighted by hits; null without megaflow hits. */
  subtableLookups: number | null;
  upcalls: number;
  failedUpcalls: number;
}

export function parsePmdStats(text: string): PmdStats {
  const out: PmdStats = { packets: 0, emcHits: 0, smcHits: 0, megaflowHits: 0, subtableLookups: null, upcalls: 0, failedUpcalls: 0 };
  let weighted = 0;
  // One block per thread: its megaflow hits come before its lookups-per-hit line.
  let lastMegaflowHits = 0;
  for (const line of text.split('\n')) {
    const m = /^\s*([a-z. ]+):\s*([\d.]+)/.exec(line);
    if (!m) continue;
    const v = Number(m[2]);
    switch (m[1]!.trim()) {
      case 'packets received': out.packets += v; break;
      case 'emc hits': out.emcHits += v; break;
      case 'smc hits': out.smcHits += v; break;
      case 'megaflow hits': out.megaflowHits += v; lastMegaflowHits = v; break;
      case 'avg. subtable lookups per megaflow hit': weighted += v * lastMegaflowHits; break;
      case 'miss with success upcall': out.upcalls += v; break;
      case 'miss with failed upcall': out.failedUpcalls += v; break;
    }
  }
  if (out.megaflowHits > 0) out.subtableLookups = weighted / out.megaflowHits;
  return out;
}

export interface DpFlow {
  key: string;
  packets: number;
  actions: string;
}

/** Datapath flows from `dpctl/dump-flows` (userspace datapath). */
export function parseDpFlows(text: string): DpFlow[] {
  const out: DpFlow[] = [];
  for (const line of text.split('\n')) {
    const m = /^(.*), packets:(\d+),.* actions:(.*)$/.exec(line.trim());
    if (m) out.push({ key: m[1]!, packets: Number(m[2]), actions: m[3]! });
  }
  return out;
}

/**
 * The mask shapes of the megaflows that carried the TCP stream: those with at least a tenth of the
 * busiest flow's packets (the data direction, the ACK direction and, on a tunnel endpoint, the outer
 * packet before tnl_pop), sorted.
 */
export function streamShapes(flows: readonly DpFlow[]): string[] {
  const max = Math.max(0, ...flows.map((f) => f.packets));
  if (max === 0) return [];
  return [...new Set(flows.filter((f) => f.packets >= max / 10).map((f) => maskShape(f.key)))].sort();
}

/** Coverage counter totals from `coverage/show`. */
export function parseCoverage(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w+)\s+.*total:\s*(\d+)\s*$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

type Config = 'ours' | 'minimal';
const HOSTS = ['h1', 'h2'] as const;

interface Round {
  rtt: number;
  gbps: number;
  /** Per host (h1 sender, h2 receiver), over the iperf3 run. */
  pmd: Record<(typeof HOSTS)[number], PmdStats>;
  shapes: Record<(typeof HOSTS)[number], string[]>;
  /** Revalidations of all datapath flows caused by OpenFlow table changes, both hosts. */
  revFlowTable: number;
  /** Datapath flows, dumped in the middle of the stream. */
  dp: Record<(typeof HOSTS)[number], DpFlow[]>;
}

async function appctl(ctl: string, ...args: string[]): Promise<string> {
  return (await sh('ovs-appctl', ['-t', ctl, ...args])).stdout;
}

async function round(ctl: Record<(typeof HOSTS)[number], string>, src: string, dst: string, ip: string, seconds: number): Promise<Round> {
  const rtt = await pingRtt(src, ip, 100);
  const cov0 = await Promise.all(HOSTS.map(async (h) => parseCoverage(await appctl(ctl[h], 'coverage/show'))));
  for (const h of HOSTS) await appctl(ctl[h], 'dpif-netdev/pmd-stats-clear');
  const run = iperf(src, dst, ip, seconds);
  // iperf() gives the server 500 ms to start; dump once the stream runs.
  await sleep(500 + (seconds * 1000) / 2);
  const dumps = await Promise.all(HOSTS.map((h) => appctl(ctl[h], 'dpctl/dump-flows')));
  const gbps = await run;
  const pmd = await Promise.all(HOSTS.map(async (h) => parsePmdStats(await appctl(ctl[h], 'dpif-netdev/pmd-stats-show'))));
  const cov1 = await Promise.all(HOSTS.map(async (h) => parseCoverage(await appctl(ctl[h], 'coverage/show'))));
  const flows = dumps.map(parseDpFlows);
  let revFlowTable = 0;
  for (let i = 0; i < HOSTS.length; i++) revFlowTable += (cov1[i]!.get('rev_flow_table') ?? 0) - (cov0[i]!.get('rev_flow_table') ?? 0);
  return { rtt, gbps, pmd: { h1: pmd[0]!, h2: pmd[1]! }, shapes: { h1: streamShapes(flows[0]!), h2: streamShapes(flows[1]!) }, revFlowTable, dp: { h1: flows[0]!, h2: flows[1]! } };
}

/** The evidence of one configuration's rounds, for the notes. */
function evidence(rounds: readonly Round[]): { emcShare: number; upcalls: number; lookups: number | null; revFlowTable: number; shapes: string[] } {
  let packets = 0;
  let emc = 0;
  let upcalls = 0;
  let mfHits = 0;
  let lookups = 0;
  for (const r of rounds) {
    for (const h of HOSTS) {
      const p = r.pmd[h];
      // Hits count lookups: a tunnelled packet is looked up twice (outer, then inner after tnl_pop).
      packets += p.emcHits + p.smcHits + p.megaflowHits + p.upcalls + p.failedUpcalls;
      emc += p.emcHits;
      upcalls += p.upcalls + p.failedUpcalls;
      mfHits += p.megaflowHits;
      lookups += (p.subtableLookups ?? 0) * p.megaflowHits;
    }
  }
  const shapes = [...new Set(rounds.flatMap((r) => HOSTS.map((h) => `${h}: ${r.shapes[h].join(' | ')}`)))];
  return { emcShare: packets ? emc / packets : 0, upcalls, lookups: mfHits ? lookups / mfHits : null, revFlowTable: rounds.reduce((s, r) => s + r.revFlowTable, 0), shapes };
}

function masks(flows: readonly DpFlow[]): Set<string> {
  return new Set(flows.map((f) => maskShape(f.key)));
}

export const b5: Bench = {
  id: 'B5',
  title: 'data plane (ping RTT, iperf3 TCP; datapath flows and masks)',
  async run(ctx: BenchContext) {
    // Even counts, so that ABBA gives each configuration the first place equally often.
    const rounds = ctx.quick ? 2 : 6;
    const seconds = ctx.quick ? 3 : 5;
    const sc = await bigScenario(ctx, 0);
    const { lab } = sc;
    const [a, b] = CONTAINERS;
    const srcNs = lab.ns({ container: a.name });
    const dstNs = lab.ns({ container: b.name });
    const st = await lab.status();
    const h1 = st.hosts.find((h) => h.id === 'h1')!;
    const h2 = st.hosts.find((h) => h.id === 'h2')!;
    const ctl = { h1: h1.vswitchdCtl, h2: h2.vswitchdCtl };

    // Minimal static flows, written once; the agents' own flows come back when they restart.
    const minimalFiles = new Map<string, string>();
    for (const [h, c, peer] of [[h1, a, h2], [h2, b, h1]] as const) {
      const ports = await lab.ofports(h.id);
      const cport = ports[`c-${c.name}`];
      const tun = ports.tun0;
      if (!cport || !tun) throw new Error(`${h.id}: no ofport for c-${c.name} or tun0`);
      const file = join(ctx.tmpDir, `b5-${h.id}.flows`);
      writeFileSync(file, [`table=0,priority=100,in_port=${cport} actions=set_field:0xfa0->tun_id,set_field:${peer.underlayIp}->tun_dst,output:${tun}`, `table=0,priority=100,in_port=${tun} actions=output:${cport}`].join('\n') + '\n');
      minimalFiles.set(h.mgmt, file);
    }
    ctx.defer('restart the agents after the static-flow rounds', async () => {
      await lab.startAgents();
      await readyAgents(lab, sc.http, ctx.log);
    });

    let current: Config = 'ours';
    const switchTo = async (cfg: Config): Promise<void> => {
      if (cfg === current) return;
      if (cfg === 'minimal') {
        // Agents stopped (their flows stay: fail_mode=secure), tables replaced at once.
        await lab.stopAgents();
        for (const [mgmt, file] of minimalFiles) await sh('ovs-ofctl', ['-O', 'OpenFlow13', 'replace-flows', mgmt, file]);
      } else {
        await lab.startAgents();
        const agents = await readyAgents(lab, sc.http, ctx.log);
        // /readyz is 200 once the first reconcile is done; confirm both tables hold the pipeline again.
        for (const h of HOSTS) {
          await until(`${h}'s agent to reinstall its flows`, async () => {
            const s = await agentStatus(sc.http, agents.get(h)!);
            return s && s.switch.flows.installed === s.switch.flows.desired && s.switch.flows.desired > 2 ? true : undefined;
          }, 60000, 100);
        }
      }
      current = cfg;
      // Let the switch settle (revalidators after the table change, the agents' start-up work).
      await sleep(1000);
    };

    await sh('ip', ['netns', 'exec', srcNs, 'ping', '-c', '3', '-i', '0.2', '-W', '1', b.ip], { check: false });
    // One untimed stream first: the first after the scenario (fresh agents) meets a cold machine.
    await iperf(srcNs, dstNs, b.ip, 1);
    const by: Record<Config, Round[]> = { ours: [], minimal: [] };
    for (let i = 0; i < rounds; i++) {
      // ABBA: ours, minimal | minimal, ours | ... one configuration change per round, and a linear drift
      // of the machine's load falls on both alike.
      for (const cfg of (i % 2 === 0 ? ['ours', 'minimal'] : ['minimal', 'ours']) as Config[]) {
        await switchTo(cfg);
        const r = await round(ctl, srcNs, dstNs, b.ip, seconds);
        by[cfg].push(r);
        ctx.log(`B5: round ${i + 1}/${rounds} ${cfg === 'ours' ? 'bumless pipeline' : 'minimal static flows'}: RTT ${r.rtt.toFixed(3)} ms, ${r.gbps.toFixed(3)} Gbit/s, EMC hits ${r.pmd.h1.emcHits + r.pmd.h2.emcHits}, megaflow hits ${r.pmd.h1.megaflowHits + r.pmd.h2.megaflowHits}, upcalls ${r.pmd.h1.upcalls + r.pmd.h2.upcalls}`);
      }
    }
    await switchTo('ours');

    let ovnPlane: { rtt: number[]; gbps: number[]; dp: DpFlow[] } | string;
    const ovn = await ovnLab(ctx);
    if (typeof ovn === 'string') ovnPlane = ovn;
    else {
      try {
        await ensureContainers(ovn);
        const oc = '/tmp/bumless-ovn/boh1/vswitchd.ctl';
        await sh('ip', ['netns', 'exec', 'boh1c1', 'ping', '-c', '3', '-i', '0.2', '-W', '1', '10.213.0.2'], { check: false });
        const p: { rtt: number[]; gbps: number[]; dp: DpFlow[] } = { rtt: [], gbps: [], dp: [] };
        for (let i = 0; i < rounds; i++) {
          p.rtt.push(await pingRtt('boh1c1', '10.213.0.2', 100));
          p.gbps.push(await iperf('boh1c1', 'boh2c1', '10.213.0.2', seconds));
          ctx.log(`B5: round ${i + 1}/${rounds} OVN: RTT ${p.rtt.at(-1)!.toFixed(3)} ms, ${p.gbps.at(-1)!.toFixed(3)} Gbit/s`);
        }
        p.dp = parseDpFlows(await appctl(oc, 'dpctl/dump-flows'));
        ovnPlane = p;
      } catch (err) {
        ovnPlane = `OVN data plane run failed: ${err instanceof Error ? err.message : String(err)}`.slice(0, 400);
      }
    }

    const ours = { gbps: by.ours.map((r) => r.gbps), rtt: by.ours.map((r) => r.rtt) };
    const minimal = { gbps: by.minimal.map((r) => r.gbps), rtt: by.minimal.map((r) => r.rtt) };
    // Paired ratios: round i's two configurations ran back to back.
    const paired = by.ours.map((r, i) => r.gbps / by.minimal[i]!.gbps);
    const eo = evidence(by.ours);
    const em = evidence(by.minimal);
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    const sameShapes = eo.shapes.join('\n') === em.shapes.join('\n');
    const fast = (e: typeof eo) => `exact-match cache hits ${pct(e.emcShare)} of datapath lookups, ${e.upcalls} upcalls, ${e.lookups === null ? 'no megaflow hits' : `${e.lookups.toFixed(2)} mask lookups per megaflow hit`}, ${e.revFlowTable} revalidations from flow-table changes`;
    const minimalWho = 'minimal static flows (same lab, alternating rounds)';
    ctx.report(
      figure({
        bench: 'B5',
        name: 'TCP throughput (iperf3) vs minimal flows',
        unit: 'Gbit/s',
        better: 'higher',
        ours: side(OURS, ours.gbps),
        peer: side(minimalWho, minimal.gbps),
        target: '>= 0.95x minimal',
        meets: (_o, r) => r !== null && r >= 0.95,
        note: `paired ratio per round ${paired.map((x) => x.toFixed(2)).join(', ')} (median ${median(paired).toFixed(2)}); during the streams, bumless: ${fast(eo)}; minimal: ${fast(em)}; megaflows carrying the stream ${sameShapes ? 'have the same mask shapes in both' : 'differ'}: ${sameShapes ? eo.shapes.join('; ') : `bumless ${eo.shapes.join('; ')} / minimal ${em.shapes.join('; ')}`}`,
      }),
    );
    ctx.report(figure({ bench: 'B5', name: 'ping RTT (median of 100) vs minimal flows', unit: 'ms', better: 'lower', ours: side(OURS, ours.rtt), peer: side(minimalWho, minimal.rtt), target: '<= 1/0.95x minimal', meets: (_o, r) => r !== null && r <= 1 / 0.95 }));
    const ovnWho = 'OVN 23.03 pipeline (own lab)';
    ctx.report(figure({ bench: 'B5', name: 'TCP throughput (iperf3) vs OVN', unit: 'Gbit/s', better: 'higher', ours: side(OURS, ours.gbps), peer: typeof ovnPlane === 'string' ? side(ovnWho, null, ovnPlane) : side(ovnWho, ovnPlane.gbps) }));
    ctx.report(figure({ bench: 'B5', name: 'ping RTT (median of 100) vs OVN', unit: 'ms', better: 'lower', ours: side(OURS, ours.rtt), peer: typeof ovnPlane === 'string' ? side(ovnWho, null, ovnPlane) : side(ovnWho, ovnPlane.rtt) }));

    // Masks: distinct wildcard shapes over h1's datapath flows (the userspace datapath prints no mask
    // count), from the last round of each configuration.
    const h1Flows = (rs: Round[]) => rs.at(-1)?.dp.h1 ?? [];
    const mo = masks(h1Flows(by.ours));
    const mm = masks(h1Flows(by.minimal));
    const extra = [...mo].filter((s) => !mm.has(s));
    ctx.report(
      figure({
        bench: 'B5',
        name: 'datapath masks on the sender after the traffic',
        unit: 'masks',
        better: 'lower',
        ours: side(OURS, mo.size ? [mo.size] : null),
        peer: side(minimalWho, mm.size ? [mm.size] : null),
        note: `datapath flows on h1: bumless ${h1Flows(by.ours).length}, minimal ${h1Flows(by.minimal).length}${typeof ovnPlane === 'string' ? '' : `, OVN ${ovnPlane.dp.length} (masks ${masks(ovnPlane.dp).size})`}; shapes only bumless has: ${extra.length ? extra.join(' ; ') : 'none'}. Such shapes belong to traffic other than the stream (whose megaflows the TCP row lists): while the agents run, their own mesh and REST TCP to the host's underlay address (ipv4(dst,proto)) and its replies; the containers' IPv6 router solicitations and MLD reports, which the pipeline drops as BUM (eth(src,dst/01:00:00:00:00:00), eth_type 0x86dd) where the minimal set tunnels them to the peer. A mask costs a packet only on an exact-match-cache miss (dpcls tries subtables in order of hits).`,
      }),
    );
    ctx.note(`${rounds} rounds, each: bumless and the minimal flows back to back, in ABBA order (ours first in odd rounds, minimal first in even ones), each 100 pings at 10 ms (median RTT) then iperf3 -t ${seconds} (one TCP stream, received bit rate); one untimed 1 s stream before the first round. Containers ${a.name} (h1) -> ${b.name} (h2) over VXLAN in the userspace datapath; OVN boh1c1 -> boh2c1 likewise, after the same-lab rounds.`);
    ctx.note('Minimal static flows: the agents are stopped and br-int on h1 and h2 is replaced (ovs-ofctl replace-flows) with one classify flow (in_port=container -> tun_id, tun_dst, tunnel) and one output flow (in_port=tunnel -> container); for the next bumless round the agents are started again and reconcile their own flows back (waited for), then 1 s to settle.');
    ctx.note('Fast-path evidence per stream (dpif-netdev/pmd-stats-show cleared before it, coverage/show before and after, dpctl/dump-flows in its middle), on h1 and h2: share of datapath lookups answered by the exact-match cache, upcalls to ovs-vswitchd, mask (subtable) lookups per megaflow hit, revalidations caused by flow-table changes (rev_flow_table), and the mask shapes of the megaflows that carried the stream.');
  },
};

