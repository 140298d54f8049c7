// stats() keeps its counts (local, stale, tombstones) as the maps change instead of walking them on
// each call; here they are compared with a recount from the public views after every kind of change:
// local registrations and deletions, remote records, moves, stale and withdrawn peers, tombstone
// collection, full-sync pruning, and a restart from the store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordDot } from '../../src/registry/registry.js';
import { ManualClock, openNode, removeDir, withNetwork } from '../support/registry-fixtures.js';
import type { TestNode } from '../support/registry-fixtures.js';

const mac = (i: number) => `02:00:00:00:00:${i.toString(16).padStart(2, '0')}`;

function check(n: TestNode, what: string): void {
  const s = n.registry.stats();
  const eps = n.registry.snapshot().endpoints;
  const records = n.registry.changesSince({}).records;
  assert.equal(s.endpoints.active, eps.length, `${what}: active`);
  assert.equal(s.endpoints.local, eps.filter((e) => e.hostId === n.hostId).length, `${what}: local`);
  assert.equal(s.endpoints.remote, eps.filter((e) => e.hostId !== n.hostId).length, `${what}: remote`);
  assert.equal(s.endpoints.stale, eps.filter((e) => e.stale).length, `${what}: stale`);
  assert.equal(s.tombstones, records.filter((r) => r.deleted).length, `${what}: tombstones`);
  assert.equal(s.records, records.length, `${what}: records`);
}

async function sync(from: TestNode, to: TestNode): Promise<void> {
  const { records, vv } = from.registry.changesSince(to.registry.versionVector());
  await to.registry.applyRemote(records, from.hostId, vv);
  await from.registry.settled();
  await to.registry.settled();
}

void test('stats() counts agree with a recount through every kind of change', async (t) => {
  const clock = new ManualClock();
  const opts = { tombstoneTtlMs: 60_000, gracefulRestartMs: 120_000 };
  const a = await openNode('a', '10.0.0.1', clock, opts);
  let b = await openNode('b', '10.0.0.2', clock, opts);
  const c = await openNode('c', '10.0.0.3', clock, opts);
  t.after(async () => {
    for (const n of [a, b, c]) {
      await n.close().catch(() => {});
      removeDir(n.dir);
    }
  });
  await withNetwork(a.registry);
  await a.registry.upsertLocalEndpoints(Array.from({ length: 6 }, (_, i) => ({ network: 'acme/web', mac: mac(i + 1), ips: [`10.10.10.${i + 10}`], port: `pa${i}` })));
  check(a, 'a after registrations');
  await sync(a, b);
  await sync(a, c);
  check(b, 'b after sync');
  assert.equal(b.registry.stats().endpoints.remote, 6);
  await b.registry.upsertLocalEndpoint({ network: 'acme/web', mac: mac(1), ips: ['10.10.10.10'], port: 'pb0' });
  await b.registry.upsertLocalEndpoint({ network: 'acme/web', mac: mac(20), ips: ['10.10.10.40'], port: 'pb1' });
  check(b, 'b after a move and a registration');
  assert.equal(b.registry.stats().endpoints.local, 2);
  await sync(b, a);
  check(a, 'a after the move (its own entry withdrawn)');
  assert.ok(a.registry.stats().tombstones >= 1);
  await a.registry.deleteLocalEndpoint('acme/web', mac(2));
  check(a, 'a after a deletion');
  await sync(a, b);
  b.registry.markPeerStale('a');
  await b.registry.settled();
  check(b, 'b with a stale');
  assert.equal(b.registry.stats().endpoints.stale, 4);
  clock.advance(121_000);
  await b.registry.sweep();
  check(b, 'b with a withdrawn');
  assert.equal(b.registry.stats().endpoints.stale, 0);
  await sync(a, b);
  b.registry.peerEndOfRib('a');
  await b.registry.settled();
  check(b, 'b with a back');
  await a.registry.sweep();
  check(a, 'a after tombstone collection');
  // c missed the deletion, whose tombstone a collected: full sync and pruning.
  const delta = a.registry.changesSince(c.registry.versionVector());
  assert.equal(delta.full, true);
  await c.registry.applyRemote(delta.records, 'a');
  await c.registry.pruneAfterFullSync(new Map(delta.records.map((r) => [r.key, recordDot(r)])), delta.vv, delta.gcFloor);
  await c.registry.settled();
  check(c, 'c after pruning');
  const before = b.registry.stats();
  await b.close();
  b = await openNode('b', '10.0.0.2', clock, opts, b.dir);
  check(b, 'b after a restart');
  assert.equal(b.registry.stats().tombstones, before.tombstones);
});

void test('local ports: held while the endpoint is active here, free after a deletion, a move away or with a new port; held again after a restart', async (t) => {
  const clock = new ManualClock();
  const a = await openNode('a', '10.0.0.1', clock);
  let b = await openNode('b', '10.0.0.2', clock);
  t.after(async () => {
    for (const n of [a, b]) {
      await n.close().catch(() => {});
      removeDir(n.dir);
    }
  });
  await withNetwork(a.registry);
  const reg = (n: TestNode, i: number, port: string) => n.registry.upsertLocalEndpoint({ network: 'acme/web', mac: mac(i), ips: [`10.10.10.${i + 10}`], port });
  await a.registry.upsertLocalEndpoints([1, 2, 3].map((i) => ({ network: 'acme/web', mac: mac(i), ips: [`10.10.10.${i + 10}`], port: `p${i}` })));
  await assert.rejects(reg(a, 9, 'p2'), (e: Error) => e.name === 'ConflictError' && /port p2 .* in use by endpoint acme\/web\/02:00:00:00:00:02/.test(e.message));
  await assert.rejects(a.registry.upsertLocalEndpoints([{ network: 'acme/web', mac: mac(8), ips: ['10.10.10.80'], port: 'p8' }, { network: 'acme/web', mac: mac(9), ips: ['10.10.10.90'], port: 'p8' }]), /port p8/, 'claimed earlier in the same batch');
  await a.registry.deleteLocalEndpoint('acme/web', mac(2));
  await reg(a, 9, 'p2');
  await reg(a, 3, 'p3b');
  await reg(a, 10, 'p3');
  // mac(1) moves to b: a withdraws its own announcement and its port p1 is free.
  await sync(a, b);
  await reg(b, 1, 'q1');
  await sync(b, a);
  assert.equal(a.registry.endpoint('acme/web', mac(1))?.hostId, 'b');
  await reg(a, 11, 'p1');
  await b.close();
  b = await openNode('b', '10.0.0.2', clock, {}, b.dir);
  await assert.rejects(reg(b, 12, 'q1'), /port q1/);
  await reg(b, 12, 'q12');
});
