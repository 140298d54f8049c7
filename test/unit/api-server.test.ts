// REST API routes against in-memory ports: valid input, each kind of invalid input, auth, quotas, rate limits,
// registration semantics (201 only once flows are confirmed), 100 concurrent registrations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { ADMIN, testApi } from '../support/api-fakes.js';
import type { FlowView } from '../../src/api/ports.js';
import type { Endpoint } from '../../src/registry/model.js';

type Api = ReturnType<typeof testApi>['api'];

interface Req {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  token?: string | undefined;
  body?: unknown;
  headers?: Record<string, string>;
}

async function call(api: Api, r: Req): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { ...(r.headers ?? {}) };
  if (r.token) headers.authorization = `Bearer ${r.token}`;
  return api.app.inject({
    method: r.method,
    url: r.url,
    headers,
    ...(r.body === undefined ? {} : typeof r.body === 'string' ? { payload: r.body } : { payload: r.body as object }),
  });
}

async function setup(overrides: Parameters<typeof testApi>[0] = {}) {
  const t = testApi(overrides);
  const res = await call(t.api, { method: 'POST', url: '/v1/tenants', token: ADMIN, body: { name: 'acme' } });
  assert.equal(res.statusCode, 201, res.body);
  const token = res.json<{ token: string }>().token;
  const net = await call(t.api, { method: 'POST', url: '/v1/networks', token, body: { name: 'web', cidrs: ['10.10.10.0/24'] } });
  assert.equal(net.statusCode, 201, net.body);
  return { ...t, token };
}

const ep = (n: number, extra: Record<string, unknown> = {}) => ({
  network: 'acme/web',
  mac: `aa:aa:aa:aa:${(n >> 8).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`,
  ips: [`10.10.10.${n}`],
  port: `veth${n}`,
  ...extra,
});

void test('health, readiness, openapi (and metrics when public) answer without a token', async () => {
  const { api, sw } = testApi({ metricsPublic: true });
  assert.deepEqual((await call(api, { method: 'GET', url: '/healthz' })).json(), { status: 'ok' });
  assert.equal((await call(api, { method: 'GET', url: '/readyz' })).statusCode, 200);
  sw.connected = false;
  const notReady = await call(api, { method: 'GET', url: '/readyz' });
  assert.equal(notReady.statusCode, 503);
  assert.deepEqual(notReady.json(), { ready: false });
  const doc = await call(api, { method: 'GET', url: '/v1/openapi.json' });
  assert.equal(doc.json<{ openapi: string }>().openapi, '3.1.0');
  const metrics = await call(api, { method: 'GET', url: '/metrics' });
  assert.match(metrics.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
  assert.match(metrics.body, /^bumless_openflow_connected 0$/m);
});

void test('authentication: missing, malformed, unknown and revoked tokens are 401; tenant tokens cannot use admin routes', async () => {
  const { api, token, options } = await setup();
  const none = await call(api, { method: 'GET', url: '/v1/networks' });
  assert.equal(none.statusCode, 401);
  assert.equal(none.headers['www-authenticate'], 'Bearer');
  assert.match(none.json<{ error: { message: string } }>().error.message, /Authorization: Bearer/);
  for (const bad of ['nonsense', 'bl.0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', `${token}x`, token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A')]) {
    assert.equal((await call(api, { method: 'GET', url: '/v1/networks', token: bad })).statusCode, 401, bad);
  }
  assert.equal((await call(api, { method: 'GET', url: '/v1/networks', headers: { authorization: `Basic ${token}` } })).statusCode, 401);
  const who = await call(api, { method: 'GET', url: '/v1/whoami', token });
  assert.equal(who.json<{ role: string; tenant: string }>().tenant, 'acme');
  for (const url of ['/v1/status', '/v1/flows', '/v1/peers']) {
    const r = await call(api, { method: 'GET', url, token });
    assert.equal(r.statusCode, 403, url);
    assert.equal(r.json<{ error: { code: string } }>().error.code, 'admin_required');
  }
  assert.equal((await call(api, { method: 'POST', url: '/v1/tenants', token, body: { name: 'other' } })).statusCode, 403);
  // Stored as a salted scrypt hash only: the secret appears nowhere in the store.
  const records = await options.tokens.list();
  assert.equal(records.length, 1);
  const secret = token.split('.')[2]!;
  assert.ok(!JSON.stringify(records).includes(secret));
  assert.equal(Buffer.from(records[0]!.hash, 'base64').length, 32);
  // Revoke through the API: the token stops working at once, even though it was verified (and cached) before.
  const id = token.split('.')[1]!;
  assert.equal((await call(api, { method: 'DELETE', url: `/v1/tenants/acme/tokens/${id}`, token: ADMIN })).statusCode, 204);
  assert.equal((await call(api, { method: 'GET', url: '/v1/networks', token })).statusCode, 401);
});

void test('tenant tokens: a second token works, lists show ids without secrets', async () => {
  const { api, token } = await setup();
  const created = await call(api, { method: 'POST', url: '/v1/tenants/acme/tokens', token, body: { description: 'ci' } });
  assert.equal(created.statusCode, 201, created.body);
  const second = created.json<{ token: string; info: { id: string; tenant: string } }>();
  assert.equal(second.info.tenant, 'acme');
  assert.equal((await call(api, { method: 'GET', url: '/v1/networks', token: second.token })).statusCode, 200);
  const list = await call(api, { method: 'GET', url: '/v1/tenants/acme/tokens', token });
  const items = list.json<{ items: Array<Record<string, unknown>> }>().items;
  assert.equal(items.length, 2);
  for (const i of items) assert.deepEqual(Object.keys(i).filter((k) => k === 'hash' || k === 'salt'), []);
  // POST without a body is allowed for this route.
  assert.equal((await call(api, { method: 'POST', url: '/v1/tenants/acme/tokens', token })).statusCode, 201);
});

void test('token import: a token the store does not know is installed by the admin; a known one is a no-op', async () => {
  const a = await setup();
  const b = testApi();
  assert.equal((await call(b.api, { method: 'POST', url: '/v1/tenants', token: ADMIN, body: { name: 'acme' } })).statusCode, 201);
  assert.equal((await call(b.api, { method: 'GET', url: '/v1/whoami', token: a.token })).statusCode, 401, 'tokens are per agent');
  const imp = await call(b.api, { method: 'POST', url: '/v1/tenants/acme/tokens', token: ADMIN, body: { token: a.token, description: 'from a' } });
  assert.equal(imp.statusCode, 201, imp.body);
  assert.equal(imp.json<{ token?: string; info: { id: string } }>().token, undefined, 'the secret is not echoed');
  assert.equal(imp.json<{ info: { id: string } }>().info.id, a.token.split('.')[1]);
  assert.equal((await call(b.api, { method: 'GET', url: '/v1/whoami', token: a.token })).json<{ tenant: string }>().tenant, 'acme');
  // Installing it again (a script looping over every agent of a replicated cluster) changes nothing.
  const again = await call(b.api, { method: 'POST', url: '/v1/tenants/acme/tokens', token: ADMIN, body: { token: a.token } });
  assert.equal(again.statusCode, 200, again.body);
  assert.equal(again.json<{ info: { description?: string } }>().info.description, 'from a');
  // The same id with another secret is someone else's token: refused, and the real one keeps working.
  const forged = `bl.${a.token.split('.')[1]}.${'B'.repeat(43)}`;
  assert.equal((await call(b.api, { method: 'POST', url: '/v1/tenants/acme/tokens', token: ADMIN, body: { token: forged } })).statusCode, 409);
  assert.equal((await call(b.api, { method: 'GET', url: '/v1/whoami', token: forged })).statusCode, 401);
  assert.equal((await call(b.api, { method: 'GET', url: '/v1/whoami', token: a.token })).statusCode, 200);
  const bad = await call(b.api, { method: 'POST', url: '/v1/tenants/acme/tokens', token: ADMIN, body: { token: 'bl.admin.x' } });
  assert.equal(bad.statusCode, 400);
  assert.deepEqual(bad.json<{ error: { details: Array<{ path: unknown[] }> } }>().error.details[0]!.path, ['token']);
  // A tenant cannot plant tokens, not even for itself.
  const other = 'bl.00112233445566ff.' + 'A'.repeat(43);
  assert.equal((await call(b.api, { method: 'POST', url: '/v1/tenants/acme/tokens', token: a.token, body: { token: other } })).statusCode, 403);
  assert.equal((await call(b.api, { method: 'GET', url: '/v1/whoami', token: other })).statusCode, 401);
});

void test('tenants: create, list, show, delete; duplicates 409; invalid names 400 with the field path', async () => {
  const { api } = testApi();
  const r = await call(api, { method: 'POST', url: '/v1/tenants', token: ADMIN, body: { name: 'acme', displayName: 'Acme', quota: { networks: 2 } } });
  assert.equal(r.statusCode, 201);
  assert.equal(r.headers.location, '/v1/tenants/acme');
  assert.match(r.json<{ token: string }>().token, /^bl\.[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/);
  assert.equal((await call(api, { method: 'POST', url: '/v1/tenants', token: ADMIN, body: { name: 'acme' } })).statusCode, 409);
  const bad = await call(api, { method: 'POST', url: '/v1/tenants', token: ADMIN, body: { name: 'Bad_Name', extra: 1 } });
  assert.equal(bad.statusCode, 400);
  const paths = bad.json<{ error: { details: Array<{ path: unknown[] }> } }>().error.details.map((d) => d.path.join('.'));
  assert.ok(paths.includes('name'), paths.join());
  assert.ok(bad.body.includes('extra'));
  const list = await call(api, { method: 'GET', url: '/v1/tenants', token: ADMIN });
  assert.deepEqual(list.json<{ items: Array<{ name: string }> }>().items.map((t) => t.name), ['acme']);
  assert.equal((await call(api, { method: 'GET', url: '/v1/tenants/acme', token: ADMIN })).json<{ displayName: string }>().displayName, 'Acme');
  assert.equal((await call(api, { method: 'GET', url: '/v1/tenants/nosuch', token: ADMIN })).statusCode, 404);
  assert.equal((await call(api, { method: 'GET', url: '/v1/tenants/NOT_VALID', token: ADMIN })).statusCode, 400);
  assert.equal((await call(api, { method: 'DELETE', url: '/v1/tenants/acme', token: ADMIN })).statusCode, 204);
  assert.equal((await call(api, { method: 'GET', url: '/v1/tenants/acme', token: ADMIN })).statusCode, 404);
});

void test('deleting a tenant revokes its tokens; a tenant cannot delete itself', async () => {
  const { api, token, registry } = await setup();
  const self = await call(api, { method: 'DELETE', url: '/v1/tenants/acme', token });
  assert.equal(self.statusCode, 403);
  assert.equal((await call(api, { method: 'DELETE', url: '/v1/tenants/acme', token: ADMIN })).statusCode, 409, 'still has a network');
  registry.n.clear();
  assert.equal((await call(api, { method: 'DELETE', url: '/v1/tenants/acme', token: ADMIN })).statusCode, 204);
  assert.equal((await call(api, { method: 'GET', url: '/v1/whoami', token })).statusCode, 401);
});

void test('networks: VNI assigned by the server, set only by the admin; validation paths; conflicts; delete', async () => {
  const { api, token } = await setup();
  const web = await call(api, { method: 'GET', url: '/v1/networks/acme/web', token });
  assert.equal(web.statusCode, 200);
  assert.equal(web.json<{ vni: number }>().vni, 100);
  const chosen = await call(api, { method: 'POST', url: '/v1/networks', token, body: { name: 'db', cidrs: ['10.20.0.0/24'], vni: 5000 } });
  assert.equal(chosen.statusCode, 403);
  assert.match(chosen.json<{ error: { message: string } }>().error.message, /omit vni/);
  const admin = await call(api, { method: 'POST', url: '/v1/networks', token: ADMIN, body: { tenant: 'acme', name: 'db', cidrs: ['10.20.0.0/24'], vni: 5000, encap: 'geneve' } });
  assert.equal(admin.statusCode, 201, admin.body);
  assert.equal(admin.json<{ vni: number; encap: string }>().vni, 5000);
  const noTenant = await call(api, { method: 'POST', url: '/v1/networks', token: ADMIN, body: { name: 'x', cidrs: ['10.0.0.0/8'] } });
  assert.equal(noTenant.statusCode, 400);
  assert.deepEqual(noTenant.json<{ error: { details: Array<{ path: unknown[] }> } }>().error.details[0]!.path, ['tenant']);
  const badCidr = await call(api, { method: 'POST', url: '/v1/networks', token, body: { name: 'x', cidrs: ['10.0.0.0/8', '300.1.1.1/24'], gateway: 'nope' } });
  assert.equal(badCidr.statusCode, 400);
  const paths = badCidr.json<{ error: { details: Array<{ path: unknown[] }> } }>().error.details.map((d) => d.path.join('.'));
  assert.deepEqual(paths.sort(), ['cidrs.1', 'gateway']);
  assert.equal((await call(api, { method: 'POST', url: '/v1/networks', token, body: { name: 'web', cidrs: ['10.0.0.0/8'] } })).statusCode, 409);
  const list = await call(api, { method: 'GET', url: '/v1/networks', token });
  assert.deepEqual(list.json<{ items: Array<{ name: string }> }>().items.map((n) => n.name).sort(), ['db', 'web']);
  assert.equal((await call(api, { method: 'GET', url: '/v1/networks?bogus=1', token })).statusCode, 400);
  assert.equal((await call(api, { method: 'DELETE', url: '/v1/networks/acme/db', token })).statusCode, 204);
  assert.equal((await call(api, { method: 'GET', url: '/v1/networks/acme/db', token })).statusCode, 404);
});

void test('POST /v1/endpoints: 201 once the flows are confirmed, with the peers it was announced to', async () => {
  const { api, token, sw } = await setup();
  const r = await call(api, { method: 'POST', url: '/v1/endpoints', token, body: ep(1, { mac: 'AA:AA:AA:AA:00:01' }) });
  assert.equal(r.statusCode, 201, r.body);
  const body = r.json<{ endpoint: { mac: string; hostId: string }; installed: boolean; announcedTo: string[] }>();
  assert.equal(body.endpoint.mac, 'aa:aa:aa:aa:00:01', 'MAC normalised to lower case');
  assert.equal(body.endpoint.hostId, 'h1');
  assert.equal(body.installed, true);
  assert.deepEqual(body.announcedTo, ['h2'], 'only established peers');
  assert.deepEqual(sw.waits, ['acme/web/aa:aa:aa:aa:00:01']);
  assert.equal(r.headers.location, '/v1/endpoints/acme/web/aa:aa:aa:aa:00:01');
  // The same registration again is not a new endpoint.
  assert.equal((await call(api, { method: 'POST', url: '/v1/endpoints', token, body: ep(1) })).statusCode, 200);
  // Switch not confirming in time: durable, but 202 and installed:false.
  sw.connected = false;
  const slow = await call(api, { method: 'POST', url: '/v1/endpoints', token, body: ep(2) });
  assert.equal(slow.statusCode, 202);
  assert.equal(slow.json<{ installed: boolean }>().installed, false);
  assert.match(slow.json<{ reason: string }>().reason, /did not confirm the flows within/, 'the 202 says why');
  const metrics = await call(api, { method: 'GET', url: '/metrics', token: ADMIN });
  assert.match(metrics.body, /^bumless_registration_to_installed_seconds_count 2$/m);
  assert.match(metrics.body, /^bumless_registrations_unconfirmed_total 1$/m);
});

void test('endpoints: invalid input is 400 with field paths, IP held by another MAC is 409 naming the holder, unknown network 404', async () => {
  const { api, token } = await setup();
  assert.equal((await call(api, { method: 'POST', url: '/v1/endpoints', token, body: ep(1) })).statusCode, 201);
  const cases: Array<[unknown, string[]]> = [
    [{ ...ep(2), mac: 'ff:ff:ff:ff:ff:ff' }, ['mac']],
    [{ ...ep(2), mac: '01:00:5e:00:00:01' }, ['mac']],
    [{ ...ep(2), ips: ['10.10.10.2', 'x'] }, ['ips.1']],
    [{ ...ep(2), ips: [] }, ['ips']],
    [{ ...ep(2), port: 'a-very-long-port-name' }, ['port']],
    [{ ...ep(2), network: 'web' }, ['network']],
    [{ ...ep(2), seq: 5 }, ['']],
    [{ mac: 'aa:aa:aa:aa:00:02' }, ['network', 'ips', 'port']],
    [[1, 2, 3], ['']],
    ['"a string"', ['']],
    [{ ...ep(2), ips: ['10.10.11.2'] }, ['ips.0']],
  ];
  for (const [body, paths] of cases) {
    const r = await call(api, { method: 'POST', url: '/v1/endpoints', token, body, headers: { 'content-type': 'application/json' } });
    assert.equal(r.statusCode, 400, `${JSON.stringify(body)} -> ${r.body}`);
    const got = r.json<{ error: { code: string; details: Array<{ path: unknown[] }> } }>().error;
    assert.equal(got.code, 'invalid_request');
    assert.deepEqual(got.details.map((d) => d.path.join('.')).sort(), [...paths].sort(), JSON.stringify(body));
  }
  const conflict = await call(api, { method: 'POST', url: '/v1/endpoints', token, body: ep(2, { ips: ['10.10.10.1'] }) });
  assert.equal(conflict.statusCode, 409);
  const err = conflict.json<{ error: { message: string; holder: { mac: string; hostId: string } } }>().error;
  assert.equal(err.holder.mac, 'aa:aa:aa:aa:00:01');
  assert.match(err.message, /aa:aa:aa:aa:00:01/);
  const unknown = await call(api, { method: 'POST', url: '/v1/endpoints', token, body: ep(2, { network: 'acme/nosuch' }) });
  assert.equal(unknown.statusCode, 404);
  assert.equal(unknown.json<{ error: { message: string } }>().error.message, 'network acme/nosuch not found');
});

void test('endpoints: PUT is idempotent, GET shows, list filters, DELETE removes and waits for the flows', async () => {
  const { api, token, registry, sw } = await setup();
  const url = '/v1/endpoints/acme/web/aa:aa:aa:aa:00:07';
  const first = await call(api, { method: 'PUT', url, token, body: { ips: ['10.10.10.7'], port: 'veth7' } });
  assert.equal(first.statusCode, 201, first.body);
  const before = registry.writes;
  const again = await call(api, { method: 'PUT', url, token, body: { ips: ['10.10.10.7'], port: 'veth7' } });
  assert.equal(again.statusCode, 200);
  assert.deepEqual(again.json<{ endpoint: unknown }>().endpoint, { ...first.json<{ endpoint: object }>().endpoint, updatedAt: again.json<{ endpoint: { updatedAt: string } }>().endpoint.updatedAt });
  assert.equal(registry.writes, before + 1);
  assert.equal(registry.e.size, 1);
  assert.equal((await call(api, { method: 'PUT', url, token, body: { ips: ['10.10.10.7'], port: 'veth7', mac: 'x' } })).statusCode, 400);
  assert.equal((await call(api, { method: 'PUT', url: '/v1/endpoints/acme/web/nonsense', token, body: { ips: ['10.10.10.7'], port: 'veth7' } })).statusCode, 400);
  const shown = await call(api, { method: 'GET', url, token });
  assert.equal(shown.json<{ ips: string[] }>().ips[0], '10.10.10.7');
  assert.equal((await call(api, { method: 'GET', url: '/v1/endpoints/acme/web/AA:AA:AA:AA:00:07', token })).statusCode, 200, 'MAC in any case');
  const list = await call(api, { method: 'GET', url: '/v1/endpoints?network=acme/web&host=h1', token });
  assert.equal(list.json<{ items: unknown[] }>().items.length, 1);
  assert.equal((await call(api, { method: 'GET', url: '/v1/endpoints?host=h9', token })).json<{ items: unknown[] }>().items.length, 0);
  sw.waits.length = 0;
  assert.equal((await call(api, { method: 'DELETE', url, token })).statusCode, 204);
  assert.deepEqual(sw.waits, ['acme/web/aa:aa:aa:aa:00:07']);
  assert.equal((await call(api, { method: 'GET', url, token })).statusCode, 404);
  assert.equal((await call(api, { method: 'DELETE', url, token })).statusCode, 404);
  // An endpoint owned by another host is deleted through that host.
  registry.e.set('acme/web/aa:aa:aa:aa:00:08', { ...first.json<{ endpoint: Endpoint }>().endpoint, mac: 'aa:aa:aa:aa:00:08', hostId: 'h2' });
  const remote = await call(api, { method: 'DELETE', url: '/v1/endpoints/acme/web/aa:aa:aa:aa:00:08', token });
  assert.equal(remote.statusCode, 409);
  assert.match(remote.body, /host h2/);
});

void test('quotas per tenant: networks and endpoints', async () => {
  const { api } = testApi({ defaultQuota: { networks: 1, endpoints: 2 } });
  const token = (await call(api, { method: 'POST', url: '/v1/tenants', token: ADMIN, body: { name: 'acme' } })).json<{ token: string }>().token;
  assert.equal((await call(api, { method: 'POST', url: '/v1/networks', token, body: { name: 'web', cidrs: ['10.10.10.0/24'] } })).statusCode, 201);
  const over = await call(api, { method: 'POST', url: '/v1/networks', token, body: { name: 'db', cidrs: ['10.20.0.0/24'] } });
  assert.equal(over.statusCode, 403);
  assert.equal(over.json<{ error: { code: string } }>().error.code, 'quota_exceeded');
  const results = await Promise.all([1, 2, 3, 4].map((n) => call(api, { method: 'POST', url: '/v1/endpoints', token, body: ep(n) })));
  assert.deepEqual(results.map((r) => r.statusCode).sort(), [201, 201, 403, 403]);
  // Replacing an existing endpoint does not count against the quota.
  const existing = results.findIndex((r) => r.statusCode === 201) + 1;
  assert.equal((await call(api, { method: 'POST', url: '/v1/endpoints', token, body: ep(existing, { port: 'other' }) })).statusCode, 200);
  // A tenant's own quota overrides the default.
  await call(api, { method: 'POST', url: '/v1/tenants', token: ADMIN, body: { name: 'big', quota: { networks: 3 } } });
  for (const name of ['a', 'b', 'c']) {
    assert.equal((await call(api, { method: 'POST', url: '/v1/networks', token: ADMIN, body: { tenant: 'big', name, cidrs: ['10.0.0.0/24'] } })).statusCode, 201);
  }
  assert.equal((await call(api, { method: 'POST', url: '/v1/networks', token: ADMIN, body: { tenant: 'big', name: 'd', cidrs: ['10.0.0.0/24'] } })).statusCode, 403);
});

void test('address rules: canonical prefixes no wider than /8 or /16, gateway inside, endpoint addresses are host addresses listed once', async () => {
  const { api, token } = await setup();
  const detail = (r: LightMyRequestResponse) => r.json<{ error: { details: Array<{ path: unknown[]; message: string }> } }>().error.details[0]!;
  const hostBits = await call(api, { method: 'POST', url: '/v1/networks', token, body: { name: 'x', cidrs: ['10.20.0.1/24'] } });
  assert.equal(hostBits.statusCode, 400);
  assert.deepEqual(detail(hostBits), { path: ['cidrs', 0], message: '10.20.0.1/24 has host bits set; write the prefix as 10.20.0.0/24' });
  for (const wide of ['0.0.0.0/0', '::/0', '10.0.0.0/7', 'fd00::/15']) {
    const r = await call(api, { method: 'POST', url: '/v1/networks', token, body: { name: 'x', cidrs: [wide] } });
    assert.equal(r.statusCode, 400, wide);
    assert.match(detail(r).message, /is wider than \/(8|16)/, wide);
  }
  const gw = await call(api, { method: 'POST', url: '/v1/networks', token, body: { name: 'x', cidrs: ['10.20.0.0/24'], gateway: '10.30.0.1' } });
  assert.equal(gw.statusCode, 400);
  assert.deepEqual(detail(gw).path, ['gateway']);
  assert.match(detail(gw).message, /not inside the network's prefixes 10\.20\.0\.0\/24/);
  const gwBcast = await call(api, { method: 'POST', url: '/v1/networks', token, body: { name: 'x', cidrs: ['10.20.0.0/24'], gateway: '10.20.0.255' } });
  assert.equal(gwBcast.statusCode, 400);
  assert.equal((await call(api, { method: 'POST', url: '/v1/networks', token, body: { name: 'x', cidrs: ['10.20.0.0/24', 'fd00:20::/64'], gateway: 'fd00:20::1' } })).statusCode, 201);

  for (const [ip, why] of [['10.10.10.0', 'network'], ['10.10.10.255', 'broadcast']] as const) {
    const r = await call(api, { method: 'POST', url: '/v1/endpoints', token, body: ep(5, { ips: ['10.10.10.5', ip] }) });
    assert.equal(r.statusCode, 400, ip);
    assert.deepEqual(detail(r), { path: ['ips', 1], message: `${ip} is the ${why} address of 10.10.10.0/24; use a host address between them` });
  }
  const dup = await call(api, { method: 'POST', url: '/v1/endpoints', token, body: ep(5, { ips: ['10.10.10.5', '10.10.10.6', '10.10.10.5'] }) });
  assert.equal(dup.statusCode, 400);
  assert.deepEqual(detail(dup), { path: ['ips', 2], message: '10.10.10.5 is listed twice (also ips.0); list each address once' });
  const dupPut = await call(api, { method: 'PUT', url: '/v1/endpoints/acme/web/aa:aa:aa:aa:00:05', token, body: { ips: ['10.10.10.5', '10.10.10.5'], port: 'veth5' } });
  assert.equal(dupPut.statusCode, 400);
  assert.equal((await call(api, { method: 'GET', url: '/v1/endpoints/acme/web/aa:aa:aa:aa:00:05', token })).statusCode, 404, 'nothing was registered');
  assert.equal((await call(api, { method: 'POST', url: '/v1/endpoints', token, body: ep(5, { ips: ['10.10.10.5', '10.10.10.254'] }) })).statusCode, 201);
});

void test('token quota per tenant: a tenant token cannot mint tokens without end; revoking frees a slot', async () => {
  const { api } = testApi({ defaultQuota: { networks: 1, endpoints: 2, tokens: 3 } });
  const token = (await call(api, { method: 'POST', url: '/v1/tenants', token: ADMIN, body: { name: 'acme' } })).json<{ token: string }>().token;
  // The tenant's first token counts: two more fit, concurrently requested ones included.
  const made = await Promise.all([1, 2, 3, 4].map(() => call(api, { method: 'POST', url: '/v1/tenants/acme/tokens', token })));
  assert.deepEqual(made.map((r) => r.statusCode).sort(), [201, 201, 403, 403]);
  const over = made.find((r) => r.statusCode === 403)!.json<{ error: { code: string; message: string } }>().error;
  assert.equal(over.code, 'quota_exceeded');
  assert.match(over.message, /tenant acme has 3 tokens, the quota is 3; revoke unused ones/);
  const list = (await call(api, { method: 'GET', url: '/v1/tenants/acme/tokens', token })).json<{ items: { id: string }[] }>().items;
  assert.equal(list.length, 3);
  // The admin is held to it too.
  assert.equal((await call(api, { method: 'POST', url: '/v1/tenants/acme/tokens', token: ADMIN })).statusCode, 403);
  const id = made.find((r) => r.statusCode === 201)!.json<{ info: { id: string } }>().info.id;
  assert.equal((await call(api, { method: 'DELETE', url: `/v1/tenants/acme/tokens/${id}`, token })).statusCode, 204);
  assert.equal((await call(api, { method: 'POST', url: '/v1/tenants/acme/tokens', token })).statusCode, 201);
});

void test('the default token quota is 32 live tokens per tenant', async () => {
  const { api } = testApi();
  const token = (await call(api, { method: 'POST', url: '/v1/tenants', token: ADMIN, body: { name: 'acme' } })).json<{ token: string }>().token;
  for (let i = 0; i < 31; i++) assert.equal((await call(api, { method: 'POST', url: '/v1/tenants/acme/tokens', token })).statusCode, 201);
  assert.equal((await call(api, { method: 'POST', url: '/v1/tenants/acme/tokens', token })).statusCode, 403);
});

void test('rate limit per token: 429 with Retry-After, refilled with time; other tokens unaffected', async () => {
  let now = 1_000_000;
  const { api } = testApi({ rateLimit: { perSecond: 1, burst: 3 }, clock: { now: () => now } });
  const token = (await call(api, { method: 'POST', url: '/v1/tenants', token: ADMIN, body: { name: 'acme' } })).json<{ token: string }>().token;
  const codes = [];
  for (let i = 0; i < 4; i++) codes.push((await call(api, { method: 'GET', url: '/v1/networks', token })).statusCode);
  assert.deepEqual(codes, [200, 200, 200, 429]);
  const limited = await call(api, { method: 'GET', url: '/v1/networks', token });
  assert.equal(limited.headers['retry-after'], '1');
  assert.equal((await call(api, { method: 'GET', url: '/v1/networks', token: ADMIN })).statusCode, 200, 'the admin token has its own bucket');
  now += 1000;
  assert.equal((await call(api, { method: 'GET', url: '/v1/networks', token })).statusCode, 200);
});

void test('failed authentication is rate-limited per client address', async () => {
  const { api } = testApi({ authFailureLimit: { perSecond: 0.5, burst: 2 } });
  const codes = [];
  for (let i = 0; i < 3; i++) codes.push((await call(api, { method: 'GET', url: '/v1/networks', token: 'bl.0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })).statusCode);
  assert.deepEqual(codes, [401, 401, 429]);
});

void test('hostile bodies: too large 413, invalid JSON 400, wrong type 415, prototype pollution 400, deep nesting 400', async () => {
  const { api, token } = await setup({ bodyLimit: 4096 });
  const post = (payload: string, type = 'application/json') =>
    api.app.inject({ method: 'POST', url: '/v1/endpoints', headers: { authorization: `Bearer ${token}`, 'content-type': type }, payload });
  const big = await post(JSON.stringify({ ...ep(1), pad: 'x'.repeat(5000) }));
  assert.equal(big.statusCode, 413);
  assert.match(big.json<{ error: { message: string } }>().error.message, /4096 bytes/);
  const invalid = await post('{"network":');
  assert.equal(invalid.statusCode, 400);
  assert.equal(invalid.json<{ error: { code: string } }>().error.code, 'invalid_json');
  assert.equal((await post('', 'application/json')).statusCode, 400);
  assert.equal((await post('<xml/>', 'application/xml')).statusCode, 415);
  assert.equal((await post('{"__proto__":{"admin":true},"network":"acme/web"}')).statusCode, 400);
  assert.equal((await post('{"constructor":{"prototype":{"x":1}}}')).statusCode, 400);
  assert.equal((await post('['.repeat(2000) + ']'.repeat(2000))).statusCode, 400);
  assert.equal((await post('{"a":'.repeat(600) + '1' + '}'.repeat(600))).statusCode, 400);
  const bodyOnGet = await api.app.inject({ method: 'DELETE', url: '/v1/networks/acme/web', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: '{"x":1}' });
  assert.equal(bodyOnGet.statusCode, 400);
  const noRoute = await call(api, { method: 'GET', url: '/v1/nothing', token });
  assert.equal(noRoute.statusCode, 404);
  assert.match(noRoute.json<{ error: { message: string } }>().error.message, /openapi\.json/);
});

void test('deep nesting at the default 1 MiB body limit is a 400, not a crash', async () => {
  const { api, token } = await setup();
  for (const payload of ['['.repeat(400_000) + ']'.repeat(400_000), '{"ips":'.repeat(100_000) + '1' + '}'.repeat(100_000), `{"network":"acme/web","mac":"aa:aa:aa:aa:00:01","port":"p","ips":${'['.repeat(300_000)}${']'.repeat(300_000)}}`]) {
    const r = await api.app.inject({ method: 'POST', url: '/v1/endpoints', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload });
    assert.equal(r.statusCode, 400, r.body.slice(0, 200));
  }
});

/** Every error, fastify's own included, is { error: { code, message } } with a bounded message. */
function assertErrorShape(res: LightMyRequestResponse, what: string): void {
  const body = JSON.parse(res.body) as { error?: { code?: unknown; message?: unknown } };
  assert.equal(typeof body.error?.code, 'string', `${what} -> ${res.statusCode} ${res.body.slice(0, 300)}`);
  assert.equal(typeof body.error?.message, 'string', `${what} -> ${res.statusCode} ${res.body.slice(0, 300)}`);
  assert.ok(!/^FST_/.test(String(body.error?.code)), `${what}: fastify's code leaks: ${res.body.slice(0, 300)}`);
  assert.ok(String(body.error?.message).length < 600, `${what}: the message quotes the request at length`);
}

void test('fastify\'s own errors (long path parameters, bad URLs, odd content types) use the API\'s error shape', async () => {
  const { api, token } = await setup();
  const long = 'a'.repeat(5000);
  const cases: Array<[Req, number, string]> = [
    [{ method: 'GET', url: `/v1/tenants/${long}`, token }, 414, 'uri_too_long'],
    [{ method: 'GET', url: `/v1/networks/acme/${long}`, token }, 414, 'uri_too_long'],
    [{ method: 'DELETE', url: `/v1/endpoints/acme/web/${long}`, token }, 414, 'uri_too_long'],
    [{ method: 'GET', url: `/v1/${long}`, token }, 404, 'no_route'],
    [{ method: 'GET', url: '/v1/tenants/%E0%A4%A', token }, 400, 'bad_url'],
    [{ method: 'POST', url: '/v1/tenants', token: ADMIN, body: '{"name":"x"}', headers: { 'content-type': 'text/plain' } }, 415, 'unsupported_media_type'],
    [{ method: 'POST', url: '/v1/tenants', token: ADMIN, body: '<a/>', headers: { 'content-type': 'application/xml' } }, 415, 'unsupported_media_type'],
    [{ method: 'POST', url: '/v1/tenants', token: ADMIN, body: '--x--', headers: { 'content-type': 'multipart/form-data; boundary=x' } }, 415, 'unsupported_media_type'],
    [{ method: 'POST', url: '/v1/tenants', token: ADMIN, body: 'a=b', headers: { 'content-type': `application/${long}` } }, 415, 'unsupported_media_type'],
    [{ method: 'POST', url: '/v1/tenants', token: ADMIN, body: '{"name":', headers: { 'content-type': 'application/json' } }, 400, 'invalid_json'],
    [{ method: 'POST', url: '/v1/tenants', token: ADMIN, body: '{"__proto__":{"a":1}}', headers: { 'content-type': 'application/json' } }, 400, 'invalid_json'],
  ];
  for (const [req, status, code] of cases) {
    const res = await call(api, req);
    const what = `${req.method} ${req.url.slice(0, 60)} ${req.headers?.['content-type']?.slice(0, 40) ?? ''}`;
    assert.equal(res.statusCode, status, `${what}: ${res.body.slice(0, 300)}`);
    assertErrorShape(res, what);
    assert.equal(res.json<{ error: { code: string } }>().error.code, code, what);
  }
  // The 415 names what was sent, the 414 what is allowed.
  const t = await call(api, { method: 'POST', url: '/v1/tenants', token: ADMIN, body: 'x', headers: { 'content-type': 'text/plain' } });
  assert.match(t.json<{ error: { message: string } }>().error.message, /Content-Type text\/plain is not accepted; send JSON with Content-Type: application\/json/);
  const l = await call(api, { method: 'GET', url: `/v1/tenants/${long}`, token });
  assert.match(l.json<{ error: { message: string } }>().error.message, /longer than 100 characters/);
});

void test('fuzz: random bodies, paths and headers never produce a 5xx', async () => {
  const { api, token } = await setup({ bodyLimit: 8192 });
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const atoms = () => pick<unknown>([null, true, 0, -1, 1e308, 'x', '', '10.10.10.1', 'aa:aa:aa:aa:00:01', 'acme/web', '💥', [], {}, 'a'.repeat(300)]);
  const keys = ['network', 'mac', 'ips', 'port', 'name', 'cidrs', 'vni', 'tenant', 'gateway', 'encap', 'quota', 'source', 'destination', 'protocol', '__proto__', 'constructor', ''];
  const value = (depth: number): unknown => {
    const r = rnd();
    if (depth > 3 || r < 0.5) return atoms();
    if (r < 0.7) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1));
    return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 5) }, () => [pick(keys), value(depth + 1)]));
  };
  const validish = () => {
    const b = { ...ep(Math.floor(rnd() * 250) + 1) } as Record<string, unknown>;
    b[pick(Object.keys(b))] = value(1);
    return b;
  };
  const targets: Array<[Req['method'], string]> = [
    ['GET', `/v1/tenants/${'t'.repeat(101)}`],
    ['PUT', `/v1/endpoints/acme/${'w'.repeat(2000)}/aa:aa:aa:aa:00:01`],
    ['GET', '/v1/networks/acme/%ZZ'],
    ['GET', '/v1/networks/acme/nope'],
    ['POST', '/v1/endpoints'],
    ['POST', '/v1/networks'],
    ['POST', '/v1/tenants'],
    ['POST', '/v1/trace'],
    ['PUT', '/v1/endpoints/acme/web/aa:aa:aa:aa:00:01'],
    ['POST', '/v1/tenants/acme/tokens'],
    ['GET', '/v1/endpoints'],
    ['DELETE', '/v1/endpoints/acme/web/aa:aa:aa:aa:00:01'],
  ];
  const statuses = new Map<number, number>();
  for (let i = 0; i < 400; i++) {
    const [method, url] = pick(targets);
    const kind = rnd();
    let payload: string;
    if (kind < 0.4) payload = JSON.stringify(validish());
    else if (kind < 0.8) payload = JSON.stringify(value(0)) ?? 'null';
    else payload = Array.from({ length: Math.floor(rnd() * 40) }, () => String.fromCharCode(Math.floor(rnd() * 128))).join('');
    const contentType = pick(['application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', 'application/xml', 'application/json; charset=latin1', 'APPLICATION/JSON', '*/*', 'application/octet-stream', ';;;', `application/${'x'.repeat(500)}`]);
    const q = rnd() < 0.2 ? `?${pick(['tenant', 'network', 'host', 'diff', 'x'])}=${encodeURIComponent(String(atoms()))}` : '';
    const res = await api.app.inject({
      method,
      url: url + q,
      headers: { authorization: `Bearer ${pick([token, ADMIN])}`, 'content-type': contentType },
      ...(method === 'GET' ? {} : { payload }),
    });
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
    assert.ok(res.statusCode < 500, `${method} ${url}${q} ${contentType} ${payload} -> ${res.statusCode} ${res.body}`);
    assert.doesNotThrow(() => JSON.parse(res.body || '{}'));
    if (res.statusCode >= 400) assertErrorShape(res, `${method} ${url}${q} ${contentType}`);
  }
  // The fuzzer must reach both success and several kinds of rejection, or it proves nothing.
  assert.ok([...statuses.keys()].some((s) => s < 300), [...statuses.keys()].join());
  assert.ok([400, 404, 414, 415].every((s) => statuses.has(s)), [...statuses.keys()].join());
});

void test('100 concurrent registrations all land exactly once', async () => {
  const { api, token, registry, sw } = await setup({ defaultQuota: { networks: 10, endpoints: 1000 } });
  const n = 100;
  const results = await Promise.all(Array.from({ length: n }, (_, i) => call(api, { method: 'POST', url: '/v1/endpoints', token, body: ep(i + 1) })));
  assert.deepEqual(results.map((r) => r.statusCode), Array(n).fill(201));
  assert.equal(registry.e.size, n);
  assert.equal(registry.writes, n);
  assert.equal(new Set(sw.waits).size, n);
  const list = await call(api, { method: 'GET', url: '/v1/endpoints?network=acme/web', token });
  const macs = list.json<{ items: Array<{ mac: string }> }>().items.map((e) => e.mac);
  assert.equal(new Set(macs).size, n);
  // Repeating all of them concurrently (a client retrying) changes nothing but updatedAt.
  const again = await Promise.all(Array.from({ length: n }, (_, i) => call(api, { method: 'POST', url: '/v1/endpoints', token, body: ep(i + 1) })));
  assert.deepEqual(again.map((r) => r.statusCode), Array(n).fill(200));
  assert.equal(registry.e.size, n);
});

void test('registrations of one tenant overlap their disk writes (group commit) and still count exactly against the quota', async () => {
  const { api, token, registry } = await setup({ defaultQuota: { networks: 10, endpoints: 6 } });
  let release!: () => void;
  registry.disk = new Promise<void>((r) => (release = r));
  let answered = 0;
  const pending = Array.from({ length: 10 }, (_, i) => call(api, { method: 'POST', url: '/v1/endpoints', token, body: ep(i + 1) }).then((r) => (answered++, r)));
  // With the disk held, every registration within the quota is taken in memory: none waits for
  // another's write. Each answer waits for its own.
  for (let i = 0; i < 100 && registry.writes < 6; i++) await new Promise<void>((r) => setImmediate(r));
  assert.equal(registry.writes, 6);
  assert.equal(answered, 4);
  release();
  const results = await Promise.all(pending);
  assert.deepEqual(results.map((r) => r.statusCode).sort(), [...Array<number>(6).fill(201), ...Array<number>(4).fill(403)]);
  assert.equal(registry.e.size, 6);
});

void test('status, peers and flows (admin): switch state, registry counts, the difference of desired and installed', async () => {
  const { api, sw, registry } = await setup();
  registry.alarmList = [{ id: 'duplicate-mac:acme/web/aa:aa:aa:aa:00:01', kind: 'duplicate-mac', subject: 'acme/web/aa:aa:aa:aa:00:01', message: 'moved 6 times in 180 s', since: '2026-01-01T00:00:00.000Z' }];
  const status = await call(api, { method: 'GET', url: '/v1/status', token: ADMIN });
  const s = status.json<{ hostId: string; ready: boolean; switch: { connection: { state: string } }; registry: { tenants: number }; alarms: unknown[]; peers: unknown[] }>();
  assert.equal(s.hostId, 'h1');
  assert.equal(s.switch.connection.state, 'connected');
  assert.equal(s.registry.tenants, 1);
  assert.equal(s.alarms.length, 1);
  const clear = (id: string) => call(api, { method: 'POST', url: '/v1/alarms/clear', token: ADMIN, body: { id } });
  assert.equal((await clear('duplicate-mac:acme/web/aa:aa:aa:aa:00:01')).statusCode, 204);
  assert.equal(registry.alarmList.length, 0);
  assert.equal((await clear('duplicate-mac:acme/web/aa:aa:aa:aa:00:01')).statusCode, 404);
  assert.equal(s.peers.length, 2);
  const peers = await call(api, { method: 'GET', url: '/v1/peers', token: ADMIN });
  assert.deepEqual(peers.json<{ items: Array<{ hostId: string }> }>().items.map((p) => p.hostId), ['h2', 'h3']);
  const f = (table: number, priority: number, match: string, actions: string, cookie = '0x1'): FlowView => ({ table, priority, match, actions, cookie });
  sw.desired = [f(0, 100, 'in_port=1', 'goto_table:10'), f(10, 50, 'dl_dst=aa:aa:aa:aa:00:01', 'output:1'), f(10, 0, '', 'drop')];
  sw.installed = [f(0, 100, 'in_port=1', 'goto_table:10'), f(10, 50, 'dl_dst=aa:aa:aa:aa:00:01', 'output:2'), f(10, 40, 'dl_dst=aa:aa:aa:aa:00:09', 'output:3')];
  const flows = await call(api, { method: 'GET', url: '/v1/flows', token: ADMIN });
  const body = flows.json<{ desired: FlowView[]; diff: { missing: FlowView[]; extra: FlowView[]; changed: Array<{ desired: FlowView; installed: FlowView }> } }>();
  assert.equal(body.desired.length, 3);
  assert.deepEqual(body.diff.missing.map((x) => x.actions), ['drop']);
  assert.deepEqual(body.diff.extra.map((x) => x.match), ['dl_dst=aa:aa:aa:aa:00:09']);
  assert.deepEqual(body.diff.changed.map((c) => [c.desired.actions, c.installed.actions]), [['output:1', 'output:2']]);
  // Installed cookies carry the reconciler's generation (bits 47-32): a different generation is no difference.
  sw.desired = [f(10, 0, '', 'drop', '0xb1e500000000000c')];
  sw.installed = [f(10, 0, '', 'drop', '0xb1e500070000000c')];
  const gen = (await call(api, { method: 'GET', url: '/v1/flows', token: ADMIN })).json<{ diff: { changed: unknown[] } }>();
  assert.deepEqual(gen.diff.changed, []);
  sw.installed = [f(10, 0, '', 'drop', '0xb1e500070000000d')];
  const kind = (await call(api, { method: 'GET', url: '/v1/flows', token: ADMIN })).json<{ diff: { changed: unknown[] } }>();
  assert.equal(kind.diff.changed.length, 1, 'another flow kind in the cookie is a difference');
  const onlyDiff = await call(api, { method: 'GET', url: '/v1/flows?diff=true', token: ADMIN });
  assert.deepEqual(onlyDiff.json<{ desired: unknown[] }>().desired, []);
  assert.equal((await call(api, { method: 'GET', url: '/v1/flows?diff=maybe', token: ADMIN })).statusCode, 400);
});

void test('agents without a switch answer 503 for flows and trace, and status says so', async () => {
  const { api } = testApi({ flows: undefined, trace: undefined, status: undefined });
  await call(api, { method: 'POST', url: '/v1/tenants', token: ADMIN, body: { name: 'acme' } });
  await call(api, { method: 'POST', url: '/v1/networks', token: ADMIN, body: { tenant: 'acme', name: 'web', cidrs: ['10.10.10.0/24'] } });
  assert.equal((await call(api, { method: 'GET', url: '/v1/flows', token: ADMIN })).statusCode, 503);
  assert.equal((await call(api, { method: 'POST', url: '/v1/trace', token: ADMIN, body: { network: 'acme/web', source: '10.10.10.1', destination: '10.10.10.2' } })).statusCode, 503);
  const s = await call(api, { method: 'GET', url: '/v1/status', token: ADMIN });
  assert.equal(s.json<{ switch: unknown }>().switch, null);
  // Without a switch no registration can be confirmed: durable, 202.
  const r = await call(api, { method: 'POST', url: '/v1/endpoints', token: ADMIN, body: ep(1) });
  assert.equal(r.statusCode, 202);
});
