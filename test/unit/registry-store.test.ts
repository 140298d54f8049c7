import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { open } from 'lmdb';
import { Store, StoreError, SCHEMA_VERSION } from '../../src/registry/store.js';
import { Registry } from '../../src/registry/registry.js';
import { ManualClock, openNode, removeDir, tempDir, withNetwork } from '../support/registry-fixtures.js';

void test('acknowledged writes are there after close and reopen', async (t) => {
  const clock = new ManualClock();
  const dir = tempDir();
  t.after(() => removeDir(dir));
  const n1 = await openNode('a', '10.0.0.1', clock, {}, dir);
  await withNetwork(n1.registry);
  await n1.registry.upsertLocalEndpoint({ network: 'acme/web', mac: '02:00:00:00:00:01', ips: ['10.10.10.1'], port: 'p1' });
  const vv = n1.registry.versionVector();
  await n1.close();
  const n2 = await openNode('a', '10.0.0.1', clock, {}, dir);
  t.after(() => n2.close());
  assert.equal(n2.store.schemaVersion(), SCHEMA_VERSION);
  assert.deepEqual(n2.registry.versionVector(), vv);
  const eps = n2.registry.endpoints();
  assert.equal(eps.length, 1);
  assert.equal(eps[0]!.mac, '02:00:00:00:00:01');
  assert.deepEqual(n2.registry.tenants().map((x) => x.name), ['acme']);
  // The next local write continues numbering after the persisted counter.
  await n2.registry.upsertLocalEndpoint({ network: 'acme/web', mac: '02:00:00:00:00:02', ips: ['10.10.10.2'], port: 'p2' });
  assert.equal(n2.registry.versionVector().a, vv.a! + 1);
});

void test('kill -9 during registrations loses no acknowledged registration', async (t) => {
  const dir = tempDir();
  t.after(() => removeDir(dir));
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/registry-writer.ts', dir, '100000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const acked: string[] = [];
  let buf = '';
  await new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', () => resolve());
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) if (l !== 'ready') acked.push(l);
      if (acked.length >= 300 && child.exitCode === null) child.kill('SIGKILL');
    });
  });
  assert.equal(child.signalCode, 'SIGKILL');
  assert.ok(acked.length >= 300, `only ${acked.length} acknowledged`);
  const store = await Store.open({ path: dir, hostId: 'a' });
  t.after(() => store.close());
  const registry = Registry.open({ store, hostId: 'a', vtep: '10.0.0.1' });
  const macs = new Set(registry.endpoints().map((e) => e.mac));
  const missing = acked.filter((m) => !macs.has(m));
  assert.deepEqual(missing, [], `acknowledged but lost: ${missing.length} of ${acked.length}`);
});

void test('a v0 prototype layout is migrated to v1 on open', async (t) => {
  const dir = tempDir();
  t.after(() => removeDir(dir));
  const now = '2026-01-01T00:00:00.000Z';
  const legacy = open({ path: dir, maxDbs: 16 });
  await legacy.openDB({ name: 'tenants' }).put('acme', { name: 'acme', createdAt: now, updatedAt: now });
  await legacy.openDB({ name: 'networks' }).put('acme/web', { name: 'web', tenant: 'acme', vni: 42, cidrs: ['10.1.0.0/24'], encap: 'vxlan', createdAt: now, updatedAt: now });
  const eps = legacy.openDB({ name: 'endpoints' });
  const ep = { network: 'acme/web', mac: '02:00:00:00:00:01', ips: ['10.1.0.5'], vtep: '10.0.0.1', port: 'p1', seq: 3, createdAt: now, updatedAt: now };
  await eps.put('acme/web/02:00:00:00:00:01', { ...ep, hostId: 'a' });
  await eps.put('acme/web/02:00:00:00:00:02', { ...ep, mac: '02:00:00:00:00:02', ips: ['10.1.0.6'], hostId: 'b', vtep: '10.0.0.2' });
  await legacy.close();

  const store = await Store.open({ path: dir, hostId: 'a', now: () => 5000 });
  t.after(() => store.close());
  assert.equal(store.migratedFrom, 0);
  assert.equal(store.schemaVersion(), SCHEMA_VERSION);
  const records = store.loadRecords();
  assert.deepEqual(records.map((r) => r.key).sort(), ['e/acme/web/02:00:00:00:00:01/a', 'n/acme/web', 't/acme']);
  assert.ok(records.every((r) => r.origin === 'a' && r.hlc.wall === 5000));
  assert.deepEqual(store.loadVv(), { a: 3 });
  const registry = Registry.open({ store, hostId: 'a', vtep: '10.0.0.1', clock: new ManualClock(6000) });
  assert.equal(registry.network('acme', 'web')?.vni, 42);
  assert.equal(registry.endpoint('acme/web', '02:00:00:00:00:01')?.seq, 3);
  assert.equal(registry.endpoint('acme/web', '02:00:00:00:00:02'), undefined, 'another host\'s endpoint is relearned from the mesh, not migrated');
});

void test('a database from a newer bumless is refused with a clear error', async (t) => {
  const dir = tempDir();
  t.after(() => removeDir(dir));
  const root = open({ path: dir, maxDbs: 16 });
  await root.openDB({ name: 'meta' }).put('schemaVersion', SCHEMA_VERSION + 1);
  await root.close();
  await assert.rejects(Store.open({ path: dir, hostId: 'a' }), (e: unknown) => e instanceof StoreError && /newer than this bumless/.test(e.message));
});

void test('generic keyspaces are durable and isolated', async (t) => {
  const dir = tempDir();
  t.after(() => removeDir(dir));
  let store = await Store.open({ path: dir, hostId: 'a' });
  const tokens = store.kv<{ hash: string }>('tokens');
  await tokens.put('acme:1', { hash: 'x' });
  await tokens.put('acme:2', { hash: 'y' });
  await tokens.put('other:1', { hash: 'z' });
  await store.kv('other').put('acme:1', { hash: 'not a token' });
  assert.equal(await tokens.delete('acme:2'), true);
  assert.equal(await tokens.delete('acme:2'), false);
  await store.close();
  store = await Store.open({ path: dir, hostId: 'a' });
  t.after(() => store.close());
  assert.deepEqual(store.kv('tokens').entries('acme:'), [{ key: 'acme:1', value: { hash: 'x' } }]);
  assert.equal(store.kv('tokens').entries().length, 2);
  assert.throws(() => store.kv('Bad Name'), StoreError);
});

void test('10,000 endpoints registered in bulk commit in one transaction and emit one change event (duration reported as a diagnostic)', async (t) => {
  const clock = new ManualClock();
  const n = await openNode('a', '10.0.0.1', clock);
  t.after(async () => {
    await n.close();
    removeDir(n.dir);
  });
  await withNetwork(n.registry, 'acme', 'big', 200, '10.128.0.0/16');
  const inputs = Array.from({ length: 10_000 }, (_, i) => ({
    network: 'acme/big',
    mac: `02:00:00:01:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`,
    ips: [`10.128.${i >> 8}.${i & 0xff}`],
    port: `p${i}`,
  }));
  await n.registry.settled();
  const changes: number[] = [];
  n.registry.on('change', (c) => changes.push(c.length));
  const t0 = performance.now();
  const res = await n.registry.upsertLocalEndpoints(inputs);
  const ms = performance.now() - t0;
  await n.registry.settled();
  assert.equal(res.filter((r) => r.created).length, 10_000);
  assert.equal(n.registry.stats().endpoints.local, 10_000);
  assert.deepEqual(changes, [10_000], 'one batched change event');
  t.diagnostic(`10,000 endpoints registered and committed in ${ms.toFixed(0)} ms`);
});

void test('a restart with another vtepIp re-announces the host\'s own endpoints with the new VTEP (new dots, so peers get them)', async (t) => {
  const clock = new ManualClock();
  const dir = tempDir();
  t.after(() => removeDir(dir));
  const n1 = await openNode('a', '10.0.0.1', clock, {}, dir);
  await withNetwork(n1.registry);
  await n1.registry.upsertLocalEndpoint({ network: 'acme/web', mac: '02:00:00:00:00:01', ips: ['10.10.10.1'], port: 'p1' });
  const before = n1.registry.versionVector().a!;
  await n1.close();
  const n2 = await openNode('a', '10.0.0.7', clock, {}, dir);
  t.after(() => n2.close());
  await n2.registry.settled();
  assert.equal(n2.registry.endpoint('acme/web', '02:00:00:00:00:01')?.vtep, '10.0.0.7');
  assert.equal(n2.registry.versionVector().a, before + 1);
  const rec = n2.registry.changesSince({ a: before }).records;
  assert.deepEqual(rec.map((r) => [r.kind, r.kind === 'endpoint' ? r.value.vtep : '']), [['endpoint', '10.0.0.7']]);
});
