// The API over a registry whose store failed a commit (docs/agent.md, "The registry's disk failed"):
// writes answer 503 store_failed with what happened and what to do, /readyz turns not ready with the
// reason, /v1/status and /metrics show it, reads keep working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApi } from '../../src/api/server.js';
import { registryPort, registryTokens } from '../../src/api/registry-adapter.js';
import { Store } from '../../src/registry/store.js';
import { Registry } from '../../src/registry/registry.js';
import { ADMIN, FakeMesh, FakeSwitch } from '../support/api-fakes.js';
import { removeDir, tempDir } from '../support/registry-fixtures.js';

void test('after a failed commit: writes answer 503 store_failed, /readyz is not ready with the reason, reads still work', async (t) => {
  const dir = tempDir('bumless-api-');
  let failing = false;
  const store = await Store.open({
    path: dir,
    hostId: 'h1',
    faults: {
      beforeCommit: () => {
        if (failing) throw new Error('EIO: i/o error, write');
      },
    },
  });
  const registry = Registry.open({ store, hostId: 'h1', vtep: '192.168.100.1' });
  t.after(async () => {
    await registry.close();
    await store.close();
    removeDir(dir);
  });
  const api = buildApi({
    registry: registryPort(registry),
    tokens: registryTokens(registry),
    adminToken: ADMIN,
    flows: new FakeSwitch(),
    status: new FakeSwitch(),
    mesh: new FakeMesh(),
    hostId: 'h1',
    rateLimit: { perSecond: 10_000, burst: 10_000 },
    installTimeoutMs: 200,
  });
  const admin = { authorization: `Bearer ${ADMIN}` };
  const post = (url: string, payload: unknown) => api.app.inject({ method: 'POST', url, headers: admin, payload: payload as Record<string, unknown> });
  assert.equal((await post('/v1/tenants', { name: 'acme' })).statusCode, 201);
  assert.equal((await post('/v1/networks', { tenant: 'acme', name: 'web', cidrs: ['10.10.10.0/24'] })).statusCode, 201);
  const ready = await api.app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(ready.statusCode, 200, ready.body);
  assert.deepEqual(ready.json(), { ready: true });

  failing = true;
  const ep = { network: 'acme/web', mac: '02:00:00:00:00:01', ips: ['10.10.10.1'], port: 'p1' };
  const failed = await post('/v1/endpoints', ep);
  assert.equal(failed.statusCode, 503, failed.body);
  const body = failed.json<{ error: { code: string; message: string } }>().error;
  assert.equal(body.code, 'store_failed');
  assert.match(body.message, /EIO: i\/o error, write/);
  assert.ok(body.message.includes(dir), body.message);
  assert.match(body.message, /restart the agent/);

  // The disk works again; the agent still refuses writes until it is restarted.
  failing = false;
  const later = await post('/v1/tenants', { name: 'other' });
  assert.equal(later.statusCode, 503, later.body);
  assert.equal(later.json<{ error: { code: string } }>().error.code, 'store_failed');

  const notReady = await api.app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(notReady.statusCode, 503);
  const nr = notReady.json<{ ready: boolean; reason?: string }>();
  assert.equal(nr.ready, false);
  assert.match(nr.reason ?? '', /failed to commit a write \(EIO: i\/o error, write\)/);

  const status = await api.app.inject({ method: 'GET', url: '/v1/status', headers: admin });
  assert.equal(status.statusCode, 200, status.body);
  const st = status.json<{ ready: boolean; alarms: Array<{ id: string; kind: string; subject: string }> }>();
  assert.equal(st.ready, false);
  assert.deepEqual(
    st.alarms.map((a) => [a.id, a.kind, a.subject]),
    [['store-failed', 'store-failed', dir]],
  );
  const metrics = await api.app.inject({ method: 'GET', url: '/metrics', headers: admin });
  assert.match(metrics.body, /^bumless_registry_store_failed 1$/m);

  // Reads answer from memory.
  const nets = await api.app.inject({ method: 'GET', url: '/v1/networks', headers: admin });
  assert.equal(nets.statusCode, 200);
  assert.deepEqual(
    nets.json<{ items: Array<{ name: string }> }>().items.map((n) => n.name),
    ['web'],
  );
});
