// Tenant tokens as replicated records (docs/mesh-protocol.md, kind "token"): created on any agent,
// carried by the same changesSince/applyRemote path the mesh uses, revoked by a tombstone that never
// resurrects, revoked everywhere with their tenant, migrated from the per-agent keyspace of schema v1,
// and accepted by the API of another agent once replicated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open } from 'lmdb';
import { TokenAuthority } from '../../src/api/auth.js';
import { registryTokens } from '../../src/api/registry-adapter.js';
import { ConflictError, NotFoundError, ValidationError } from '../../src/registry/errors.js';
import { Store } from '../../src/registry/store.js';
import { Registry } from '../../src/registry/registry.js';
import type { ReplicatedRecord } from '../../src/registry/model.js';
import { ADMIN, apiOn } from '../support/api-fakes.js';
import { ManualClock, openNode, removeDir, tempDir } from '../support/registry-fixtures.js';
import type { TestNode } from '../support/registry-fixtures.js';

async function sync(from: TestNode, to: TestNode): Promise<void> {
  const { records, vv } = from.registry.changesSince(to.registry.versionVector());
  await to.registry.applyRemote(records, from.hostId, vv);
  await from.registry.settled();
  await to.registry.settled();
}

async function pair(t: { after(fn: () => Promise<void>): void }, clock = new ManualClock()): Promise<[TestNode, TestNode]> {
  const a = await openNode('a', '10.0.0.1', clock, { tombstoneTtlMs: 60_000 });
  const b = await openNode('b', '10.0.0.2', clock, { tombstoneTtlMs: 60_000 });
  t.after(async () => {
    for (const n of [a, b]) {
      await n.close();
      removeDir(n.dir);
    }
  });
  return [a, b];
}

const SALT = Buffer.alloc(16, 7).toString('base64');
const HASH = Buffer.alloc(32, 9).toString('base64');
const tok = (id: string, tenant = 'acme') => ({ id, tenant, salt: SALT, hash: HASH, createdAt: '2026-01-01T00:00:00.000Z' });

void test('a token made on one agent replicates as its hash only and verifies on the other', async (t) => {
  const [a, b] = await pair(t);
  await a.registry.createTenant({ name: 'acme' });
  const authA = new TokenAuthority({ store: registryTokens(a.registry) });
  const authB = new TokenAuthority({ store: registryTokens(b.registry) });
  const { token, record } = await authA.create('tenant', 'acme', 'ci');
  assert.equal(await authB.verify(token), undefined, 'not on b before replication');
  await sync(a, b);
  assert.deepEqual(await authB.verify(token), { role: 'tenant', tenant: 'acme', tokenId: record.id });
  const secret = token.split('.')[2]!;
  const stored = JSON.stringify(b.store.loadRecords());
  assert.ok(stored.includes(record.id));
  assert.ok(!stored.includes(secret), 'the secret never leaves the agent that made it');
  const rec = b.store.getRecord(`k/${record.id}`);
  assert.equal(rec?.kind, 'token');
  assert.equal(rec?.origin, 'a');
  assert.deepEqual(Object.keys(rec.value).sort(), ['createdAt', 'description', 'hash', 'id', 'salt', 'tenant', 'tenantCreatedAt']);
  assert.deepEqual(b.registry.tokens('acme').map((x) => x.description), ['ci']);
});

void test('token input is validated; an unknown tenant is 404; a taken id is a conflict', async (t) => {
  const [a] = await pair(t);
  await a.registry.createTenant({ name: 'acme' });
  await assert.rejects(a.registry.createToken({ ...tok('00000000000000aa'), hash: 'short' }), ValidationError);
  await assert.rejects(a.registry.createToken({ ...tok('XYZ') }), ValidationError);
  await assert.rejects(a.registry.createToken(tok('00000000000000aa', 'nosuch')), NotFoundError);
  await a.registry.createToken(tok('00000000000000aa'));
  await assert.rejects(a.registry.createToken(tok('00000000000000aa')), ConflictError);
  await assert.rejects(a.registry.revokeToken('00000000000000bb'), NotFoundError);
});

void test('revocation replicates, survives replays of the live record and tombstone collection, and the id cannot come back', async (t) => {
  const clock = new ManualClock();
  const [a, b] = await pair(t, clock);
  await a.registry.createTenant({ name: 'acme' });
  await a.registry.createToken(tok('00000000000000aa'));
  await sync(a, b);
  const live = b.store.getRecord('k/00000000000000aa')!;
  clock.advance(10);
  await b.registry.revokeToken('00000000000000aa');
  assert.equal(b.registry.token('00000000000000aa'), undefined);
  await sync(b, a);
  assert.equal(a.registry.token('00000000000000aa'), undefined, 'revoked on a too');
  // A late duplicate of the live version (another path, a replay) loses against the tombstone.
  const r = await a.registry.applyRemote([live], 'b');
  assert.equal(r.applied, 0);
  assert.equal(a.registry.token('00000000000000aa'), undefined);
  // Token tombstones are kept (many writers: nothing in a vector bounds an older live copy).
  clock.advance(24 * 3600_000);
  await a.registry.sweep();
  assert.equal(a.store.getRecord('k/00000000000000aa')?.deleted, true);
  assert.equal((await a.registry.applyRemote([live], 'b')).applied, 0);
  await assert.rejects(a.registry.createToken(tok('00000000000000aa')), (e: unknown) => e instanceof ConflictError && /revoked/.test(e.message));
});

void test('concurrent writes of one token id resolve by HLC the same way on both agents', async (t) => {
  const clock = new ManualClock();
  const [a, b] = await pair(t, clock);
  await a.registry.createTenant({ name: 'acme' });
  await sync(a, b);
  // The same token installed on both (an import before replication), then revoked on a: the later write wins everywhere.
  await a.registry.createToken(tok('00000000000000aa'));
  clock.advance(5);
  await b.registry.createToken({ ...tok('00000000000000aa'), description: 'b' });
  clock.advance(5);
  await a.registry.revokeToken('00000000000000aa');
  await sync(a, b);
  await sync(b, a);
  for (const n of [a, b]) {
    assert.equal(n.registry.token('00000000000000aa'), undefined, `${n.hostId}: the revocation is the last write`);
    assert.equal(n.store.getRecord('k/00000000000000aa')?.deleted, true);
  }
  assert.deepEqual(a.store.getRecord('k/00000000000000aa'), b.store.getRecord('k/00000000000000aa'));
});

void test('deleting a tenant revokes its tokens on every agent, also one made concurrently, and a re-created tenant does not revive them', async (t) => {
  const clock = new ManualClock();
  const [a, b] = await pair(t, clock);
  await a.registry.createTenant({ name: 'acme' });
  await a.registry.createTenant({ name: 'other' });
  await a.registry.createToken(tok('00000000000000aa'));
  await a.registry.createToken(tok('00000000000000cc', 'other'));
  await sync(a, b);
  // b makes a token while a deletes the tenant (neither has seen the other's write yet).
  await b.registry.createToken(tok('00000000000000bb'));
  clock.advance(5);
  await a.registry.deleteTenant('acme');
  assert.equal(a.store.getRecord('k/00000000000000aa')?.deleted, true, 'tombstoned with the tenant');
  await sync(a, b);
  await sync(b, a);
  for (const n of [a, b]) {
    assert.equal(n.registry.tenant('acme'), undefined);
    assert.deepEqual(n.registry.tokens().map((x) => x.id), ['00000000000000cc'], `${n.hostId}: only the other tenant's token is left`);
    assert.equal(n.registry.token('00000000000000bb'), undefined, `${n.hostId}: the concurrent token is inert`);
  }
  clock.advance(1000);
  await b.registry.createTenant({ name: 'acme' });
  await sync(b, a);
  for (const n of [a, b]) {
    assert.equal(n.registry.token('00000000000000bb'), undefined, `${n.hostId}: a new tenant "acme" is not the old one`);
    assert.equal(n.registry.token('00000000000000aa'), undefined);
  }
});

void test('the schema v1 per-agent keyspace kv:tokens is migrated to token records (v2)', async (t) => {
  const dir = tempDir();
  t.after(() => removeDir(dir));
  const created = '2026-01-01T00:00:00.000Z';
  const tenantRec = (name: string, deleted = false): ReplicatedRecord => ({
    kind: 'tenant',
    key: `t/${name}`,
    origin: 'a',
    counter: name === 'acme' ? 1 : 2,
    hlc: { wall: 1000, logical: name === 'acme' ? 0 : 1, node: 'a' },
    ...(deleted ? { deleted: true, deletedAt: 1000 } : {}),
    value: { name, createdAt: created, updatedAt: created },
  });
  const v1 = open({ path: dir, maxDbs: 16 });
  await v1.openDB({ name: 'meta' }).put('schemaVersion', 1);
  await v1.openDB({ name: 'records' }).put('t/acme', tenantRec('acme'));
  await v1.openDB({ name: 'records' }).put('t/gone', tenantRec('gone', true));
  await v1.openDB({ name: 'vv' }).put('a', 2);
  const kv = v1.openDB({ name: 'kv:tokens' });
  await kv.put('00000000000000aa', { ...tok('00000000000000aa'), role: 'tenant', description: 'kept' });
  await kv.put('00000000000000bb', { ...tok('00000000000000bb', 'gone'), role: 'tenant' });
  await kv.put('00000000000000cc', { ...tok('00000000000000cc'), role: 'admin', tenant: undefined });
  await v1.close();

  const store = await Store.open({ path: dir, hostId: 'a', now: () => 5000 });
  t.after(() => store.close());
  assert.equal(store.migratedFrom, 1);
  assert.equal(store.schemaVersion(), 2);
  const tokens = store.loadRecords().filter((r) => r.kind === 'token');
  assert.deepEqual(tokens.map((r) => [r.key, r.origin, r.counter, r.hlc.wall]), [['k/00000000000000aa', 'a', 3, 5000]]);
  assert.deepEqual(store.loadVv(), { a: 3 });
  assert.deepEqual(store.kv('tokens').entries(), [], 'the old keyspace is gone');
  const registry = Registry.open({ store, hostId: 'a', vtep: '10.0.0.1', clock: new ManualClock(6000) });
  t.after(() => registry.close());
  assert.deepEqual(registry.token('00000000000000aa'), { ...tok('00000000000000aa'), description: 'kept', tenantCreatedAt: created });
  // Its counter follows the migrated record's: no dot is reused.
  await registry.createToken(tok('00000000000000dd'));
  assert.equal(store.getRecord('k/00000000000000dd')?.counter, 4);
});

void test('the API of one agent accepts a tenant token created through another agent\'s API once replicated, and a revocation there', async (t) => {
  const [a, b] = await pair(t);
  const apiA = apiOn(a);
  const apiB = apiOn(b);
  t.after(async () => {
    await apiA.app.close();
    await apiB.app.close();
  });
  const admin = { authorization: `Bearer ${ADMIN}` };
  const created = await apiA.app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { name: 'acme' } });
  assert.equal(created.statusCode, 201, created.body);
  const { token, tokenId } = created.json<{ token: string; tokenId: string }>();
  const as = { authorization: `Bearer ${token}` };
  assert.equal((await apiB.app.inject({ method: 'GET', url: '/v1/whoami', headers: as })).statusCode, 401, 'not before replication');
  await sync(a, b);
  const who = await apiB.app.inject({ method: 'GET', url: '/v1/whoami', headers: as });
  assert.equal(who.statusCode, 200, who.body);
  assert.deepEqual(who.json(), { role: 'tenant', tenant: 'acme', tokenId });
  const net = await apiB.app.inject({ method: 'POST', url: '/v1/networks', headers: as, payload: { name: 'web', cidrs: ['10.10.10.0/24'] } });
  assert.equal(net.statusCode, 201, net.body);
  const list = await apiB.app.inject({ method: 'GET', url: '/v1/tenants/acme/tokens', headers: admin });
  assert.deepEqual(list.json<{ items: Array<{ id: string }> }>().items.map((x) => x.id), [tokenId]);
  // The old "install on every agent" step still succeeds, and changes nothing.
  const imp = await apiB.app.inject({ method: 'POST', url: '/v1/tenants/acme/tokens', headers: admin, payload: { token } });
  assert.equal(imp.statusCode, 200, imp.body);
  // a verified the token above (cached); a revocation made on b must still stop it on a at once.
  assert.equal((await apiA.app.inject({ method: 'GET', url: '/v1/whoami', headers: as })).statusCode, 200);
  assert.equal((await apiB.app.inject({ method: 'DELETE', url: `/v1/tenants/acme/tokens/${tokenId}`, headers: as })).statusCode, 204);
  await sync(b, a);
  assert.equal((await apiA.app.inject({ method: 'GET', url: '/v1/whoami', headers: as })).statusCode, 401);
  assert.equal((await apiB.app.inject({ method: 'GET', url: '/v1/whoami', headers: as })).statusCode, 401);
  const again = await apiA.app.inject({ method: 'POST', url: '/v1/tenants/acme/tokens', headers: admin, payload: { token } });
  assert.equal(again.statusCode, 409, 'a revoked token cannot be installed again');
});
