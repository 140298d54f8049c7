// The API on the real registry and its lmdb store (through src/api/registry-adapter.ts): registration
// semantics, conflicts naming the holder, MAC mobility is not a conflict, tokens durable across a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, FakeSwitch, apiOn } from '../support/api-fakes.js';
import { openNode, removeDir, tempDir } from '../support/registry-fixtures.js';
import type { TestNode } from '../support/registry-fixtures.js';

void test('the API on the real registry: tenants, networks, endpoints, conflicts, tokens durable across a restart', async () => {
  const dir = tempDir('bumless-api-');
  let node = await openNode('h1', '192.168.100.1', undefined, {}, dir);
  try {
    let api = apiOn(node);
    const admin = { authorization: `Bearer ${ADMIN}` };
    const t = await api.app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { name: 'acme', quota: { endpoints: 150 } } });
    assert.equal(t.statusCode, 201, t.body);
    const token = t.json<{ token: string }>().token;
    const as = { authorization: `Bearer ${token}` };
    const n = await api.app.inject({ method: 'POST', url: '/v1/networks', headers: as, payload: { name: 'web', cidrs: ['10.10.10.0/24'] } });
    assert.equal(n.statusCode, 201, n.body);
    const vni = n.json<{ vni: number }>().vni;
    assert.ok(vni >= 1 && vni <= 16777215);
    // A gateway outside the prefixes: the registry's ValidationError, with its field path.
    const gw = await api.app.inject({ method: 'POST', url: '/v1/networks', headers: as, payload: { name: 'db', cidrs: ['10.20.0.0/24'], gateway: '10.30.0.1' } });
    assert.equal(gw.statusCode, 400, gw.body);
    assert.deepEqual(gw.json<{ error: { details: Array<{ path: unknown[] }> } }>().error.details[0]!.path, ['gateway']);
    // The VNI the server assigned is taken: the admin choosing it gets a conflict naming the holder.
    const taken = await api.app.inject({ method: 'POST', url: '/v1/networks', headers: admin, payload: { tenant: 'acme', name: 'db', cidrs: ['10.20.0.0/24'], vni } });
    assert.equal(taken.statusCode, 409);
    assert.match(taken.body, /acme\/web/);

    // 100 concurrent registrations land exactly once, each durable before its 201.
    const mac = (i: number) => `02:00:00:00:00:${i.toString(16).padStart(2, '0')}`;
    const res = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        api.app.inject({ method: 'POST', url: '/v1/endpoints', headers: as, payload: { network: 'acme/web', mac: mac(i + 1), ips: [`10.10.10.${i + 1}`], port: `p${i + 1}` } }),
      ),
    );
    assert.deepEqual(res.map((r) => r.statusCode), Array(100).fill(201));
    assert.equal(node.registry.endpoints({ network: 'acme/web' }).length, 100);
    assert.equal(node.registry.endpointCount('acme'), 100);

    const conflict = await api.app.inject({ method: 'POST', url: '/v1/endpoints', headers: as, payload: { network: 'acme/web', mac: '02:00:00:00:01:ff', ips: ['10.10.10.1'], port: 'px' } });
    assert.equal(conflict.statusCode, 409);
    assert.equal(conflict.json<{ error: { holder: { mac: string } } }>().error.holder.mac, mac(1));
    const put = await api.app.inject({ method: 'PUT', url: `/v1/endpoints/acme/web/${mac(1)}`, headers: as, payload: { ips: ['10.10.10.1'], port: 'p1' } });
    assert.equal(put.statusCode, 200, put.body);
    const del = await api.app.inject({ method: 'DELETE', url: `/v1/endpoints/acme/web/${mac(2)}`, headers: as });
    assert.equal(del.statusCode, 204);
    const status = await api.app.inject({ method: 'GET', url: '/v1/status', headers: admin });
    assert.deepEqual(status.json<{ registry: object }>().registry, { tenants: 1, networks: 1, endpoints: 99, localEndpoints: 99, staleEndpoints: 0 });

    // Restart: the same database, a new registry and API; the tenant token still works, the endpoints are there.
    await api.app.close();
    await node.close();
    node = await openNode('h1', '192.168.100.1', undefined, {}, dir);
    api = apiOn(node);
    const after = await api.app.inject({ method: 'GET', url: '/v1/endpoints?network=acme/web', headers: as });
    assert.equal(after.statusCode, 200);
    assert.equal(after.json<{ items: unknown[] }>().items.length, 99);
    const tokenId = token.split('.')[1]!;
    assert.equal((await api.app.inject({ method: 'DELETE', url: `/v1/tenants/acme/tokens/${tokenId}`, headers: admin })).statusCode, 204);
    assert.equal((await api.app.inject({ method: 'GET', url: '/v1/networks', headers: as })).statusCode, 401);
    await api.app.close();
  } finally {
    await node.close();
    removeDir(dir);
  }
});

void test('MAC mobility through the API: the same MAC registered on another host is a move (200/201), not a 409', async () => {
  const da = tempDir('bumless-api-a-');
  const db = tempDir('bumless-api-b-');
  const a = await openNode('h1', '192.168.100.1', undefined, {}, da);
  const b = await openNode('h2', '192.168.100.2', undefined, {}, db);
  const sync = async (from: TestNode, to: TestNode) => {
    const { records, vv } = from.registry.changesSince(to.registry.versionVector());
    await to.registry.applyRemote(records, from.hostId, vv);
    await from.registry.settled();
    await to.registry.settled();
  };
  try {
    const apiA = apiOn(a);
    const apiB = apiOn(b);
    const admin = { authorization: `Bearer ${ADMIN}` };
    assert.equal((await apiA.app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { name: 'acme' } })).statusCode, 201);
    assert.equal((await apiA.app.inject({ method: 'POST', url: '/v1/networks', headers: admin, payload: { tenant: 'acme', name: 'web', cidrs: ['10.10.10.0/24'] } })).statusCode, 201);
    const ep = { network: 'acme/web', mac: '02:00:00:00:00:01', ips: ['10.10.10.1'], port: 'p1' };
    const first = await apiA.app.inject({ method: 'POST', url: '/v1/endpoints', headers: admin, payload: ep });
    assert.equal(first.statusCode, 201, first.body);
    await sync(a, b);
    // The VM moved to h2: its agent registers the same MAC and IP. The IP's holder is the same MAC: a move.
    const moved = await apiB.app.inject({ method: 'POST', url: '/v1/endpoints', headers: admin, payload: { ...ep, port: 'p9' } });
    assert.ok(moved.statusCode === 201 || moved.statusCode === 200, moved.body);
    const e = moved.json<{ endpoint: { hostId: string; seq: number } }>().endpoint;
    assert.equal(e.hostId, 'h2');
    assert.ok(e.seq > first.json<{ endpoint: { seq: number } }>().endpoint.seq, 'the move raises the MAC-mobility sequence number');
    await sync(b, a);
    const onA = await apiA.app.inject({ method: 'GET', url: '/v1/endpoints/acme/web/02:00:00:00:00:01', headers: admin });
    assert.equal(onA.json<{ hostId: string }>().hostId, 'h2', 'h1 sees the endpoint on h2 now');
    // A different MAC claiming that IP is still a conflict, naming the (moved) holder.
    const thief = await apiA.app.inject({ method: 'POST', url: '/v1/endpoints', headers: admin, payload: { ...ep, mac: '02:00:00:00:00:02' } });
    assert.equal(thief.statusCode, 409, thief.body);
    assert.equal(thief.json<{ error: { holder: { hostId: string } } }>().error.holder.hostId, 'h2');
    await apiA.app.close();
    await apiB.app.close();
  } finally {
    await a.close();
    await b.close();
    removeDir(da);
    removeDir(db);
  }
});

void test('the default endpoint quota on the real registry: counted without listing, exact under concurrency, a re-registration is not a new endpoint', async () => {
  const dir = tempDir('bumless-api-');
  const node = await openNode('h1', '192.168.100.1', undefined, {}, dir);
  try {
    const sw = new FakeSwitch();
    const api = apiOn(node, sw, { defaultQuota: { networks: 4, endpoints: 3 } });
    const admin = { authorization: `Bearer ${ADMIN}` };
    assert.equal((await api.app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { name: 'acme' } })).statusCode, 201);
    assert.equal((await api.app.inject({ method: 'POST', url: '/v1/networks', headers: admin, payload: { tenant: 'acme', name: 'web', cidrs: ['10.10.10.0/24'] } })).statusCode, 201);
    const mac = (i: number) => `02:00:00:00:00:0${i}`;
    const body = (i: number, m = mac(i)) => ({ network: 'acme/web', mac: m, ips: [`10.10.10.${i}`], port: `p${i}` });
    const res = await Promise.all([1, 2, 3, 4, 5].map((i) => api.app.inject({ method: 'POST', url: '/v1/endpoints', headers: admin, payload: body(i) })));
    assert.equal(res.filter((r) => r.statusCode < 300).length, 3, res.map((r) => r.body).join('\n'));
    const refused = res.filter((r) => r.statusCode === 403);
    assert.equal(refused.length, 2);
    assert.match(refused[0]!.body, /quota_exceeded/);
    assert.equal(node.registry.endpointCount('acme'), 3);
    // The same endpoint again, its MAC in capitals: an existing endpoint, not a fourth one.
    const first = res.findIndex((r) => r.statusCode < 300) + 1;
    const again = await api.app.inject({ method: 'POST', url: '/v1/endpoints', headers: admin, payload: body(first, mac(first).toUpperCase()) });
    assert.ok(again.statusCode < 300, again.body);
    assert.equal(node.registry.endpointCount('acme'), 3);
    await api.app.close();
  } finally {
    await node.close();
    removeDir(dir);
  }
});
