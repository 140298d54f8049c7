// Fail-stop after a failed commit (docs/mesh-protocol.md, section 13): the write that failed and every
// later one reject with RegistryStoreFailedError, no counter of the failed write reaches a committed,
// announced or peer's vector, and a restart continues after what is durable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CommitBatch, StoreFaults } from '../../src/registry/store.js';
import type { Registry, ReplicateBatch } from '../../src/registry/registry.js';
import { RegistryStoreFailedError } from '../../src/registry/errors.js';
import type { ReplicatedRecord } from '../../src/registry/model.js';
import { ManualClock, openNode, removeDir, tempDir, withNetwork } from '../support/registry-fixtures.js';
import type { TestNode } from '../support/registry-fixtures.js';
import { SimNet } from '../support/mesh-sim.js';
import { mulberry32 } from '../support/prng.js';

/** A disk that can be made to fail: every commit fails while `failing`, or those holding `key`. */
class FlakyDisk implements StoreFaults {
  failing = false;
  failKey: string | undefined;
  beforeCommit(batches: readonly CommitBatch[]): void {
    const hit = this.failKey !== undefined && batches.some((b) => (b.put ?? []).some((r) => r.key.includes(this.failKey!)));
    if (this.failing || hit) throw new Error('ENOSPC: no space left on device');
  }
}

function openFlaky(hostId: string, vtep: string, clock: ManualClock, disk: FlakyDisk, dir = tempDir()): Promise<TestNode> {
  return openNode(hostId, vtep, clock, {}, dir, disk);
}

const ep = (i: number): { network: string; mac: string; ips: string[]; port: string } => ({
  network: 'acme/web',
  mac: `02:00:00:00:00:${i.toString(16).padStart(2, '0')}`,
  ips: [`10.10.10.${i}`],
  port: `p${i}`,
});

/**
 * `p`, marked as handled at once. The test yields a turn (setImmediate) before it awaits the writes
 * it started, and lmdb may run a failing transaction within that turn when its write thread is quick
 * (or the test's thread slow): a rejection with no handler yet is an unhandled rejection, which
 * fails the test on its own. The returned promise still rejects for the assertions that await it.
 */
function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

const ownRecord = (r: Registry, i: number): ReplicatedRecord | undefined =>
  r.changesSince({}).records.find((x) => x.kind === 'endpoint' && x.value.mac === ep(i).mac);

void test('a failed commit stops the registry: that write and later ones reject, the failed counters are never committed or announced', async (t) => {
  const clock = new ManualClock();
  const disk = new FlakyDisk();
  const dir = tempDir();
  t.after(() => removeDir(dir));
  const node = await openFlaky('a', '10.0.0.1', clock, disk, dir);
  const r = node.registry;
  await withNetwork(r);
  await r.upsertLocalEndpoint(ep(1));
  await r.settled();
  const good = r.versionVector().a!;
  const announced: ReplicateBatch[] = [];
  r.on('replicate', (b: ReplicateBatch) => announced.push(b));
  const failures: RegistryStoreFailedError[] = [];
  r.on('failed', (e: RegistryStoreFailedError) => failures.push(e));

  // Two writes in flight when the disk fails: the one whose transaction fails, and one issued a turn
  // later, which lmdb alone would still have committed.
  disk.failKey = ep(2).mac;
  const failed = handled(r.upsertLocalEndpoint(ep(2)));
  // A client's retry while the first attempt is still being written: idempotent, so it only waits for
  // that write, and must not be acknowledged when it fails.
  const retry = handled(r.upsertLocalEndpoint(ep(2)));
  await new Promise((res) => setImmediate(res));
  const queued = handled(r.upsertLocalEndpoint(ep(3)));
  const err = await failed.then(
    () => assert.fail('the write whose commit failed resolved'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof RegistryStoreFailedError, `got ${String(err)}`);
  assert.match(err.message, /ENOSPC: no space left on device/);
  assert.ok(err.message.includes(dir), 'the message names the data directory');
  assert.match(err.message, /free space or fix the disk, then restart the agent/);
  await assert.rejects(queued, RegistryStoreFailedError);
  await assert.rejects(retry, RegistryStoreFailedError);

  // The disk is fine again, but the registry stays failed until a restart.
  disk.failKey = undefined;
  await assert.rejects(r.upsertLocalEndpoint(ep(4)), RegistryStoreFailedError);
  await assert.rejects(r.createTenant({ name: 'other' }), RegistryStoreFailedError);
  await assert.rejects(r.deleteLocalEndpoint('acme/web', ep(1).mac), RegistryStoreFailedError);
  await assert.rejects(r.applyRemote([], 'b', { b: 5 }), RegistryStoreFailedError);
  // A transaction without writes (a peer lost) still runs, and must not carry the failed counters.
  r.markPeerStale('b');
  await r.sweep();
  await r.settled();

  assert.equal(r.versionVector().a, good, 'the committed vector does not cover the failed counters');
  assert.equal(r.stats().versionVector.a, good);
  // No peer gets a snapshot any more: memory holds the failed writes in place of durable versions.
  assert.throws(() => r.changesSince({}), RegistryStoreFailedError);
  assert.deepEqual(announced, [], 'nothing is announced after the failure');
  assert.equal(failures.length, 1);
  assert.deepEqual(
    r.alarms().map((a) => [a.id, a.kind, a.key]),
    [['store-failed', 'store-failed', dir]],
  );
  assert.equal(r.storeFailure(), err);
  // Reads keep answering from memory.
  assert.equal(r.endpoint('acme/web', ep(1).mac)?.port, 'p1');
  assert.equal(r.network('acme', 'web')?.vni, 100);
  await node.close();

  // Restart from the same directory: what is durable is there, nothing of the failed writes, and
  // numbering continues after the durable maximum.
  const again = await openNode('a', '10.0.0.1', clock, {}, dir);
  t.after(() => again.close());
  assert.equal(again.registry.storeFailure(), undefined);
  assert.equal(again.registry.versionVector().a, good);
  assert.ok(ownRecord(again.registry, 1));
  for (const i of [2, 3, 4]) assert.equal(ownRecord(again.registry, i), undefined, `ep ${i} is not durable`);
  await again.registry.upsertLocalEndpoint(ep(5));
  assert.equal(ownRecord(again.registry, 5)?.counter, good + 1);
});

void test('a failed remote batch: a later batch of the same session cannot become durable with a vouch covering it', async (t) => {
  const clock = new ManualClock();
  const disk = new FlakyDisk();
  const dir = tempDir();
  t.after(() => removeDir(dir));
  const b = await openNode('b', '10.0.0.2', clock);
  t.after(async () => {
    await b.close();
    removeDir(b.dir);
  });
  await withNetwork(b.registry);
  for (let i = 1; i <= 4; i++) await b.registry.upsertLocalEndpoint(ep(i));
  const all = b.registry.changesSince({}).records.sort((x, y) => x.counter - y.counter);
  const upTo = (c: number): ReplicatedRecord[] => all.filter((x) => x.counter <= c);
  const last = all.at(-1)!.counter;

  const a = await openFlaky('a', '10.0.0.1', clock, disk, dir);
  // Two UPDATEs of one session, applied back to back: the first one's commit fails, the second
  // vouches for everything up to b's last counter.
  disk.failKey = ep(1).mac;
  const first = handled(a.registry.applyRemote(upTo(last - 1), 'b', { b: last - 1 }));
  await new Promise((res) => setImmediate(res));
  const second = handled(a.registry.applyRemote(all.filter((x) => x.counter === last), 'b', { b: last }));
  await assert.rejects(first, RegistryStoreFailedError);
  await assert.rejects(second, RegistryStoreFailedError);
  assert.equal(a.registry.versionVector().b, undefined);
  await a.close();

  const again = await openNode('a', '10.0.0.1', clock, {}, dir);
  t.after(() => again.close());
  assert.equal(again.registry.versionVector().b, undefined, 'the durable vector covers nothing of b: a resync brings it all');
  const res = await again.registry.applyRemote(b.registry.changesSince(again.registry.versionVector()).records, 'b', b.registry.versionVector());
  assert.equal(res.applied, all.length);
  for (let i = 1; i <= 4; i++) assert.equal(again.registry.endpoint('acme/web', ep(i).mac)?.hostId, 'b');
});

void test('a mesh peer never receives a vector that claims the failed counters', async (t) => {
  const clock = new ManualClock();
  const disk = new FlakyDisk();
  const a = await openFlaky('a', '10.0.0.1', clock, disk);
  const b = await openNode('b', '10.0.0.2', clock);
  t.after(async () => {
    for (const n of [a, b]) {
      await n.close();
      removeDir(n.dir);
    }
  });
  const r = mulberry32(7);
  const net = new SimNet([a, b]);
  await withNetwork(a.registry);
  net.connectAll();
  await net.drain(r);
  await a.registry.upsertLocalEndpoint(ep(1));
  await net.drain(r);
  const good = a.registry.versionVector().a!;
  assert.equal(b.registry.versionVector().a, good);

  disk.failing = true;
  await assert.rejects(a.registry.upsertLocalEndpoint(ep(2)), RegistryStoreFailedError);
  disk.failing = false;
  await assert.rejects(a.registry.upsertLocalEndpoint(ep(3)), RegistryStoreFailedError);
  // b keeps writing; a cannot apply it (its session closes) but keeps sending what is committed.
  await b.registry.upsertLocalEndpoint(ep(9));
  await net.drain(r);
  net.connectAll();
  await net.drain(r);

  assert.equal(b.registry.versionVector().a, good, 'b\'s vector of a stops at a\'s last good commit');
  assert.equal(b.registry.endpoint('acme/web', ep(2).mac), undefined);
  assert.equal(b.registry.endpoint('acme/web', ep(3).mac), undefined);
  assert.equal(b.registry.endpoint('acme/web', ep(1).mac)?.hostId, 'a');
});
