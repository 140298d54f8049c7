// The lab state most benchmarks share: agents on h1-h3, one network "big/net" whose many endpoints
// are seeded into h2's store (so h1 holds two flows per endpoint: unicast to the tunnel and the ARP
// answer), and two real containers b6a (h1) and b6b (h2) in it, registered through REST.
import { rmSync } from 'node:fs';
import type { Lab } from '../../src/lab/index.js';
import type { BenchContext } from './context.js';
import { NsHttp, agentStatus, call, readyAgents, until, type AgentHandle } from './agents.js';
import { seedStore } from './seed.js';

export const BIG = { tenant: 'big', network: 'net', vni: 4000, cidr: '10.64.0.0/10', base: [10, 65] as [number, number], macTag: 0xb6 };
export const CONTAINERS = [
  { name: 'b6a', host: 'h1', ip: '10.64.0.1', mac: '02:b6:ff:00:00:01' },
  { name: 'b6b', host: 'h2', ip: '10.64.0.2', mac: '02:b6:ff:00:00:02' },
] as const;

export interface Scenario {
  lab: Lab;
  http: NsHttp;
  agents: Map<string, AgentHandle>;
  endpoints: number;
}

/** Stops the agents and deletes every agent's data directory: the next start is a fresh agent. */
export async function resetAgents(lab: Lab, log: (s: string) => void): Promise<void> {
  log('scenario: stopping agents and removing their data directories');
  await lab.stopAgents();
  for (const h of (await lab.status()).hosts) rmSync(h.paths.agentData, { recursive: true, force: true });
}

/** Brings the shared scenario to exactly `endpoints` seeded endpoints (fresh agents if the count differs). */
export async function bigScenario(ctx: BenchContext, endpoints: number): Promise<Scenario> {
  const lab = await ctx.lab();
  const http = new NsHttp(lab.ns({ host: 'h1' }));
  ctx.defer('ns-http helper', () => http.stop());
  const st = await lab.status();
  const h2 = st.hosts.find((h) => h.id === 'h2')!;
  let agents: Map<string, AgentHandle>;
  const current = h2.agent ? await readyAgents(lab, http, ctx.log).then((a) => agentStatus(http, a.get('h2')!)) : undefined;
  // The registry also counts the containers' two endpoints.
  const seeded = current ? current.registry.endpoints - CONTAINERS.length : -1;
  if (seeded !== endpoints) {
    await resetAgents(lab, ctx.log);
    ctx.log(`scenario: seeding ${endpoints.toLocaleString('en-US')} endpoints into h2's store`);
    await seedStore(h2.paths.agentData, 'h2', h2.underlayIp, { ...BIG, count: endpoints }, ctx.log);
  }
  for (const c of CONTAINERS) {
    if (!lab.state.containers.some((x) => x.name === c.name)) await lab.addContainer({ host: c.host, name: c.name, ip: `${c.ip}/10`, mac: c.mac });
  }
  agents = await readyAgents(lab, http, ctx.log, 300000);
  const h1 = agents.get('h1')!;
  await until('h1 to learn network big/net', async () => ((await call(http, h1, 'GET', `/v1/networks/${BIG.tenant}/${BIG.network}`)).status === 200 ? true : undefined), 120000, 200);
  for (const c of CONTAINERS) {
    const r = await call(http, agents.get(c.host)!, 'POST', '/v1/endpoints', { network: `${BIG.tenant}/${BIG.network}`, mac: c.mac, ips: [c.ip], port: `c-${c.name}` });
    if (r.status >= 300) throw new Error(`registering ${c.name} on ${c.host}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  }
  const want = endpoints * 2 + 10;
  const t0 = Date.now();
  await until(
    `h1 to install ${want.toLocaleString('en-US')} flows`,
    async () => {
      const s = await agentStatus(http, h1);
      if (s && Date.now() - t0 > 5000) ctx.log(`scenario: h1 has ${s.registry.endpoints} endpoints, flows desired ${s.switch.flows.desired} installed ${s.switch.flows.installed}`);
      return s && s.switch.flows.desired >= want && s.switch.flows.installed === s.switch.flows.desired ? true : undefined;
    },
    600000,
    1000,
  );
  agents = await readyAgents(lab, http, ctx.log);
  return { lab, http, agents, endpoints };
}
