// The route x tenant matrix: tenant A's token on every route, aimed at tenant B's objects. Nothing of B may
// leak into a response, nothing of B may change, and B's objects answer exactly as absent ones do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, testApi } from '../support/api-fakes.js';

void test('route x tenant matrix: no leak, no change, 404 exactly like an absent object', async () => {
  const { api, registry, options, sw } = testApi();
  const mk = async (name: string) =>
    (await api.app.inject({ method: 'POST', url: '/v1/tenants', headers: { authorization: `Bearer ${ADMIN}` }, payload: { name } })).json<{ token: string; tokenId: string }>();
  const a = await mk('alpha');
  const b = await mk('bravo');
  const asB = { authorization: `Bearer ${b.token}` };
  const asA = { authorization: `Bearer ${a.token}` };
  // B's secrets: names and addresses that must never appear in a response to A.
  assert.equal((await api.app.inject({ method: 'POST', url: '/v1/networks', headers: asB, payload: { name: 'secretnet', cidrs: ['10.77.0.0/24'] } })).statusCode, 201);
  const reg = await api.app.inject({ method: 'POST', url: '/v1/endpoints', headers: asB, payload: { network: 'bravo/secretnet', mac: 'ba:ba:ba:ba:77:01', ips: ['10.77.0.1'], port: 'vethsecret' } });
  assert.equal(reg.statusCode, 201);
  // A has objects of its own with the same names, so "found in A" cannot be confused with "leaked from B".
  assert.equal((await api.app.inject({ method: 'POST', url: '/v1/networks', headers: asA, payload: { name: 'web', cidrs: ['10.77.0.0/24'] } })).statusCode, 201);
  sw.bumDrops.set('bravo/secretnet', 3);
  const secrets = ['bravo', 'secretnet', 'ba:ba:ba:ba:77:01', 'vethsecret', b.tokenId];
  const snapshot = async () =>
    JSON.stringify({ t: [...registry.t], n: [...registry.n], e: [...registry.e], tokens: (await options.tokens.list()).map((r) => r.id).sort() });
  const before = await snapshot();

  const epB = '/v1/endpoints/bravo/secretnet/ba:ba:ba:ba:77:01';
  const cases: Array<{ op: string; method: 'GET' | 'POST' | 'PUT' | 'DELETE'; url: string; body?: object; expect: number; absent?: string }> = [
    { op: 'health', method: 'GET', url: '/healthz', expect: 200 },
    { op: 'ready', method: 'GET', url: '/readyz', expect: 200 },
    { op: 'openapi', method: 'GET', url: '/v1/openapi.json', expect: 200 },
    { op: 'whoami', method: 'GET', url: '/v1/whoami', expect: 200 },
    { op: 'listTenants', method: 'GET', url: '/v1/tenants', expect: 200 },
    { op: 'createTenant', method: 'POST', url: '/v1/tenants', body: { name: 'bravo' }, expect: 403 },
    { op: 'getTenant', method: 'GET', url: '/v1/tenants/bravo', expect: 404, absent: '/v1/tenants/nosuch' },
    { op: 'deleteTenant', method: 'DELETE', url: '/v1/tenants/bravo', expect: 404, absent: '/v1/tenants/nosuch' },
    { op: 'listTokens', method: 'GET', url: '/v1/tenants/bravo/tokens', expect: 404, absent: '/v1/tenants/nosuch/tokens' },
    { op: 'createToken', method: 'POST', url: '/v1/tenants/bravo/tokens', body: {}, expect: 404, absent: '/v1/tenants/nosuch/tokens' },
    { op: 'revokeToken', method: 'DELETE', url: `/v1/tenants/bravo/tokens/${b.tokenId}`, expect: 404, absent: `/v1/tenants/nosuch/tokens/${b.tokenId}` },
    { op: 'revokeToken', method: 'DELETE', url: `/v1/tenants/alpha/tokens/${b.tokenId}`, expect: 404, absent: '/v1/tenants/alpha/tokens/0000000000000000' },
    { op: 'listNetworks', method: 'GET', url: '/v1/networks?tenant=bravo', expect: 200 },
    { op: 'listNetworks', method: 'GET', url: '/v1/networks', expect: 200 },
    { op: 'createNetwork', method: 'POST', url: '/v1/networks', body: { tenant: 'bravo', name: 'secretnet', cidrs: ['10.0.0.0/24'] }, expect: 404 },
    { op: 'getNetwork', method: 'GET', url: '/v1/networks/bravo/secretnet', expect: 404, absent: '/v1/networks/nosuch/secretnet' },
    { op: 'deleteNetwork', method: 'DELETE', url: '/v1/networks/bravo/secretnet', expect: 404, absent: '/v1/networks/nosuch/secretnet' },
    { op: 'listEndpoints', method: 'GET', url: '/v1/endpoints?network=bravo/secretnet', expect: 200 },
    { op: 'listEndpoints', method: 'GET', url: '/v1/endpoints?tenant=bravo', expect: 200 },
    { op: 'listEndpoints', method: 'GET', url: '/v1/endpoints', expect: 200 },
    { op: 'registerEndpoint', method: 'POST', url: '/v1/endpoints', body: { network: 'bravo/secretnet', mac: 'aa:aa:aa:aa:00:01', ips: ['10.77.0.9'], port: 'x' }, expect: 404 },
    // Stealing B's IP from inside A's network of the same prefix is not a conflict: networks are separate.
    { op: 'getEndpoint', method: 'GET', url: epB, expect: 404, absent: '/v1/endpoints/nosuch/secretnet/ba:ba:ba:ba:77:01' },
    { op: 'putEndpoint', method: 'PUT', url: epB, body: { ips: ['10.77.0.1'], port: 'p' }, expect: 404, absent: '/v1/endpoints/nosuch/secretnet/ba:ba:ba:ba:77:01' },
    { op: 'deleteEndpoint', method: 'DELETE', url: epB, expect: 404, absent: '/v1/endpoints/nosuch/secretnet/ba:ba:ba:ba:77:01' },
    { op: 'listPeers', method: 'GET', url: '/v1/peers', expect: 403 },
    { op: 'status', method: 'GET', url: '/v1/status', expect: 403 },
    { op: 'flows', method: 'GET', url: '/v1/flows', expect: 403 },
    { op: 'trace', method: 'POST', url: '/v1/trace', body: { network: 'bravo/secretnet', source: '10.77.0.1', destination: '10.77.0.2' }, expect: 403 },
    { op: 'clearAlarm', method: 'POST', url: '/v1/alarms/clear', body: { id: 'duplicate-mac:bravo/secretnet/ba:ba:ba:ba:77:01' }, expect: 403 },
    { op: 'metrics', method: 'GET', url: '/metrics', expect: 403 },
  ];
  // Every route is in the matrix.
  const covered = new Set(cases.map((c) => c.op));
  assert.deepEqual(api.routes.map((r) => r.operationId).filter((op) => !covered.has(op)), []);

  for (const c of cases) {
    const res = await api.app.inject({ method: c.method, url: c.url, headers: asA, ...(c.body ? { payload: c.body } : {}) });
    assert.equal(res.statusCode, c.expect, `${c.method} ${c.url}: ${res.body}`);
    // Echoing what the request itself named is no leak (that it answers like an absent object is checked below).
    const asked = c.url + JSON.stringify(c.body ?? {});
    for (const s of secrets) {
      if (c.op === 'openapi' || asked.includes(s)) continue;
      assert.ok(!res.body.includes(s), `${c.method} ${c.url} leaks ${s}: ${res.body}`);
    }
    if (c.absent) {
      const ghost = await api.app.inject({ method: c.method, url: c.absent, headers: asA, ...(c.body ? { payload: c.body } : {}) });
      assert.equal(ghost.statusCode, res.statusCode, c.absent);
      const norm = (body: string, url: string) => {
        const [, , ...parts] = url.split('/');
        let out = body;
        for (const p of parts) if (p.length > 2) out = out.split(p).join('<x>');
        return out;
      };
      assert.equal(norm(res.body, c.url), norm(ghost.body, c.absent), `${c.url} must answer like ${c.absent}`);
    }
  }
  assert.equal(await snapshot(), before, 'nothing of B changed');
  // A's lists contain only A.
  const nets = await api.app.inject({ method: 'GET', url: '/v1/networks', headers: asA });
  assert.deepEqual(nets.json<{ items: Array<{ tenant: string }> }>().items.map((n) => n.tenant), ['alpha']);
  // B still works with its own token.
  assert.equal((await api.app.inject({ method: 'GET', url: epB, headers: asB })).statusCode, 200);
});
