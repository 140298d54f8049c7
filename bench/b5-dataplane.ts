// B5 data plane: ping RTT and iperf3 TCP from b6a (h1) to b6b (h2) through the agent's pipeline, vs the
// same lab and containers with a minimal static flow set (agents stopped: per host one classify flow
// from the container into the tunnel and one output flow from the tunnel to the container), vs OVN's
// pipeline in its own lab. Datapath flows and masks after each.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bench, BenchContext } from './lib/context.js';
import { OURS, figure, side } from './lib/report.js';
import { bigScenario, CONTAINERS } from './lib/scenario.js';
import { datapath, iperf, pingRtt } from './lib/traffic.js';
import { ensureContainers, ovnLab } from './lib/ovn.js';
import { sh } from './lib/sys.js';
import { readyAgents } from './lib/agents.js';

interface Plane {
  rtt: number[];
  gbps: number[];
  dp: { flows: number; masks: number | null } | null;
}

async function measure(ctx: BenchContext, label: string, src: string, dst: string, ip: string, ctl: string, rounds: number, seconds: number): Promise<Plane> {
  const out: Plane = { rtt: [], gbps: [], dp: null };
  await sh('ip', ['netns', 'exec', src, 'ping', '-c', '3', '-i', '0.2', '-W', '1', ip], { check: false });
  for (let i = 0; i < rounds; i++) {
    out.rtt.push(await pingRtt(src, ip, 100));
    out.gbps.push(await iperf(src, dst, ip, seconds));
    ctx.log(`B5: ${label} round ${i + 1}/${rounds}: RTT ${out.rtt.at(-1)!.toFixed(3)} ms, ${out.gbps.at(-1)!.toFixed(2)} Gbit/s`);
  }
  out.dp = await datapath(ctl);
  return out;
}

export const b5: Bench = {
  id: 'B5',
  title: 'data plane (ping RTT, iperf3 TCP; datapath flows and masks)',
  async run(ctx: BenchContext) {
    const rounds = ctx.quick ? 2 : 5;
    const seconds = ctx.quick ? 3 : 5;
    const sc = await bigScenario(ctx, 0);
    const { lab } = sc;
    const [a, b] = CONTAINERS;
    const srcNs = lab.ns({ container: a.name });
    const dstNs = lab.ns({ container: b.name });
    const st = await lab.status();
    const h1 = st.hosts.find((h) => h.id === 'h1')!;
    const h2 = st.hosts.find((h) => h.id === 'h2')!;
    const ours = await measure(ctx, 'bumless pipeline', srcNs, dstNs, b.ip, h1.vswitchdCtl, rounds, seconds);

    // Minimal static flows: agents stopped (their flows stay until replaced), tables replaced at once.
    await lab.stopAgents();
    ctx.defer('restart the agents after the static-flow run', async () => {
      await lab.startAgents();
      await readyAgents(lab, sc.http, ctx.log);
    });
    for (const [h, c, peer] of [[h1, a, h2], [h2, b, h1]] as const) {
      const ports = await lab.ofports(h.id);
      const cport = ports[`c-${c.name}`];
      const tun = ports.tun0;
      if (!cport || !tun) throw new Error(`${h.id}: no ofport for c-${c.name} or tun0`);
      const file = join(ctx.tmpDir, `b5-${h.id}.flows`);
      writeFileSync(file, [`table=0,priority=100,in_port=${cport} actions=set_field:0xfa0->tun_id,set_field:${peer.underlayIp}->tun_dst,output:${tun}`, `table=0,priority=100,in_port=${tun} actions=output:${cport}`].join('\n') + '\n');
      await sh('ovs-ofctl', ['-O', 'OpenFlow13', 'replace-flows', h.mgmt, file]);
    }
    const minimal = await measure(ctx, 'minimal static flows', srcNs, dstNs, b.ip, h1.vswitchdCtl, rounds, seconds);

    let ovnPlane: Plane | string;
    const ovn = await ovnLab(ctx);
    if (typeof ovn === 'string') ovnPlane = ovn;
    else {
      try {
        await ensureContainers(ovn);
        ovnPlane = await measure(ctx, 'OVN', 'boh1c1', 'boh2c1', '10.213.0.2', '/tmp/bumless-ovn/boh1/vswitchd.ctl', rounds, seconds);
      } catch (err) {
        ovnPlane = `OVN data plane run failed: ${err instanceof Error ? err.message : String(err)}`.slice(0, 400);
      }
    }
    const dpText = (p: Plane) => (p.dp ? `${p.dp.flows} datapath flows, ${p.dp.masks ?? '?'} masks on the sender's host` : '');
    const minimalWho = 'minimal static flows (same lab)';
    ctx.report(figure({ bench: 'B5', name: 'TCP throughput (iperf3) vs minimal flows', unit: 'Gbit/s', better: 'higher', ours: side(OURS, ours.gbps), peer: side(minimalWho, minimal.gbps), target: '>= 0.95x minimal', meets: (_o, r) => r !== null && r >= 0.95, note: `bumless: ${dpText(ours)}; minimal: ${dpText(minimal)}` }));
    ctx.report(figure({ bench: 'B5', name: 'ping RTT (median of 100) vs minimal flows', unit: 'ms', better: 'lower', ours: side(OURS, ours.rtt), peer: side(minimalWho, minimal.rtt), target: '<= 1/0.95x minimal', meets: (_o, r) => r !== null && r <= 1 / 0.95 }));
    const ovnWho = 'OVN 23.03 pipeline (own lab)';
    ctx.report(figure({ bench: 'B5', name: 'TCP throughput (iperf3) vs OVN', unit: 'Gbit/s', better: 'higher', ours: side(OURS, ours.gbps), peer: typeof ovnPlane === 'string' ? side(ovnWho, null, ovnPlane) : side(ovnWho, ovnPlane.gbps), ...(typeof ovnPlane !== 'string' && { note: `OVN: ${dpText(ovnPlane)}` }) }));
    ctx.report(figure({ bench: 'B5', name: 'ping RTT (median of 100) vs OVN', unit: 'ms', better: 'lower', ours: side(OURS, ours.rtt), peer: typeof ovnPlane === 'string' ? side(ovnWho, null, ovnPlane) : side(ovnWho, ovnPlane.rtt) }));
    ctx.report(figure({ bench: 'B5', name: 'datapath masks after the traffic', unit: 'masks', better: 'lower', ours: side(OURS, ours.dp?.masks == null ? null : [ours.dp.masks]), peer: side(minimalWho, minimal.dp?.masks == null ? null : [minimal.dp.masks]), note: `datapath flows: bumless ${ours.dp?.flows ?? '?'}, minimal ${minimal.dp?.flows ?? '?'}${typeof ovnPlane === 'string' ? '' : `, OVN ${ovnPlane.dp?.flows ?? '?'} (masks ${ovnPlane.dp?.masks ?? '?'})`}` }));
    ctx.note(`${rounds} rounds per configuration, each: 100 pings at 10 ms (median RTT), then iperf3 -t ${seconds} (one TCP stream, received bit rate). Configurations run one after another (bumless, minimal, OVN), containers ${a.name} (h1) -> ${b.name} (h2) over VXLAN in the userspace datapath; OVN boh1c1 -> boh2c1 likewise.`);
    ctx.note('Minimal static flows: the agents are stopped and br-int on h1 and h2 is replaced (ovs-ofctl replace-flows) with one classify flow (in_port=container -> tun_id, tun_dst, tunnel) and one output flow (in_port=tunnel -> container); the agents are started again afterwards and reconcile their own flows back.');
  },
};
