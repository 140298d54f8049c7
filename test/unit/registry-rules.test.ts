import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allocateVni, recordDot, seqNewer } from '../../src/registry/registry.js';
import type { RegistryChange } from '../../src/registry/registry.js';
import { ConflictError, FrozenError, NotFoundError, QuotaError, ValidationError } from '../../src/registry/errors.js';
import type { EndpointRecord } from '../../src/registry/model.js';
import { ManualClock, openNode, removeDir, withNetwork } from '../support/registry-fixtures.js';
import type { TestNode } from '../support/registry-fixtures.js';
import { FakeTimers } from '../support/mesh-sim.js';

const M1 = '02:00:00:00:00:01';

async function nodes(t: { after(fn: () => Promise<void>): void }, clock: ManualClock, specs: Array<[string, string]>, extra = {}): Promise<TestNode[]> {
  const out: TestNode[] = [];
  for (const [h, v] of specs) {
    const n = await openNode(h, v, clock, extra);
    t.after(async () => {
      await n.close();
      removeDir(n.dir);
    });
    out.push(n);
  }
  return out;
}

/** One-way anti-entropy: `to` gets what it misses from `from`, as in an initial sync. */
async function sync(from: TestNode, to: TestNode): Promise<void> {
  const { records, vv } = from.registry.changesSince(to.registry.versionVector());
  await to.registry.applyRemote(records, from.hostId, vv);
  await from.registry.settled();
  await to.registry.settled();
}

async function syncAll(ns: TestNode[]): Promise<void> {
  for (let round = 0; round < 2; round++) for (const a of ns) for (const b of ns) if (a !== b) await sync(a, b);
}

function view(n: TestNode): string {
  const s = n.registry.snapshot();
  return JSON.stringify({
    networks: s.networks.map((x) => `${x.tenant}/${x.name}:${x.vni}`).sort(),
    endpoints: s.endpoints.map((e) => `${e.network}/${e.mac}@${e.hostId}#${e.seq}${e.stale ? ' stale' : ''}`).sort(),
  });
}

void test('sequence numbers compare wrap-around safe (RFC 1982 serial arithmetic)', () => {
  assert.equal(seqNewer(5, 3), true);
  assert.equal(seqNewer(3, 5), false);
  assert.equal(seqNewer(0, 0xffffffff), true, '0 follows 2^32-1');
  assert.equal(seqNewer(0xffffffff, 0), false);
  assert.equal(seqNewer(10, 0xfffffff0), true);
  assert.equal(seqNewer(7, 7), false);
});

void test('allocateVni is deterministic per name and skips used VNIs', () => {
  const a = allocateVni(new Set(), 'acme/web');
  assert.equal(allocateVni(new Set(), 'acme/web'), a);
  assert.notEqual(allocateVni(new Set(), 'acme/db'), a);
  const b = allocateVni(new Set([a]), 'acme/web');
  assert.notEqual(b, a);
  assert.ok(b >= 1 && b <= 16777215);
});

void test('tenants and networks: CRUD with typed errors', async (t) => {
  const [a] = await nodes(t, new ManualClock(), [['a', '10.0.0.1']]);
  const r = a!.registry;
  await r.createTenant({ name: 'acme' });
  await assert.rejects(r.createTenant({ name: 'acme' }), ConflictError);
  await assert.rejects(r.createTenant({ name: 'Bad_Name' }), (e: unknown) => e instanceof ValidationError && e.issues[0]!.path === 'name');
  await assert.rejects(r.createNetwork({ tenant: 'nope', name: 'web', cidrs: ['10.0.0.0/24'] }), NotFoundError);
  const web = await r.createNetwork({ tenant: 'acme', name: 'web', cidrs: ['10.10.10.0/24'], gateway: '10.10.10.1' });
  assert.ok(web.vni >= 1);
  await assert.rejects(r.createNetwork({ tenant: 'acme', name: 'db', vni: web.vni, cidrs: ['10.20.0.0/24'] }), (e: unknown) => e instanceof ConflictError && /VNI/.test(e.message));
  await assert.rejects(r.createNetwork({ tenant: 'acme', name: 'gw', cidrs: ['10.30.0.0/24'], gateway: '10.31.0.1' }), ValidationError);
  await assert.rejects(r.deleteTenant('acme'), ConflictError);
  await r.upsertLocalEndpoint({ network: 'acme/web', mac: M1, ips: ['10.10.10.5'], port: 'p1' });
  await assert.rejects(r.deleteNetwork('acme', 'web'), ConflictError);
  await r.deleteLocalEndpoint('acme/web', M1);
  await r.deleteNetwork('acme', 'web');
  await r.deleteTenant('acme');
  assert.deepEqual(r.tenants(), []);
  await r.createTenant({ name: 'small', quota: { networks: 1, endpoints: 1 } });
  await r.createNetwork({ tenant: 'small', name: 'n1', cidrs: ['10.1.0.0/24'] });
  await assert.rejects(r.createNetwork({ tenant: 'small', name: 'n2', cidrs: ['10.2.0.0/24'] }), QuotaError);
  await r.upsertLocalEndpoint({ network: 'small/n1', mac: M1, ips: ['10.1.0.2'], port: 'p1' });
  await assert.rejects(r.upsertLocalEndpoint({ network: 'small/n1', mac: '02:00:00:00:00:02', ips: ['10.1.0.3'], port: 'p2' }), QuotaError);
});

void test('endpoint registration: idempotent, IP conflicts name the holder, bad input is typed', async (t) => {
  const [a] = await nodes(t, new ManualClock(), [['a', '10.0.0.1']]);
  const r = a!.registry;
  await withNetwork(r);
  const first = await r.upsertLocalEndpoint({ network: 'acme/web', mac: '02:00:00:00:00:0A', ips: ['10.10.10.5'], port: 'p1' });
  assert.equal(first.created, true);
  assert.equal(first.endpoint.mac, '02:00:00:00:00:0a');
  assert.equal(first.endpoint.hostId, 'a');
  assert.equal(first.endpoint.vtep, '10.0.0.1');
  const again = await r.upsertLocalEndpoint({ network: 'acme/web', mac: '02:00:00:00:00:0a', ips: ['10.10.10.5'], port: 'p1' });
  assert.equal(again.created, false);
  assert.equal(r.versionVector().a, first.endpoint && r.versionVector().a, 'no new write for an identical PUT');
  await assert.rejects(
    r.upsertLocalEndpoint({ network: 'acme/web', mac: '02:00:00:00:00:0b', ips: ['10.10.10.5'], port: 'p2' }),
    (e: unknown) => e instanceof ConflictError && e.holder?.mac === '02:00:00:00:00:0a' && /held by MAC 02:00:00:00:00:0a on host a/.test(e.message),
  );
  await assert.rejects(r.upsertLocalEndpoint({ network: 'acme/nope', mac: M1, ips: ['10.10.10.9'], port: 'p3' }), NotFoundError);
  await assert.rejects(r.upsertLocalEndpoint({ network: 'acme/web', mac: M1, ips: ['192.168.1.1'], port: 'p3' }), (e: unknown) => e instanceof ValidationError && e.issues[0]!.path === 'ips.0');
  await assert.rejects(r.upsertLocalEndpoint({ network: 'acme/web', mac: '01:00:5e:00:00:01', ips: ['10.10.10.9'], port: 'p3' }), ValidationError);
  await assert.rejects(r.deleteLocalEndpoint('acme/web', M1), NotFoundError);
});

void test('MAC mobility: a move to another host gets a higher sequence number and the old host withdraws', async (t) => {
  const clock = new ManualClock();
  const [a, b, c] = await nodes(t, clock, [['a', '10.0.0.1'], ['b', '10.0.0.2'], ['c', '10.0.0.3']]);
  await withNetwork(a!.registry);
  await syncAll([a!, b!, c!]);
  await a!.registry.upsertLocalEndpoint({ network: 'acme/web', mac: M1, ips: ['10.10.10.5'], port: 'pa' });
  await syncAll([a!, b!, c!]);
  const changesOnA: RegistryChange[] = [];
  a!.registry.on('change', (ch) => changesOnA.push(...ch));
  clock.advance(1000);
  const moved = await b!.registry.upsertLocalEndpoint({ network: 'acme/web', mac: M1, ips: ['10.10.10.5'], port: 'pb' });
  assert.equal(moved.endpoint.seq, 1);
  await syncAll([a!, b!, c!]);
  for (const n of [a!, b!, c!]) assert.equal(n.registry.endpoint('acme/web', M1)?.hostId, 'b', `winner on ${n.hostId}`);
  const ep = changesOnA.find((ch) => ch.kind === 'endpoint');
  assert.equal(ep?.kind === 'endpoint' && ep.before?.hostId, 'a');
  assert.equal(ep?.kind === 'endpoint' && ep.after?.hostId, 'b');
  assert.deepEqual(a!.registry.endpoints({ local: true }), [], 'a no longer serves it locally');
  const aEntries = a!.store.loadRecords().filter((r): r is EndpointRecord => r.kind === 'endpoint' && r.value.hostId === 'a');
  assert.equal(aEntries.length, 1);
  assert.equal(aEntries[0]!.deleted, true, 'a withdrew its own announcement (tombstone)');
  assert.equal(view(a!), view(c!));
});

void test('MAC mobility: equal sequence numbers -> the lower VTEP IP wins everywhere', async (t) => {
  const clock = new ManualClock();
  const [a, b] = await nodes(t, clock, [['a', '10.0.0.20'], ['b', '10.0.0.3']]);
  await withNetwork(a!.registry);
  await syncAll([a!, b!]);
  // Concurrent registrations (a partition): both announce seq 0.
  await a!.registry.upsertLocalEndpoint({ network: 'acme/web', mac: M1, ips: ['10.10.10.5'], port: 'pa' });
  await b!.registry.upsertLocalEndpoint({ network: 'acme/web', mac: M1, ips: ['10.10.10.5'], port: 'pb' });
  await syncAll([a!, b!]);
  // 10.0.0.3 < 10.0.0.20 numerically (but not as strings).
  assert.equal(a!.registry.endpoint('acme/web', M1)?.hostId, 'b');
  assert.equal(b!.registry.endpoint('acme/web', M1)?.hostId, 'b');
  assert.equal(view(a!), view(b!));
});

void test('MAC mobility: a move past sequence number 2^32-1 wraps to 0 and still wins', async (t) => {
  const clock = new ManualClock();
  const [a, b] = await nodes(t, clock, [['a', '10.0.0.1'], ['b', '10.0.0.2']]);
  await withNetwork(a!.registry);
  await syncAll([a!, b!]);
  const now = new Date(clock.now()).toISOString();
  const old: EndpointRecord = {
    kind: 'endpoint',
    key: `e/acme/web/${M1}/a`,
    origin: 'a',
    counter: 99,
    hlc: { wall: clock.now(), logical: 0, node: 'a' },
    value: { network: 'acme/web', mac: M1, ips: ['10.10.10.5'], hostId: 'a', vtep: '10.0.0.1', port: 'pa', seq: 0xffffffff, createdAt: now, updatedAt: now },
  };
  await b!.registry.applyRemote([old], 'a');
  clock.advance(10);
  const moved = await b!.registry.upsertLocalEndpoint({ network: 'acme/web', mac: M1, ips: ['10.10.10.5'], port: 'pb' });
  assert.equal(moved.endpoint.seq, 0);
  assert.equal(b!.registry.endpoint('acme/web', M1)?.hostId, 'b');
});

void test('duplicate detection: more than 5 moves in 180 s freeze the MAC and raise an alarm until cleared', async (t) => {
  const clock = new ManualClock();
  const [a, b] = await nodes(t, clock, [['a', '10.0.0.1'], ['b', '10.0.0.2']]);
  await withNetwork(a!.registry);
  await syncAll([a!, b!]);
  const alarms: string[] = [];
  b!.registry.on('alarm', (al) => alarms.push(al.id));
  const input = { network: 'acme/web', mac: M1, ips: ['10.10.10.5'] };
  await a!.registry.upsertLocalEndpoint({ ...input, port: 'pa' });
  await syncAll([a!, b!]);
  let frozenAt = -1;
  for (let i = 0; i < 8; i++) {
    clock.advance(10_000);
    const [n, port] = i % 2 === 0 ? [b!, 'pb'] : [a!, 'pa'];
    try {
      await n.registry.upsertLocalEndpoint({ ...input, port });
    } catch (e) {
      assert.ok(e instanceof FrozenError, String(e));
      frozenAt = i;
      break;
    }
    await syncAll([a!, b!]);
  }
  assert.equal(frozenAt, 6, 'the 7th move attempt (after 6 moves) is refused');
  const al = b!.registry.alarms().find((x) => x.kind === 'duplicate-mac');
  assert.equal(al?.id, `duplicate-mac:acme/web/${M1}`);
  assert.equal(al.raisedBy, 'b', 'the alarm names the agent that detected the duplicate');
  assert.deepEqual(alarms, [al.id]);
  assert.equal(b!.registry.stats().alarms, 1);
  const pinned = b!.registry.endpoint('acme/web', M1)?.hostId;
  await b!.registry.clearAlarm(al.id);
  await a!.registry.clearAlarm(al.id);
  assert.equal(b!.registry.alarms().length, 0);
  await assert.rejects(b!.registry.clearAlarm(al.id), NotFoundError);
  const other = pinned === 'a' ? b! : a!;
  await other.registry.upsertLocalEndpoint({ ...input, port: 'px' });
  await syncAll([a!, b!]);
  assert.equal(a!.registry.endpoint('acme/web', M1)?.hostId, other.hostId, 'moves are processed again after clearing');
});

void test('duplicate detection: slow moves (outside the window) never freeze', async (t) => {
  const clock = new ManualClock();
  const [a, b] = await nodes(t, clock, [['a', '10.0.0.1'], ['b', '10.0.0.2']]);
  await withNetwork(a!.registry);
  await syncAll([a!, b!]);
  for (let i = 0; i < 10; i++) {
    clock.advance(60_000);
    await (i % 2 ? a! : b!).registry.upsertLocalEndpoint({ network: 'acme/web', mac: M1, ips: ['10.10.10.5'], port: 'p' });
    await syncAll([a!, b!]);
  }
  assert.equal(a!.registry.alarms().length, 0);
  assert.equal(a!.registry.endpoint('acme/web', M1)?.hostId, 'a');
  assert.equal(a!.registry.endpoint('acme/web', M1)?.seq, 9, 'the first registration has seq 0, each of the 9 moves adds one');
});

void test('two networks claiming one VNI: the older claim wins on every node and the other is reported', async (t) => {
  const clock = new ManualClock();
  const [a, b, c] = await nodes(t, clock, [['a', '10.0.0.1'], ['b', '10.0.0.2'], ['c', '10.0.0.3']]);
  await a!.registry.createTenant({ name: 'acme' });
  await syncAll([a!, b!, c!]);
  await b!.registry.createNetwork({ tenant: 'acme', name: 'blue', vni: 7, cidrs: ['10.1.0.0/24'] });
  clock.advance(5);
  await a!.registry.createNetwork({ tenant: 'acme', name: 'red', vni: 7, cidrs: ['10.2.0.0/24'] });
  await syncAll([a!, b!, c!]);
  for (const n of [a!, b!, c!]) {
    assert.deepEqual(n.registry.snapshot().networks.map((x) => x.name), ['blue'], `on ${n.hostId}`);
    assert.deepEqual(n.registry.alarms().map((x) => x.id), ['vni-conflict:acme/red']);
    assert.equal(n.registry.network('acme', 'red')?.vniConflictWith, 'acme/blue');
  }
  await assert.rejects(a!.registry.upsertLocalEndpoint({ network: 'acme/red', mac: M1, ips: ['10.2.0.5'], port: 'p' }), NotFoundError);
  await a!.registry.deleteNetwork('acme', 'red');
  await syncAll([a!, b!, c!]);
  assert.equal(c!.registry.alarms().length, 0);
});

void test('tenants: concurrent updates converge to the same last writer (HLC, node id tie-break)', async (t) => {
  const clock = new ManualClock();
  const [a, b] = await nodes(t, clock, [['a', '10.0.0.1'], ['b', '10.0.0.2']]);
  await a!.registry.createTenant({ name: 'acme' });
  await syncAll([a!, b!]);
  // Same wall time on both: the tie-break on node id decides (b > a).
  await a!.registry.updateTenant('acme', { displayName: 'from a' });
  await b!.registry.updateTenant('acme', { displayName: 'from b' });
  await syncAll([a!, b!]);
  assert.equal(a!.registry.tenant('acme')?.displayName, 'from b');
  assert.equal(b!.registry.tenant('acme')?.displayName, 'from b');
});

void test('tombstones: a deletion is never undone by a late or duplicated old record, even after collection', async (t) => {
  const clock = new ManualClock();
  const [a, b, c] = await nodes(t, clock, [['a', '10.0.0.1'], ['b', '10.0.0.2'], ['c', '10.0.0.3']], { tombstoneTtlMs: 60_000 });
  await withNetwork(a!.registry);
  await a!.registry.upsertLocalEndpoint({ network: 'acme/web', mac: M1, ips: ['10.10.10.5'], port: 'pa' });
  await syncAll([a!, b!, c!]);
  const live = a!.store.getRecord(`e/acme/web/${M1}/a`)!;
  clock.advance(1000);
  await a!.registry.deleteLocalEndpoint('acme/web', M1);
  await sync(a!, b!);
  assert.equal(b!.registry.endpoint('acme/web', M1), undefined);
  await b!.registry.applyRemote([live], 'c');
  assert.equal(b!.registry.endpoint('acme/web', M1), undefined, 'late copy ignored (tombstone)');
  // Past the tombstone lifetime the tombstone is collected; the vector still refuses the old copy.
  clock.advance(120_000);
  await a!.registry.sweep();
  await b!.registry.sweep();
  assert.equal(b!.registry.stats().tombstones, 0);
  await b!.registry.applyRemote([live], 'c');
  assert.equal(b!.registry.endpoint('acme/web', M1), undefined, 'old copy ignored after collection');
  // c was away during the deletion and still holds the live entry; b can no longer send the
  // tombstone, so it sends everything and c prunes what b has seen but no longer holds.
  const delta = b!.registry.changesSince(c!.registry.versionVector());
  assert.equal(delta.full, true);
  await c!.registry.applyRemote(delta.records, 'b');
  assert.equal(await c!.registry.pruneAfterFullSync(new Map(delta.records.map((r) => [r.key, recordDot(r)])), delta.vv, delta.gcFloor), 1);
  assert.equal(c!.registry.endpoint('acme/web', M1), undefined);
  assert.equal(view(b!), view(c!));
  // c now writes the deletion it could not receive: a tombstone with its own dot and the deleted
  // version's HLC, which removes that version wherever it still lives (and only that version).
  const synthetic = c!.store.getRecord(`e/acme/web/${M1}/a`)!;
  assert.equal(synthetic.deleted, true);
  assert.equal(synthetic.origin, 'c');
  assert.deepEqual(synthetic.hlc, live.hlc);
  const [d] = await nodes(t, clock, [['d', '10.0.0.4']]);
  const setup = a!.registry.changesSince({});
  await d!.registry.applyRemote([...setup.records.filter((r) => r.kind !== 'endpoint'), live], 'x');
  assert.equal(d!.registry.endpoint('acme/web', M1)?.hostId, 'a');
  await d!.registry.applyRemote([synthetic], 'c');
  assert.equal(d!.registry.endpoint('acme/web', M1), undefined);
});

void test('graceful restart: a lost peer\'s endpoints are stale, withdrawn after the window, back after End-of-RIB', async (t) => {
  const clock = new ManualClock();
  const [a, b] = await nodes(t, clock, [['a', '10.0.0.1'], ['b', '10.0.0.2']], { gracefulRestartMs: 120_000 });
  await withNetwork(a!.registry);
  await a!.registry.upsertLocalEndpoint({ network: 'acme/web', mac: M1, ips: ['10.10.10.5'], port: 'pa' });
  await syncAll([a!, b!]);
  b!.registry.markPeerStale('a');
  await b!.registry.settled();
  assert.equal(b!.registry.endpoint('acme/web', M1)?.stale, true);
  assert.equal(b!.registry.hostState('a'), 'stale');
  clock.advance(119_000);
  await b!.registry.sweep();
  assert.equal(b!.registry.snapshot().endpoints.length, 1, 'still forwarded inside the window');
  clock.advance(2_000);
  await b!.registry.sweep();
  assert.equal(b!.registry.snapshot().endpoints.length, 0, 'withdrawn after the window');
  assert.deepEqual(b!.registry.stats().downHosts, ['a']);
  await sync(a!, b!);
  b!.registry.peerEndOfRib('a');
  await b!.registry.settled();
  assert.equal(b!.registry.endpoint('acme/web', M1)?.stale, false);
  assert.equal(b!.registry.hostState('a'), 'up');
});

void test('graceful restart: each lost peer is withdrawn on its own schedule by the registry\'s timer', async (t) => {
  const clock = new ManualClock();
  const timers = new FakeTimers();
  const tick = (ms: number): void => {
    clock.advance(ms);
    timers.advance(ms);
  };
  const [a, b, c] = await nodes(t, clock, [['a', '10.0.0.1'], ['b', '10.0.0.2'], ['c', '10.0.0.3']], { gracefulRestartMs: 120_000, timers });
  await withNetwork(a!.registry);
  await syncAll([a!, b!, c!]);
  await a!.registry.upsertLocalEndpoint({ network: 'acme/web', mac: M1, ips: ['10.10.10.1'], port: 'p' });
  await c!.registry.upsertLocalEndpoint({ network: 'acme/web', mac: '02:00:00:00:00:02', ips: ['10.10.10.2'], port: 'p' });
  await syncAll([a!, b!, c!]);
  b!.registry.markPeerStale('a');
  tick(60_000);
  b!.registry.markPeerStale('c');
  tick(60_100);
  await b!.registry.settled();
  assert.equal(b!.registry.hostState('a'), 'down', 'a withdrawn 120 s after it was lost, not 120 s after c');
  assert.equal(b!.registry.hostState('c'), 'stale');
  tick(60_000);
  await b!.registry.settled();
  assert.equal(b!.registry.hostState('c'), 'down');
  assert.equal(b!.registry.snapshot().endpoints.length, 0);
});

void test('own records: a collected own deletion is not resurrected; a lost store adopts its records and never reuses a counter', async (t) => {
  const clock = new ManualClock();
  const [a, b] = await nodes(t, clock, [['a', '10.0.0.1'], ['b', '10.0.0.2']], { tombstoneTtlMs: 1000 });
  await withNetwork(a!.registry);
  await a!.registry.upsertLocalEndpoint({ network: 'acme/web', mac: M1, ips: ['10.10.10.1'], port: 'p1' });
  const old = a!.store.getRecord(`e/acme/web/${M1}/a`)!;
  await a!.registry.deleteLocalEndpoint('acme/web', M1);
  clock.advance(5000);
  await a!.registry.sweep();
  assert.equal(a!.store.getRecord(`e/acme/web/${M1}/a`), undefined, 'tombstone collected');
  await a!.registry.applyRemote([old], 'b');
  assert.equal(a!.registry.endpoint('acme/web', M1), undefined, 'our own old announcement stays deleted');

  await a!.registry.upsertLocalEndpoint({ network: 'acme/web', mac: '02:00:00:00:00:02', ips: ['10.10.10.2'], port: 'p2' });
  await syncAll([a!, b!]);
  const counter = a!.registry.versionVector().a!;
  // a loses its disk: a fresh store under the same host id resynchronises from b.
  const fresh = await openNode('a', '10.0.0.1', clock);
  t.after(async () => {
    await fresh.close();
    removeDir(fresh.dir);
  });
  await sync(b!, fresh);
  assert.equal(fresh.registry.endpoints({ local: true }).length, 1, 'its own endpoint came back from the peer');
  assert.equal(fresh.registry.versionVector().a, counter);
  await fresh.registry.upsertLocalEndpoint({ network: 'acme/web', mac: '02:00:00:00:00:03', ips: ['10.10.10.3'], port: 'p3' });
  assert.equal(fresh.registry.versionVector().a, counter + 1, 'numbering continues after the adopted counter');
});

void test('a bulk registration with one invalid entry writes nothing and consumes no counter', async (t) => {
  const [a] = await nodes(t, new ManualClock(), [['a', '10.0.0.1']]);
  await withNetwork(a!.registry);
  const before = a!.registry.versionVector().a;
  await assert.rejects(
    a!.registry.upsertLocalEndpoints([
      { network: 'acme/web', mac: M1, ips: ['10.10.10.1'], port: 'p1' },
      { network: 'acme/web', mac: '02:00:00:00:00:02', ips: ['172.16.0.1'], port: 'p2' },
    ]),
    (e: unknown) => e instanceof ValidationError && /endpoint #1/.test(e.message),
  );
  assert.equal(a!.registry.endpoints().length, 0);
  const next = await a!.registry.upsertLocalEndpoint({ network: 'acme/web', mac: M1, ips: ['10.10.10.1'], port: 'p1' });
  assert.equal(next.created, true);
  assert.equal(a!.registry.versionVector().a, before! + 1);
});

void test('tombstone collection: only endpoint tombstones, and only once the version vector covers them', async (t) => {
  const clock = new ManualClock();
  const [a, b] = await nodes(t, clock, [['a', '10.0.0.1'], ['b', '10.0.0.2']], { tombstoneTtlMs: 1000 });
  await withNetwork(a!.registry);
  await a!.registry.createNetwork({ tenant: 'acme', name: 'tmp', vni: 200, cidrs: ['10.20.0.0/24'] });
  await a!.registry.upsertLocalEndpoint({ network: 'acme/web', mac: M1, ips: ['10.10.10.1'], port: 'p1' });
  await syncAll([a!, b!]);
  const live = a!.store.getRecord(`e/acme/web/${M1}/a`)!;
  await a!.registry.deleteLocalEndpoint('acme/web', M1);
  await a!.registry.deleteNetwork('acme', 'tmp');
  // b gets the tombstones as in a sync that is cut before END_OF_RIB: records, no vouched vector.
  const delta = a!.registry.changesSince(b!.registry.versionVector());
  await b!.registry.applyRemote(delta.records, 'a');
  clock.advance(5000);
  await b!.registry.sweep();
  assert.equal(b!.store.getRecord(`e/acme/web/${M1}/a`)?.deleted, true, 'not covered by the vector yet: kept');
  await b!.registry.applyRemote([], 'a', delta.vv);
  await b!.registry.sweep();
  assert.equal(b!.store.getRecord(`e/acme/web/${M1}/a`), undefined, 'covered: collected');
  assert.equal(b!.store.getRecord('n/acme/tmp')?.deleted, true, 'network tombstones are kept');
  await b!.registry.applyRemote([live], 'x');
  assert.equal(b!.registry.endpoint('acme/web', M1), undefined, 'and the collected deletion stays a deletion');
});
