// Issue 5, lab tests with three real agents: convergence of endpoints registered on every host, and a
// partition of one host's underlay link for shorter and for longer than the graceful-restart window.
// The agents run with short mesh timers (support/mesh-lab.ts FAST_MESH, here graceful restart 10 s):
// a short cut leaves the lost host's endpoints stale with their flows in place, a long one withdraws
// them (flows removed on the others) and reconnection plus End-of-RIB brings them back; afterwards
// every registry is equal, including changes made on the other side during the cut.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HOSTS, MeshLab, acknowledged, labName, macOf, sleep, until } from '../support/mesh-lab.js';
import type { EndpointView } from '../support/mesh-lab.js';

const NET = 'conv/net';
const EXTRA = 20;
const GRACE_MS = 10000;
const hostNo = (h: string) => Number(h.slice(1));
const ipOf = (host: number, i: number) => `10.21.${host}.${i + 10}`;

void describe('mesh: convergence and partitions (three agents)', () => {
  const name = labName('mc');
  let m: MeshLab | undefined;
  const report: string[] = [];
  /** MACs registered per host. */
  const macs: Record<string, string[]> = {};

  const lab = () => m!;
  const remoteMacs = (h: string) => HOSTS.filter((x) => x !== h).flatMap((x) => macs[x]!);

  before(async () => {
    m = await MeshLab.up(name, {
      containers: HOSTS.map((h) => ({ host: h, name: `c${hostNo(h)}`, ip: `${ipOf(hostNo(h), 0)}/16`, mac: macOf(hostNo(h), 0) })),
      set: { 'mesh.keepaliveMs': 500, 'mesh.holdMs': 2000, 'mesh.gracefulRestartMs': GRACE_MS },
    });
    await m.network('h1', 'conv', 'net', '10.21.0.0/16', 2100);
  });

  after(async () => {
    if (report.length) process.stderr.write(`${report.join('\n')}\n`);
    await MeshLab.teardown(name, m);
  });

  void it('endpoints registered on each host reach the other two; every registry is equal; flows follow', async () => {
    const t0 = Date.now();
    await Promise.all(
      HOSTS.map(async (h) => {
        const n = hostNo(h);
        const mine: string[] = (macs[h] = []);
        for (let i = 0; i <= EXTRA; i++) {
          // i = 0 is the host's container (its port exists); the others are registered ahead of their ports.
          const r = await lab().api(h, 'POST', '/v1/endpoints', { network: NET, mac: macOf(n, i), ips: [ipOf(n, i)], port: i === 0 ? `c-c${n}` : `p${i}` });
          // Only the container's port exists: the others are durable but their flows wait for the port (202).
          assert.equal(r.status, i === 0 ? 201 : 202, `${h} ${macOf(n, i)}: ${JSON.stringify(r.body)}`);
          mine.push(macOf(n, i));
        }
      }),
    );
    const total = HOSTS.length * (EXTRA + 1);
    const eps = await lab().converged(`all ${total} endpoints on every agent`, (e) => e.length === total && e.every((x) => !x.stale));
    const registeredAt = Date.now();
    for (const h of HOSTS) {
      const mine = eps.filter((e) => e.hostId === h);
      assert.deepEqual(mine.map((e) => e.mac).sort(), [...macs[h]!].sort(), `${h}'s endpoints as every agent lists them`);
      assert.ok(mine.every((e) => e.vtep === lab().lab.host(h).underlayIp && e.seq === 0));
    }
    // Each host forwards to every endpoint of the other two (its own container makes it a member).
    for (const h of HOSTS) {
      await until(`${h} forwards to the ${remoteMacs(h).length} remote endpoints`, async () => {
        const f = await lab().forwardedMacs(h);
        return remoteMacs(h).every((x) => f.has(x)) ? true : undefined;
      }, 20000, 200);
      const s = await lab().status(h);
      assert.deepEqual(s.peers.map((p) => [p.hostId, p.state]), HOSTS.filter((x) => x !== h).map((x) => [x, 'established']));
      assert.equal(s.registry.endpoints, total);
      assert.equal(s.registry.localEndpoints, EXTRA + 1);
      assert.equal(s.registry.staleEndpoints, 0);
    }
    report.push(`# mesh-convergence: ${total} endpoints registered on 3 agents: all registries equal ${registeredAt - t0} ms after the first POST, flows on every host ${Date.now() - t0} ms`);
  });

  /** h3's endpoints as seen by h1 and h2. */
  async function h3SeenBy(h: string): Promise<EndpointView[]> {
    return (await lab().endpoints(h)).filter((e) => e.hostId === 'h3');
  }

  void it(`a cut shorter than the graceful-restart window: h3's entries turn stale, their flows stay; afterwards every registry is equal`, async () => {
    await lab().link('h3', 'down');
    const downAt = Date.now();
    try {
      for (const h of ['h1', 'h2']) {
        let last = '';
        await until(`${h} marks h3's endpoints stale`, async () => {
          const eps = await h3SeenBy(h);
          last = `${eps.length} of h3's endpoints listed, ${eps.filter((e) => e.stale).length} stale`;
          return eps.length === macs.h3!.length && eps.every((e) => e.stale) ? true : undefined;
        }, 8000, 100).catch((err: Error) => assert.fail(`${err.message}; last: ${last}`));
      }
      const staleAt = Date.now() - downAt;
      // Stale entries keep forwarding: every flow to h3's endpoints is still installed on h1 and h2.
      for (const h of ['h1', 'h2']) {
        const f = await lab().forwardedMacs(h);
        assert.deepEqual(macs.h3!.filter((x) => !f.has(x)), [], `${h} removed flows of stale entries`);
        const s = await lab().status(h);
        assert.equal(s.registry.staleEndpoints, macs.h3!.length);
        assert.notEqual(s.peers.find((p) => p.hostId === 'h3')?.state, 'established');
      }
      report.push(`# mesh-convergence: short cut: h3's entries stale on h1 and h2 ${staleAt} ms after the link went down`);
      await sleep(Math.max(0, 4000 - (Date.now() - downAt)));
      // Still stale and still forwarding at the end of the cut.
      for (const h of ['h1', 'h2']) {
        const f = await lab().forwardedMacs(h);
        assert.deepEqual(macs.h3!.filter((x) => !f.has(x)), [], `${h} removed flows of stale entries before the window ended`);
        assert.equal((await h3SeenBy(h)).filter((e) => e.stale).length, macs.h3!.length);
      }
    } finally {
      await lab().link('h3', 'up');
    }
    const upAt = Date.now();
    await lab().converged('every registry equal and nothing stale after the short cut', (e) => e.length === 3 * (EXTRA + 1) && e.every((x) => !x.stale), 20000);
    for (const h of ['h1', 'h2']) {
      const f = await lab().forwardedMacs(h);
      assert.deepEqual(macs.h3!.filter((x) => !f.has(x)), [], `${h} forwards to every h3 endpoint after the short cut`);
    }
    report.push(`# mesh-convergence: short cut (${upAt - downAt} ms, window ${GRACE_MS} ms): resynchronised ${Date.now() - upAt} ms after the link came back`);
  });

  void it('a cut longer than the window: h3\'s entries and flows are withdrawn on the others, and come back after reconnection; changes made meanwhile reach h3', async () => {
    const total = 3 * (EXTRA + 1);
    await lab().link('h3', 'down');
    const downAt = Date.now();
    const added = macOf(1, 100);
    const removed = macs.h2![EXTRA]!;
    try {
      // Changes on the connected side during the cut: one endpoint added on h1, one deleted on h2.
      assert.ok(acknowledged((await lab().api('h1', 'POST', '/v1/endpoints', { network: NET, mac: added, ips: [ipOf(1, 100)], port: 'p100' })).status));
      const del = await lab().api('h2', 'DELETE', `/v1/endpoints/conv/net/${removed}`);
      assert.equal(del.status, 204, JSON.stringify(del.body));
      for (const h of ['h1', 'h2']) {
        await until(`${h} withdraws h3's endpoints`, async () => ((await h3SeenBy(h)).length === 0 ? true : undefined), GRACE_MS + 15000, 200);
      }
      const withdrawnAt = Date.now() - downAt;
      assert.ok(withdrawnAt >= GRACE_MS, `withdrawn after ${withdrawnAt} ms, before the ${GRACE_MS} ms window`);
      for (const h of ['h1', 'h2']) {
        await until(`${h} removes the flows to h3's endpoints`, async () => {
          const f = await lab().forwardedMacs(h);
          return macs.h3!.every((x) => !f.has(x)) ? true : undefined;
        }, 10000, 200);
        // Only h3's: the other host's endpoints stay.
        const f = await lab().forwardedMacs(h);
        const other = h === 'h1' ? 'h2' : 'h1';
        assert.deepEqual(macs[other]!.filter((x) => x !== removed && !f.has(x)), []);
      }
      // The cut-off side withdraws the others the same way.
      await until('h3 withdraws h1\'s and h2\'s endpoints', async () => {
        const eps = await lab().endpoints('h3');
        return eps.every((e) => e.hostId === 'h3') ? true : undefined;
      }, 15000, 200);
      report.push(`# mesh-convergence: long cut: h3's entries withdrawn on h1 and h2 ${withdrawnAt} ms after the link went down (window ${GRACE_MS} ms)`);
    } finally {
      await lab().link('h3', 'up');
    }
    const upAt = Date.now();
    const eps = await lab().converged('every registry equal after the long cut', (e) => e.length === total && e.every((x) => !x.stale), 30000);
    assert.ok(eps.some((e) => e.mac === added && e.hostId === 'h1'), 'the endpoint added during the cut reached h3');
    assert.ok(!eps.some((e) => e.mac === removed), 'the endpoint deleted during the cut is gone everywhere (no resurrection)');
    assert.deepEqual(eps.filter((e) => e.hostId === 'h3').map((e) => e.mac).sort(), [...macs.h3!].sort());
    for (const h of HOSTS) {
      const want = remoteMacs(h).filter((x) => x !== removed).concat(h === 'h1' ? [] : [added]);
      await until(`${h}'s flows back after the long cut`, async () => {
        const f = await lab().forwardedMacs(h);
        return want.every((x) => f.has(x)) && !f.has(removed) ? true : undefined;
      }, 20000, 200);
    }
    report.push(`# mesh-convergence: long cut: registries equal again ${Date.now() - upAt} ms after the link came back (flows included)`);
  });
});
