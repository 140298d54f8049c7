import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HybridClock, compareHlc } from '../../src/registry/hlc.js';
import { ClockSkewError } from '../../src/registry/errors.js';
import { ManualClock, openNode, removeDir } from '../support/registry-fixtures.js';

void test('timestamps strictly increase even when the wall clock stands still or goes back', () => {
  const clock = new ManualClock(1000);
  const h = new HybridClock('a', clock);
  const t1 = h.now();
  const t2 = h.now();
  clock.t = 500;
  const t3 = h.now();
  assert.deepEqual(t1, { wall: 1000, logical: 0, node: 'a' });
  assert.deepEqual(t2, { wall: 1000, logical: 1, node: 'a' });
  assert.deepEqual(t3, { wall: 1000, logical: 2, node: 'a' });
  clock.t = 2000;
  assert.deepEqual(h.now(), { wall: 2000, logical: 0, node: 'a' });
});

void test('observing a remote timestamp moves later local events past it', () => {
  const clock = new ManualClock(1000);
  const h = new HybridClock('a', clock);
  h.observe({ wall: 5000, logical: 7, node: 'b' });
  const t = h.now();
  assert.equal(compareHlc(t, { wall: 5000, logical: 7, node: 'b' }), 1);
  assert.equal(t.wall, 5000);
  assert.equal(t.logical, 9);
});

void test('restarts continue after the persisted last timestamp', () => {
  const clock = new ManualClock(10);
  const h = new HybridClock('a', clock, { wall: 99, logical: 3, node: 'a' });
  assert.deepEqual(h.now(), { wall: 99, logical: 4, node: 'a' });
});

void test('compare is a total order with the node id as the deterministic tie-break', () => {
  const a = { wall: 1, logical: 1, node: 'a' };
  const b = { wall: 1, logical: 1, node: 'b' };
  assert.equal(compareHlc(a, b), -1);
  assert.equal(compareHlc(b, a), 1);
  assert.equal(compareHlc(a, { ...a }), 0);
  assert.equal(compareHlc({ wall: 2, logical: 0, node: 'a' }, { wall: 1, logical: 9, node: 'z' }), 1);
  assert.equal(compareHlc({ wall: 1, logical: 2, node: 'a' }, { wall: 1, logical: 1, node: 'z' }), 1);
});

void test('a remote record more than maxClockSkewMs ahead is refused with ClockSkewError and does not move the clock', async (t) => {
  const clock = new ManualClock();
  const ahead = new ManualClock(clock.t + 3600_000);
  const a = await openNode('a', '10.0.0.1', clock, { maxClockSkewMs: 60_000 });
  const b = await openNode('b', '10.0.0.2', ahead);
  const c = await openNode('c', '10.0.0.3', new ManualClock(clock.t + 30_000));
  t.after(async () => {
    for (const n of [a, b, c]) {
      await n.close();
      removeDir(n.dir);
    }
  });
  await b.registry.createTenant({ name: 'future' });
  await c.registry.createTenant({ name: 'soon' });
  const fromB = b.registry.changesSince({}).records;
  await assert.rejects(
    a.registry.applyRemote(fromB, 'b', b.registry.versionVector()),
    (e: unknown) => e instanceof ClockSkewError && e.aheadMs === 3600_000 && e.origin === 'b' && /registry\.maxClockSkewMs \(60000 ms\)/.test(e.message),
  );
  assert.equal(a.registry.tenant('future'), undefined, 'nothing of the refused batch applied');
  assert.equal(a.registry.versionVector().b, undefined, 'its vouched vector not merged');
  assert.equal(a.registry.stats().clockSkewRejected, 1);
  // Within the bound: adopted, and the clock moves past it as the HLC receive rule says.
  await a.registry.applyRemote(c.registry.changesSince({}).records, 'c', c.registry.versionVector());
  assert.ok(a.registry.tenant('soon'));
  await a.registry.createTenant({ name: 'local' });
  const own = a.registry.changesSince({ c: 1 }).records.find((r) => r.key === 't/local')!;
  assert.equal(own.hlc.wall, clock.t + 30_000, 'clock advanced to the accepted remote time only');
});
