// Issue 5 measurement: convergence of N endpoints (default 10,000) across three agents on a lab.
//
//   node --import tsx bench/mesh-convergence.ts [--endpoints N] [--mode all|one] [--tenants T] [--json] [--keep] [--fast]
//
// mode all (default): every agent registers a third of the endpoints (its own), in parallel;
// mode one: h1 registers them all (h2 and h3 hold one endpoint per network so they install its flows).
// Registrations go through each agent's REST API (POST /v1/endpoints, answered once durable and the
// local flows are confirmed). The API limits each token to 50 requests/s, so the endpoints are spread
// over T tenants (default 10), each with a network and a token per agent. Measured from the first POST:
//   registered  every POST answered (201, or 202: durable, the endpoint's port is not on br-int);
//   registries  all three registries hold N endpoints (then checked equal, endpoint by endpoint);
//   flows       every host has a forwarding flow (table 30, into the tunnel) for every remote endpoint.
// Progress goes to stderr; the figures to stdout (a table, or JSON with --json). No assertion on time.
// --keep leaves the lab in place when the run fails (agent logs under the lab directory); --fast runs
// the agents with the lab tests' short mesh timers (keepalive 300 ms, hold 1.2 s) instead of the defaults.
import { parseArgs } from 'node:util';
import { HOSTS, MeshLab, canonical, labName, sleep } from '../test/support/mesh-lab.js';

const { values } = parseArgs({
  options: {
    endpoints: { type: 'string', default: '10000' },
    mode: { type: 'string', default: 'all' },
    tenants: { type: 'string', default: '10' },
    json: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    fast: { type: 'boolean', default: false },
  },
});
const N = Number(values.endpoints);
const T = Number(values.tenants);
const MODE = values.mode;
if (!Number.isInteger(N) || N < 1 || N > 60000) throw new Error(`--endpoints: give a whole number 1-60000 (got ${values.endpoints})`);
if (!Number.isInteger(T) || T < 1 || T > 50) throw new Error(`--tenants: give a whole number 1-50 (got ${values.tenants})`);
if (MODE !== 'all' && MODE !== 'one') throw new Error(`--mode: all or one (got ${MODE})`);
const WORKERS_PER_TOKEN = 3;

const progress = (line: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const tenantName = (t: number) => `b${t}`;
/** Endpoint i: tenant i % T, a MAC and an IP unique in its network (10.<t>.x.y/16 per tenant network). */
function endpoint(i: number): { tenant: string; mac: string; ip: string } {
  const t = i % T;
  const j = Math.floor(i / T) + 1;
  const mac = `02:be:${t.toString(16).padStart(2, '0')}:${((j >> 16) & 0xff).toString(16).padStart(2, '0')}:${((j >> 8) & 0xff).toString(16).padStart(2, '0')}:${(j & 0xff).toString(16).padStart(2, '0')}`;
  return { tenant: tenantName(t), mac, ip: `10.${100 + t}.${Math.floor(j / 250)}.${(j % 250) + 1}` };
}

/** Remote endpoints (network metadata and MAC) with a forwarding flow into the tunnel on `host`. */
async function forwardingFlows(m: MeshLab, host: string): Promise<number> {
  const text = await m.lab.ofctl(host, 'dump-flows', ['table=30']);
  const macs = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /dl_dst=([0-9a-f:]{17})/.exec(line);
    if (m && line.includes('tun_dst')) macs.add(`${/metadata=([^,]+)/.exec(line)?.[1] ?? ''}/${m[1]!}`);
  }
  return macs.size;
}

async function main(): Promise<void> {
  const name = labName('bmc');
  let m: MeshLab | undefined;
  // Interrupted: remove the lab anyway.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      progress(`${sig}: removing lab ${name}`);
      void MeshLab.teardown(name, m).finally(() => process.exit(130));
    });
  }
  try {
    progress(`lab ${name}: three hosts, agents starting`);
    // The protocol's default timers: the tests' short hold time (--fast) makes a loaded machine drop
    // and re-establish sessions all the time, which is a stress test of its own.
    m = await MeshLab.up(name, values.fast ? {} : { set: { 'mesh.keepaliveMs': 3000, 'mesh.holdMs': 9000, 'mesh.gracefulRestartMs': 120000 } });
    const lab = m;
    // One token per (agent, tenant): each has its own rate-limit bucket.
    const tokens = new Map<string, string>();
    for (let t = 0; t < T; t++) {
      const tn = tenantName(t);
      const r = await lab.api('h1', 'POST', '/v1/tenants', { name: tn });
      if (r.status !== 201) throw new Error(`create tenant ${tn}: ${r.status} ${JSON.stringify(r.body)}`);
      const n = await lab.api('h1', 'POST', '/v1/networks', { tenant: tn, name: 'net', cidrs: [`10.${100 + t}.0.0/16`], vni: 5000 + t });
      if (n.status !== 201) throw new Error(`create network ${tn}/net: ${n.status} ${JSON.stringify(n.body)}`);
    }
    for (const h of HOSTS) {
      for (let t = 0; t < T; t++) {
        const tn = tenantName(t);
        let r = await lab.api(h, 'POST', `/v1/tenants/${tn}/tokens`, { description: 'bench' });
        for (let k = 0; r.status === 404 && k < 100; k++) {
          await sleep(100); // the tenant has not replicated to this agent yet
          r = await lab.api(h, 'POST', `/v1/tenants/${tn}/tokens`, { description: 'bench' });
        }
        if (r.status !== 201) throw new Error(`token for ${tn} on ${h}: ${r.status} ${JSON.stringify(r.body)}`);
        tokens.set(`${h}/${tn}`, (r.body as { token: string }).token);
      }
    }
    // A host installs a network's flows only while one of its local endpoints has its port on br-int:
    // one internal port per (host, tenant) carries the first endpoint; the others need no port.
    for (const h of HOSTS) {
      for (let t = 0; t < T; t++) await lab.lab.vsctl(h, ['--may-exist', 'add-port', 'br-int', `bp${t}`, '--', 'set', 'interface', `bp${t}`, 'type=internal']);
    }
    const client = (h: string) => lab.clients.get(h)!;
    let unconfirmed = 0;
    const post = async (h: string, i: number, port = `p${i}`): Promise<number> => {
      const e = endpoint(i);
      for (;;) {
        const r = await client(h).http('POST', lab.url(h, '/v1/endpoints'), tokens.get(`${h}/${e.tenant}`), { network: `${e.tenant}/net`, mac: e.mac, ips: [e.ip], port });
        if (r.status !== 429) {
          // 202: durable, but the switch did not confirm the local flows within the API's wait (a
          // loaded machine); they follow, and the flows figure below waits for them.
          if (r.status !== 201 && r.status !== 202) throw new Error(`${h}: register ${e.mac}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
          if (r.status === 202) unconfirmed++;
          return r.status;
        }
        await sleep(250);
      }
    };

    // Who registers what: endpoint i belongs to host owners[i].
    const owners: string[] = [];
    let extra = 0;
    if (MODE === 'one') {
      // h2 and h3 install a network's flows only while they hold one of its endpoints.
      for (const h of ['h2', 'h3']) for (let t = 0; t < T; t++) await post(h, N + extra++, `bp${(N + extra - 1) % T}`);
      for (let i = 0; i < N; i++) owners.push('h1');
    } else for (let i = 0; i < N; i++) owners.push(HOSTS[i % 3]!);
    const total = N + extra;
    const remoteOf = (h: string) => owners.filter((o) => o !== h).length + (MODE === 'one' && h === 'h1' ? extra : MODE === 'one' ? extra / 2 : 0);

    progress(`registering ${N} endpoints (${MODE === 'all' ? 'each agent a third' : 'all on h1'}) over ${T} tenants`);
    const t0 = Date.now();
    const done = { registered: 0, registries: 0, flows: 0 };
    let answered = 0;
    const queues = new Map<string, number[]>();
    owners.forEach((h, i) => {
      const key = `${h}/${i % T}`;
      const q = queues.get(key) ?? [];
      q.push(i);
      queues.set(key, q);
    });
    const workers: Array<Promise<void>> = [];
    for (const [key, q] of queues) {
      const h = key.split('/')[0]!;
      const first = MODE === 'one' && h !== 'h1' ? undefined : q[0];
      for (let w = 0; w < WORKERS_PER_TOKEN; w++) {
        workers.push((async () => {
          for (let i = q.shift(); i !== undefined; i = q.shift()) {
            await post(h, i, i === first ? `bp${i % T}` : undefined);
            answered++;
          }
        })());
      }
    }
    let registering = true;
    let failure: Error | undefined;
    const all = Promise.all(workers).then(
      () => {
        done.registered = Date.now() - t0;
        registering = false;
      },
      (err: unknown) => {
        failure = err instanceof Error ? err : new Error(String(err));
        registering = false;
      },
    );
    // Watch the registries and flows while registering.
    const regAt = new Map<string, number>();
    const flowAt = new Map<string, number>();
    const counts = new Map<string, number>();
    let lastChange = Date.now();
    while (regAt.size < 3 || flowAt.size < 3 || registering) {
      if (failure) throw failure;
      for (const h of HOSTS) {
        if (!regAt.has(h)) {
          const r = await lab.api(h, 'GET', '/v1/status');
          const count = r.status === 200 ? (r.body as { registry: { endpoints: number } }).registry.endpoints : 0;
          if (count !== counts.get(h)) lastChange = Date.now();
          counts.set(h, count);
          if (count >= total) regAt.set(h, Date.now() - t0);
        } else if (!flowAt.has(h) && (await forwardingFlows(lab, h)) >= remoteOf(h)) flowAt.set(h, Date.now() - t0);
      }
      progress(`${answered}/${N} answered; registries ${HOSTS.map((h) => counts.get(h) ?? 0).join('/')} of ${total}, complete: ${[...regAt.keys()].join(',') || '-'}; flows complete: ${[...flowAt.keys()].join(',') || '-'}`);
      if (Date.now() - t0 > 900_000) throw new Error('no convergence within 15 minutes');
      if (!registering && regAt.size < 3 && Date.now() - lastChange > 60_000) {
        throw new Error(`registries stuck for 60 s after every POST was answered: ${HOSTS.map((h) => `${h} ${counts.get(h)}/${total}`).join(', ')} (acknowledged registrations missing on some agents)`);
      }
      await sleep(500);
    }
    await all;
    if (failure) throw failure;
    done.registries = Math.max(...regAt.values());
    done.flows = Math.max(...flowAt.values());
    // Equal, endpoint by endpoint (GET with the admin token).
    const lists = await Promise.all(HOSTS.map((h) => lab.endpoints(h)));
    const canon = lists.map(canonical);
    if (!canon.every((c) => c === canon[0]) || lists[0]!.length !== total) throw new Error(`registries differ after convergence: ${lists.map((l) => l.length).join(', ')} endpoints`);
    const result = {
      endpoints: N, mode: MODE, tenants: T, agents: 3,
      registeredMs: done.registered, registriesEqualMs: done.registries, flowsInstalledMs: done.flows,
      registriesPerHostMs: Object.fromEntries(regAt), flowsPerHostMs: Object.fromEntries(flowAt),
      registrationsPerSecond: Math.round((N / done.registered) * 1000),
      answered202: unconfirmed,
    };
    if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      process.stdout.write(
        [
          `mesh convergence, ${N} endpoints, mode ${MODE}, ${T} tenants, 3 agents:`,
          `  every POST answered (durable)                          ${done.registered} ms (${result.registrationsPerSecond}/s; ${unconfirmed} answered 202: no port on br-int, or flows confirmed later)`,
          `  all three registries hold them (equal)                 ${done.registries} ms`,
          `  forwarding flows on every host for every remote one    ${done.flows} ms`,
          '',
        ].join('\n'),
      );
    }
    progress(`lab ${name}: removing`);
    await MeshLab.teardown(name, m);
  } catch (err) {
    if (values.keep) {
      for (const c of m?.clients.values() ?? []) c.stop();
      progress(`failed; lab ${name} kept for inspection (--keep): remove it with \`bumless lab down --lab ${name}\``);
    } else {
      progress(`lab ${name}: removing`);
      await MeshLab.teardown(name, m);
    }
    throw err;
  }
}

await main();
