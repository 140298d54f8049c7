// Local port rules at registration: the tunnel port and the bridge's own port are never an endpoint's
// port, and one local port is held by one endpoint at a time (a second one would join the container
// behind it to another network). Checked on the registry and through the API on the real registry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictError, ValidationError } from '../../src/registry/errors.js';
import type { RegistryOptions } from '../../src/registry/registry.js';
import { ADMIN, FakeSwitch, apiOn } from '../support/api-fakes.js';
import { openNode, removeDir, withNetwork } from '../support/registry-fixtures.js';
import type { TestNode } from '../support/registry-fixtures.js';

const RESERVED: RegistryOptions['reservedPorts'] = [
  ['tun0', 'the tunnel port'],
  ['br-int', "the bridge's own (LOCAL) port"],
];
const M = (n: number) => `02:00:00:00:00:${n.toString(16).padStart(2, '0')}`;
const IP = (n: number) => `10.10.10.${n}`;

async function node(t: { after(fn: () => Promise<void>): void }, hostId = 'h1', vtep = '192.168.100.1'): Promise<TestNode> {
  const n = await openNode(hostId, vtep, undefined, { reservedPorts: RESERVED });
  t.after(async () => {
    await n.close();
    removeDir(n.dir);
  });
  return n;
}

void test('the tunnel port and the bridge port are refused as endpoint ports, naming why', async (t) => {
  const { registry: r } = await node(t);
  await withNetwork(r, 'acme', 'web', 100);
  await assert.rejects(r.upsertLocalEndpoint({ network: 'acme/web', mac: M(1), ips: [IP(1)], port: 'tun0' }), (err: unknown) => {
    assert.ok(err instanceof ValidationError);
    assert.match(err.message, /port tun0 is the tunnel port of host h1/);
    assert.deepEqual(err.issues, [{ path: 'port', message: 'reserved: the tunnel port' }]);
    return true;
  });
  await assert.rejects(r.upsertLocalEndpoint({ network: 'acme/web', mac: M(1), ips: [IP(1)], port: 'br-int' }), /port br-int is the bridge's own \(LOCAL\) port/);
  await assert.rejects(
    r.upsertLocalEndpoints([
      { network: 'acme/web', mac: M(1), ips: [IP(1)], port: 'p1' },
      { network: 'acme/web', mac: M(2), ips: [IP(2)], port: 'tun0' },
    ]),
    (err: unknown) => err instanceof ValidationError && err.issues[0]?.path === '1.port',
  );
  assert.deepEqual(r.endpoints({}), [], 'a refused batch writes nothing');
});

void test('one local port, one endpoint: 409 for a second one, "in use" without the holder for another tenant', async (t) => {
  const { registry: r } = await node(t);
  await withNetwork(r, 'acme', 'web', 100);
  await withNetwork(r, 'acme', 'db', 101);
  await withNetwork(r, 'globex', 'web', 200);
  await r.upsertLocalEndpoint({ network: 'acme/web', mac: M(1), ips: [IP(1)], port: 'p1' });

  // The same endpoint again, also with other addresses: not a second endpoint.
  assert.equal((await r.upsertLocalEndpoint({ network: 'acme/web', mac: M(1), ips: [IP(1)], port: 'p1' })).created, false);
  assert.deepEqual((await r.upsertLocalEndpoint({ network: 'acme/web', mac: M(1), ips: [IP(1), IP(11)], port: 'p1' })).endpoint.ips, [IP(1), IP(11)]);

  // Same tenant, other MAC or other network (even with the same MAC): the holder is named.
  for (const claim of [
    { network: 'acme/web', mac: M(2), ips: [IP(2)], port: 'p1' },
    { network: 'acme/db', mac: M(1), ips: [IP(1)], port: 'p1' },
  ]) {
    await assert.rejects(r.upsertLocalEndpoint(claim), (err: unknown) => {
      assert.ok(err instanceof ConflictError);
      assert.match(err.message, /port p1 on host h1 is in use by endpoint acme\/web\/02:00:00:00:00:01/);
      assert.equal(err.holder?.mac, M(1));
      return true;
    });
  }
  // Another tenant: told the port is in use, nothing about what holds it.
  await assert.rejects(r.upsertLocalEndpoint({ network: 'globex/web', mac: M(9), ips: [IP(9)], port: 'p1' }), (err: unknown) => {
    assert.ok(err instanceof ConflictError);
    assert.match(err.message, /port p1 on host h1 is in use; use another port/);
    assert.doesNotMatch(err.message, /acme|02:00:00:00:00:01/);
    assert.equal(err.holder, undefined);
    return true;
  });
  // Two new endpoints on one free port in one batch: the second is refused, nothing is written.
  await assert.rejects(
    r.upsertLocalEndpoints([
      { network: 'acme/web', mac: M(3), ips: [IP(3)], port: 'p3' },
      { network: 'globex/web', mac: M(4), ips: [IP(4)], port: 'p3' },
    ]),
    /endpoint #1: port p3 on host h1 is in use; use another port/,
  );
  assert.equal(r.endpoint('acme/web', M(3)), undefined);

  // Moving the endpoint to another port frees the first; deleting frees the second.
  await r.upsertLocalEndpoint({ network: 'acme/web', mac: M(1), ips: [IP(1)], port: 'p2' });
  await r.upsertLocalEndpoint({ network: 'globex/web', mac: M(9), ips: [IP(9)], port: 'p1' });
  await r.deleteLocalEndpoint('acme/web', M(1));
  await r.upsertLocalEndpoint({ network: 'acme/db', mac: M(5), ips: [IP(5)], port: 'p2' });
  assert.deepEqual(
    r
      .endpoints({ local: true })
      .map((e) => `${e.network}/${e.mac}@${e.port}`)
      .sort(),
    [`acme/db/${M(5)}@p2`, `globex/web/${M(9)}@p1`],
  );
});

void test('a MAC moving to this host takes a free port; port names of other hosts do not count', async (t) => {
  const h1 = await node(t, 'h1', '192.168.100.1');
  const h2 = await node(t, 'h2', '192.168.100.2');
  await withNetwork(h1.registry, 'acme', 'web', 100);
  await h1.registry.upsertLocalEndpoint({ network: 'acme/web', mac: M(1), ips: [IP(1)], port: 'p1' });
  const sync = async (from: TestNode, to: TestNode) => {
    const { records, vv } = from.registry.changesSince(to.registry.versionVector());
    await to.registry.applyRemote(records, from.hostId, vv);
    await to.registry.settled();
  };
  await sync(h1, h2);
  // h2's own port p1 is free on h2, whatever h1 calls its ports.
  await h2.registry.upsertLocalEndpoint({ network: 'acme/web', mac: M(2), ips: [IP(2)], port: 'p1' });
  // M(1) moves to h2, on a port held there: refused; on a free one: a move (higher sequence number).
  await assert.rejects(h2.registry.upsertLocalEndpoint({ network: 'acme/web', mac: M(1), ips: [IP(1)], port: 'p1' }), /port p1 on host h2 is in use by endpoint acme\/web\/02:00:00:00:00:02/);
  const moved = await h2.registry.upsertLocalEndpoint({ network: 'acme/web', mac: M(1), ips: [IP(1)], port: 'p7' });
  assert.equal(moved.endpoint.hostId, 'h2');
  assert.equal(moved.endpoint.seq, 1);
  await sync(h2, h1);
  assert.equal(h1.registry.endpoint('acme/web', M(1))?.hostId, 'h2');
  // On h1, p1 is free again now that the endpoint lives on h2.
  await withNetwork(h1.registry, 'globex', 'web', 200);
  await h1.registry.upsertLocalEndpoint({ network: 'globex/web', mac: M(9), ips: [IP(9)], port: 'p1' });
});

void test('the API answers 400 for a reserved port and 409 for a held one, leaking no other tenant\'s objects', async (t) => {
  const n = await node(t);
  const api = apiOn(n, new FakeSwitch(), { installTimeoutMs: 50 });
  t.after(() => api.app.close());
  const admin = { authorization: `Bearer ${ADMIN}` };
  const tenant = async (name: string) => {
    const res = await api.app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { name } });
    assert.equal(res.statusCode, 201, res.body);
    const as = { authorization: `Bearer ${res.json<{ token: string }>().token}` };
    const net = await api.app.inject({ method: 'POST', url: '/v1/networks', headers: as, payload: { name: 'web', cidrs: ['10.10.10.0/24'] } });
    assert.equal(net.statusCode, 201, net.body);
    return as;
  };
  const asA = await tenant('acme');
  const asB = await tenant('globex');
  const register = (as: { authorization: string }, tenantName: string, mac: string, port: string) =>
    api.app.inject({ method: 'POST', url: '/v1/endpoints', headers: as, payload: { network: `${tenantName}/web`, mac, ips: [IP(1)], port } });

  const tun = await register(asA, 'acme', M(1), 'tun0');
  assert.equal(tun.statusCode, 400, tun.body);
  assert.match(tun.json<{ error: { message: string } }>().error.message, /tunnel port/);
  assert.deepEqual(tun.json<{ error: { details: Array<{ path: unknown[] }> } }>().error.details[0]?.path, ['port']);
  assert.equal((await register(asA, 'acme', M(1), 'br-int')).statusCode, 400);

  const held = await register(asA, 'acme', M(1), 'veth-a1');
  assert.ok([201, 202].includes(held.statusCode), held.body);
  const put = await api.app.inject({ method: 'PUT', url: `/v1/endpoints/acme/web/${M(1)}`, headers: asA, payload: { ips: [IP(1)], port: 'veth-a1' } });
  assert.ok([200, 202].includes(put.statusCode), put.body);

  const other = await register(asB, 'globex', M(1), 'veth-a1');
  assert.equal(other.statusCode, 409, other.body);
  assert.match(other.body, /port veth-a1 on host h1 is in use/);
  assert.doesNotMatch(other.body, /acme|holder/);

  const same = await register(asA, 'acme', M(2), 'veth-a1');
  assert.equal(same.statusCode, 409, same.body);
  assert.equal(same.json<{ error: { holder: { mac: string } } }>().error.holder.mac, M(1));
});
