// B3 sync at scale, with light agents (the agent's registry + mesh over wss/mTLS on 127.0.0.1, no Open
// vSwitch; bench/lib/mesh-scale.ts in a child process): full sync to a new node (time, bytes through a
// counting relay), the update rate across three nodes, and a mesh of 20 nodes, full mesh vs reflector.
// Peer: GoBGP, a fresh speaker receiving the full table of EVPN type-2 routes (bench/lib/gobgp.ts).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { Bench, BenchContext } from './lib/context.js';
import { OURS, figure, side, type Side } from './lib/report.js';
import { rmSync } from 'node:fs';
import { NsHttp, agentStatus, until } from './lib/agents.js';
import { BIG, resetAgents } from './lib/scenario.js';
import { seedStore } from './lib/seed.js';
import { nowMs } from './lib/sys.js';
import { gobgpAvailable, runGobgp, type GobgpResult } from './lib/gobgp.js';

const REPO = join(import.meta.dirname, '..');

function child<T>(args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--max-old-space-size=16384', '--import', 'tsx', join(REPO, 'bench', 'lib', 'mesh-scale.ts'), ...args], { cwd: REPO, timeout: 1800000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout) => {
      const line = stdout.trim().split('\n').at(-1) ?? '';
      try {
        const j = JSON.parse(line) as T & { error?: string };
        if (j.error) reject(new Error(`mesh-scale ${args.join(' ')}: ${j.error}`));
        else resolve(j);
      } catch {
        reject(new Error(`mesh-scale ${args.join(' ')}: ${err ? err.message : 'no result'} ${line.slice(0, 300)}`));
      }
    });
  });
}

export const b3: Bench = {
  id: 'B3',
  title: 'sync at scale (full sync, update rate, 20-node mesh; GoBGP EVPN peer)',
  async run(ctx: BenchContext) {
    const q = ctx.quick;
    const syncN = q ? 10000 : 100000;
    const syncReps = q ? 2 : 3;
    const rateN = q ? 2000 : 20000;
    const meshNodes = 20;
    const meshN = q ? 5000 : 100000;
    const bgpN = q ? 1000 : 10000;
    const bgpReps = q ? 2 : 3;
    // BENCH_B3_PARTS=sync (or any of sync,gobgp,rate,mesh): rerun a part alone while tuning it.
    const parts = new Set((process.env.BENCH_B3_PARTS ?? 'sync,gobgp,rate,mesh').split(',').map((p) => p.trim()));

    const syncMs: number[] = [];
    let bytes = 0;
    let apiMs = 0;
    if (parts.has('sync')) {
      const lab = await ctx.lab();
      const http = new NsHttp(lab.ns({ host: 'h1' }));
      ctx.defer('ns-http helper', () => http.stop());
      await resetAgents(lab, ctx.log);
      const st = await lab.status();
      const h2 = st.hosts.find((h) => h.id === 'h2')!;
      const h3 = st.hosts.find((h) => h.id === 'h3')!;
      await seedStore(h2.paths.agentData, 'h2', h2.underlayIp, { ...BIG, count: syncN }, ctx.log);
      await lab.startAgents({ host: 'h2', readyTimeoutMs: 300000 });
      const counter = async () => {
        const r = await lab.exec({ host: 'h3' }, ['cat', '/sys/class/net/phy0/statistics/rx_bytes', '/sys/class/net/phy0/statistics/tx_bytes']);
        return r.stdout.split('\n').filter(Boolean).reduce((s, x) => s + Number(x), 0);
      };
      for (let i = 0; i < syncReps; i++) {
        await lab.stopAgents({ host: 'h3' });
        rmSync(h3.paths.agentData, { recursive: true, force: true });
        const b0 = await counter();
        const t0 = nowMs();
        await lab.startAgents({ host: 'h3', wait: false });
        let tApi = 0;
        const a3 = () => lab.status().then((s) => s.hosts.find((h) => h.id === 'h3')?.agent);
        await until(`h3 to hold ${syncN} endpoints`, async () => {
          const ag = await a3();
          if (!ag?.adminToken) return undefined;
          const s = await agentStatus(http, { host: 'h3', url: ag.apiUrl, token: ag.adminToken, pid: ag.pid });
          if (s && !tApi) tApi = nowMs();
          return s && s.registry.endpoints >= syncN ? true : undefined;
        }, 600000, 20);
        const t1 = nowMs();
        syncMs.push(t1 - tApi);
        apiMs = tApi - t0;
        bytes = (await counter()) - b0;
        ctx.log(`B3: new agent on h3 holds ${syncN} endpoints ${(t1 - tApi).toFixed(0)} ms after its API answered (${(apiMs / 1000).toFixed(1)} s after start), ${(bytes / 1e6).toFixed(1)} MB on h3's underlay link`);
      }
      await lab.stopAgents();
    }

    let bgp: GobgpResult | string;
    const why = parts.has('gobgp') ? await gobgpAvailable(ctx.log) : 'not run (BENCH_B3_PARTS)';
    if (why) bgp = why;
    else {
      try {
        bgp = await runGobgp(bgpN, bgpReps, ctx.log, ctx.defer);
      } catch (err) {
        bgp = `GoBGP run failed: ${err instanceof Error ? err.message : String(err)}`.slice(0, 400);
      }
    }
    const bgpWho = `GoBGP 3.10 (fresh speaker, ${bgpN.toLocaleString('en-US')} EVPN type-2 routes)`;
    const bgpSide: Side = typeof bgp === 'string' ? side(bgpWho, null, bgp) : side(bgpWho, bgp.receiveMs.map((ms) => bgpN / (ms / 1000)));
    if (syncMs.length) ctx.report(
      figure({
        bench: 'B3',
        name: `full sync of ${syncN.toLocaleString('en-US')} endpoints to a new node`,
        unit: 'endpoints/s',
        better: 'higher',
        ours: side(OURS, syncMs.map((ms) => syncN / (ms / 1000))),
        peer: bgpSide,
        target: '>= 10x the peer\'s routes/s',
        meets: (_o, r) => r !== null && r >= 10,
        note: `bumless ${syncMs.map((m) => m.toFixed(0)).join(', ')} ms from the new agent's API answering (process start to API: ${(apiMs / 1000).toFixed(1)} s), ${(bytes / 1e6).toFixed(1)} MB on the wire (${(bytes / syncN).toFixed(0)} bytes per endpoint, both directions, TLS and all else on h3's underlay link)${typeof bgp === 'string' ? '' : `; GoBGP ${bgp.receiveMs.map((m) => m.toFixed(0)).join(', ')} ms (loading speaker A through the CLI took ${(bgp.loadMs / 1000).toFixed(0)} s)`}`,
      }),
    );
    if (syncMs.length) ctx.report(figure({ bench: 'B3', name: `full sync of ${syncN.toLocaleString('en-US')} endpoints: time`, unit: 'ms', better: 'lower', ours: side(OURS, syncMs), target: syncN === 100000 ? '<= 2 s for 100,000' : undefined, ...(syncN === 100000 && { meets: (o) => o.median <= 2000 }) }));

    const rate = parts.has('rate') ? await child<{ ms: number; registeredMs: number }>(['rate', String(rateN)]) : undefined;
    if (rate) ctx.report(figure({ bench: 'B3', name: `update rate across 3 nodes (${rateN.toLocaleString('en-US')} updates)`, unit: 'updates/s', better: 'higher', ours: side(OURS, [rateN / (rate.ms / 1000)]), note: `registered on one node in batches of 100 in ${rate.registeredMs.toFixed(0)} ms; on all three after ${rate.ms.toFixed(0)} ms` }));

    for (const mode of parts.has('mesh') ? (['full', 'reflector'] as const) : []) {
      ctx.log(`B3: ${meshNodes}-node mesh (${mode}) with ${meshN} endpoints`);
      const m = await child<{ ms: number; connections: number; registeredMs: number }>(['mesh', String(meshNodes), String(meshN), mode]);
      ctx.report(figure({ bench: 'B3', name: `${meshNodes} nodes, ${mode === 'full' ? 'full mesh' : 'one reflector'}: ${meshN.toLocaleString('en-US')} endpoints everywhere`, unit: 'ms', better: 'lower', ours: side(OURS, [m.ms]), note: `${m.connections} sessions; endpoints registered (spread over the nodes, at once) in ${m.registeredMs.toFixed(0)} ms` }));
    }

    if (typeof bgp !== 'string' && bgp.rssIdle !== null && bgp.rssLoaded !== null) {
      ctx.report(figure({ bench: 'B4', name: 'gobgpd RSS per EVPN route (speaker A)', unit: 'bytes', better: 'lower', ours: side(OURS, null, 'see the agent RSS rows of B4'), peer: side('GoBGP 3.10 gobgpd', [(bgp.rssLoaded - bgp.rssIdle) / bgp.routes]), note: `${(bgp.rssIdle / 1048576).toFixed(1)} MiB idle -> ${(bgp.rssLoaded / 1048576).toFixed(1)} MiB with ${bgp.routes} routes` }));
    }
    ctx.note(`Light agents: ${meshNodes} (and 3) nodes in one child process, each the agent's own lmdb store, registry and mesh (wss with mutual TLS on 127.0.0.1), no Open vSwitch; the 20-node mesh part is this way, not 20 lab hosts. Full sync uses real lab agents instead: ${syncN} endpoints seeded into h2's store, h2's agent running, then h3's agent started with an empty data directory (${syncReps} runs), timed from its API first answering until /v1/status counts them all (polled every 20 ms), bytes = rx+tx of h3's underlay link (phy0).`);
    ctx.note(`Update rate: n0 registers ${rateN} endpoints in batches of 100, timed until n1 and n2 hold them. Mesh: endpoints spread evenly over the ${meshNodes} nodes, registered at once, timed until every node holds all; reflector mode = n0 reflects, the other nodes peer with n0 only.`);
    ctx.note(`GoBGP: two gobgpd in namespaces bbgp1/bbgp2 (eBGP over a veth, l2vpn-evpn); speaker A loaded with ${bgpN} macadv routes through the CLI (2 calls at a time), then speaker B restarted ${bgpReps} times and timed from Established until \`gobgp global rib summary -a evpn\` shows all routes (polled every 50 ms).`);
  },
};
