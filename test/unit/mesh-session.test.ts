// The session state machine over a scripted transport with fake timers: version check, hold timer,
// keepalives, framing under maxPayload, back-pressure and queue overflow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PeerSession, serialisedCached } from '../../src/mesh/session.js';
import type { SessionHooks, Transport } from '../../src/mesh/session.js';
import type { ProtocolError } from '../../src/mesh/protocol.js';
import { parseMessage } from '../../src/mesh/protocol.js';
import { ManualClock, openNode, removeDir, withNetwork } from '../support/registry-fixtures.js';
import type { TestNode } from '../support/registry-fixtures.js';
import { FakeTimers } from '../support/mesh-sim.js';
import type { EndpointInput } from '../../src/registry/registry.js';
import type { ReplicatedRecord } from '../../src/registry/model.js';
import { AgentConfig } from '../../src/config/schema.js';

interface Harness {
  node: TestNode;
  session: PeerSession;
  sent: string[];
  closes: Array<{ code: number; reason: string }>;
  ended: string[];
  timers: FakeTimers;
  buffered: { n: number };
  callbacks: Array<() => void>;
  flow: string[];
}

async function harness(
  t: { after(fn: () => Promise<void>): void },
  opts: { maxPayload?: number; asyncSend?: boolean; maxQueuedBytes?: number; pausable?: boolean } = {},
): Promise<Harness> {
  const node = await openNode('a', '10.0.0.1', new ManualClock());
  t.after(async () => {
    await node.close();
    removeDir(node.dir);
  });
  const h = { node, sent: [] as string[], closes: [] as Array<{ code: number; reason: string }>, ended: [] as string[], timers: new FakeTimers(), buffered: { n: 0 }, callbacks: [] as Array<() => void>, flow: [] as string[] } as Harness;
  const transport: Transport = {
    send: (text, done) => {
      h.sent.push(text);
      if (opts.asyncSend) h.callbacks.push(() => done());
      else done();
    },
    bufferedAmount: () => h.buffered.n,
    close: (code, reason) => h.closes.push({ code, reason }),
    pause: () => h.flow.push('pause'),
    resume: () => h.flow.push('resume'),
  };
  const hooks: SessionHooks = { onOpen: () => true, onSynced: () => {}, onPeers: () => {}, onClose: (_s, code) => h.ended.push(code) };
  h.session = new PeerSession({
    registry: node.registry,
    hostId: 'a',
    reflector: false,
    transport,
    direction: 'inbound',
    certNames: ['b'],
    authorize: () => undefined,
    // As the mesh does for a reflector session: relayed records are checked against its PEERS.
    vtepOf: (host) => h.session.peersVteps[host],
    keepaliveMs: 3000,
    holdMs: 9000,
    maxPayload: opts.maxPayload ?? 1 << 20,
    timers: h.timers,
    log: { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} } as never,
    hooks,
    ...(opts.maxQueuedBytes !== undefined ? { maxQueuedBytes: opts.maxQueuedBytes } : {}),
  });
  return h;
}

const open = (over: Record<string, unknown> = {}): string => JSON.stringify({ type: 'open', version: 2, hostId: 'b', reflector: false, holdMs: 6000, vv: {}, vtep: '10.0.0.2', ...over });
const types = (h: Harness): string[] => h.sent.map((s) => (JSON.parse(s) as { type: string }).type);
const tick = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
};

/** The session past its initial sync both ways, on a registry holding network acme/web (10.64.0.0/16). */
async function established(h: Harness): Promise<void> {
  await withNetwork(h.node.registry, 'acme', 'web', 100, '10.64.0.0/16');
  h.session.start();
  h.session.receive(open());
  h.session.receive(JSON.stringify({ type: 'eor', vv: {}, full: false }));
  await tick();
}

void test('parseMessage gives each defect a stable code', () => {
  const code = (s: string): string => {
    try {
      parseMessage(s);
      return 'ok';
    } catch (e) {
      return (e as ProtocolError).code;
    }
  };
  assert.equal(code('{'), 'malformed-json');
  assert.equal(code('{"type":"nope"}'), 'invalid-message');
  assert.equal(code('{"type":"keepalive","extra":1}'), 'invalid-message');
  assert.equal(code(open({ hostId: 'Not A Name' })), 'invalid-message');
  assert.equal(code('{"type":"keepalive"}'), 'ok');
});

void test('an unsupported protocol version is refused with a notification', async (t) => {
  const h = await harness(t);
  h.session.start();
  h.session.receive(open({ version: 1 }));
  await tick();
  assert.deepEqual(types(h), ['open', 'notification']);
  assert.equal((JSON.parse(h.sent[1]!) as { code: string }).code, 'unsupported-version');
  assert.equal(h.closes[0]?.code, 1002);
  assert.deepEqual(h.ended, ['unsupported-version']);
});

void test('OPEN -> initial sync -> END_OF_RIB, then keepalives at min(keepalive, hold/3) and the negotiated hold timer', async (t) => {
  const h = await harness(t);
  await withNetwork(h.node.registry);
  await h.node.registry.settled();
  h.session.start();
  h.session.receive(open());
  await tick();
  assert.deepEqual(types(h), ['open', 'update', 'eor']);
  const upd = JSON.parse(h.sent[1]!) as { records: unknown[]; vv?: unknown };
  assert.equal(upd.records.length, 2, 'tenant and network');
  assert.equal(upd.vv, undefined, 'sync batches vouch nothing; END_OF_RIB does');
  assert.deepEqual((JSON.parse(h.sent[2]!) as { vv: unknown }).vv, { a: 2 });
  assert.equal(h.session.state, 'syncing');
  h.session.receive(JSON.stringify({ type: 'eor', vv: {}, full: false }));
  await tick();
  assert.equal(h.session.state, 'established');
  h.sent.length = 0;
  h.timers.advance(2000);
  assert.deepEqual(types(h), ['keepalive'], 'hold 6000 negotiated -> keepalive every 2000 ms');
  h.timers.advance(3000);
  h.session.receive('{"type":"keepalive"}');
  h.timers.advance(5999);
  assert.equal(h.session.state, 'established', 'hold timer restarted by the keepalive');
  h.timers.advance(1);
  assert.equal(h.session.state, 'closed');
  assert.deepEqual(h.ended, ['hold-timer-expired']);
  assert.equal(h.closes[0]?.code, 4000);
});

void test('a batch larger than maxPayload is split into frames under it; the vector rides on the last frame', async (t) => {
  const h = await harness(t, { maxPayload: 8 * 1024 });
  await established(h);
  h.sent.length = 0;
  await h.node.registry.upsertLocalEndpoints(
    Array.from({ length: 100 }, (_, i) => ({ network: 'acme/web', mac: `02:00:00:00:01:${i.toString(16).padStart(2, '0')}`, ips: [`10.64.1.${i}`], port: `p${i}` })),
  );
  await tick();
  const frames = h.sent.map((s) => JSON.parse(s) as { type: string; records: unknown[]; vv?: Record<string, number> });
  assert.ok(frames.length > 3, `${frames.length} frames`);
  assert.ok(h.sent.every((s) => s.length <= 8 * 1024), 'every frame fits maxPayload');
  assert.equal(frames.reduce((n, f) => n + f.records.length, 0), 100);
  assert.deepEqual(frames.map((f) => f.vv !== undefined), [...Array<boolean>(frames.length - 1).fill(false), true]);
  assert.deepEqual(frames.at(-1)!.vv, { a: 102 });
});

void test('back-pressure: sending pauses while the socket buffer is above the high-water mark', async (t) => {
  const h = await harness(t, { asyncSend: true, maxPayload: 4096 });
  await established(h);
  h.sent.length = 0;
  h.buffered.n = 10 << 20;
  await h.node.registry.upsertLocalEndpoints(
    Array.from({ length: 50 }, (_, i) => ({ network: 'acme/web', mac: `02:00:00:00:02:${i.toString(16).padStart(2, '0')}`, ips: [`10.64.2.${i}`], port: `p${i}` })),
  );
  await tick();
  assert.equal(h.sent.length, 0, 'nothing handed to a full socket');
  assert.equal(h.session.queued(), 50);
  h.timers.advance(100);
  assert.equal(h.sent.length, 0, 'still full, still waiting');
  h.buffered.n = 0;
  h.timers.advance(20);
  while (h.callbacks.length) h.callbacks.shift()!();
  assert.equal(h.session.queued(), 0);
  assert.ok(h.sent.length > 1, 'sent in several frames once the socket drained');
});

void test('serialised record texts are kept while a session still has records queued and released once all are sent', async (t) => {
  const h = await harness(t, { asyncSend: true, maxPayload: 4096 });
  await established(h);
  while (h.callbacks.length) h.callbacks.shift()!();
  await tick();
  h.sent.length = 0;
  h.buffered.n = 10 << 20;
  await h.node.registry.upsertLocalEndpoints(
    Array.from({ length: 50 }, (_, i) => ({ network: 'acme/web', mac: `02:00:00:00:03:${i.toString(16).padStart(2, '0')}`, ips: [`10.64.3.${i}`], port: `q${i}` })),
  );
  await tick();
  const records = h.node.registry.changesSince({}).records.filter((r) => r.kind === 'endpoint');
  assert.equal(records.length, 50);
  assert.equal(h.sent.length, 0, 'nothing handed to a full socket');
  assert.equal(h.session.queued(), 50);
  assert.ok(records.every((r) => serialisedCached(r)), 'queued deltas are counted by their serialised size, kept until sent');
  h.buffered.n = 0;
  h.timers.advance(20);
  while (h.callbacks.length) h.callbacks.shift()!();
  assert.equal(h.session.queued(), 0);
  assert.ok(records.some((r) => serialisedCached(r)), 'released on a later turn, not while the change may still be fanned out');
  await tick();
  assert.ok(records.every((r) => !serialisedCached(r)), 'nothing left to send: the texts are released');
});

const eps = (n: number, third: number): EndpointInput[] =>
  Array.from({ length: n }, (_, i) => ({ network: 'acme/web', mac: `02:00:00:${third.toString(16).padStart(2, '0')}:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`, ips: [`10.64.${third}.${i}`], port: `p${third}-${i}` }));

void test('a peer that cannot keep up is disconnected once the bytes queued for it exceed maxQueuedBytes (it resyncs by vector later)', async (t) => {
  const h = await harness(t, { asyncSend: true, maxQueuedBytes: 8192 });
  await withNetwork(h.node.registry, 'acme', 'web', 100, '10.64.0.0/16');
  h.session.start();
  h.session.receive(open());
  await tick();
  h.buffered.n = 10 << 20;
  await h.node.registry.upsertLocalEndpoints(eps(10, 3));
  await tick();
  assert.deepEqual(h.ended, [], 'ten records (a few KB) are within the limit');
  assert.equal(h.session.queued(), 10);
  assert.ok(h.session.queuedDeltaBytes() > 2000 && h.session.queuedDeltaBytes() < 8192, `${h.session.queuedDeltaBytes()} bytes`);
  await h.node.registry.upsertLocalEndpoints(eps(30, 4));
  await tick();
  assert.deepEqual(h.ended, ['send-queue-overflow']);
  assert.equal(h.closes[0]?.code, 1011);
  assert.match(h.session.lastError ?? '', /bytes of updates queued .*limit 8192.*resyncs by version vector/);
  assert.equal(h.session.queuedDeltaBytes(), 0, 'the queue is released');
});

void test('one batch larger than maxQueuedBytes to a peer that reads is sent, not an overflow', async (t) => {
  const h = await harness(t, { maxQueuedBytes: 4096, maxPayload: 4096 });
  await established(h);
  h.sent.length = 0;
  await h.node.registry.upsertLocalEndpoints(eps(60, 5));
  await tick();
  assert.deepEqual(h.ended, []);
  const frames = h.sent.map((s) => JSON.parse(s) as { records: unknown[] });
  assert.equal(frames.reduce((n, f) => n + f.records.length, 0), 60);
  assert.equal(h.session.queuedDeltaBytes(), 0);
});

void test('frames are cut by UTF-8 bytes: records with non-ASCII text never push a frame over maxPayload', async (t) => {
  const h = await harness(t, { maxPayload: 8192 });
  for (let i = 0; i < 40; i++) await h.node.registry.createTenant({ name: `t${i}`, displayName: '€'.repeat(200) });
  await h.node.registry.settled();
  h.session.start();
  h.session.receive(open());
  await tick();
  const updates = h.sent.filter((s) => s.startsWith('{"type":"update"'));
  assert.ok(updates.length > 1, `${updates.length} frames`);
  for (const f of updates) assert.ok(Buffer.byteLength(f) <= 8192, `a frame of ${Buffer.byteLength(f)} bytes exceeds maxPayload 8192`);
  assert.equal(updates.reduce((n, f) => n + (JSON.parse(f) as { records: unknown[] }).records.length, 0), 40);
});

void test('inbound back-pressure is a byte budget: large waiting frames pause the transport, many tiny ones do not', async (t) => {
  const h = await harness(t, { maxPayload: 16 * 1024 });
  const b = await openNode('b', '10.0.0.2', new ManualClock());
  t.after(async () => {
    await b.close();
    removeDir(b.dir);
  });
  await withNetwork(b.registry, 'acme', 'web', 100, '10.64.0.0/16');
  await b.registry.upsertLocalEndpoints(eps(120, 6));
  h.session.start();
  h.session.receive(open());
  h.session.receive(JSON.stringify({ type: 'eor', vv: {}, full: false }));
  await tick();
  await h.node.registry.settled();
  for (let i = 0; i < 30; i++) h.session.receive('{"type":"keepalive"}');
  assert.deepEqual(h.flow, [], '30 keepalives (a few hundred bytes each with bookkeeping) stay under 16 KiB');
  await tick();
  const records = b.registry.changesSince({}).records;
  const frames = [records.slice(0, 40), records.slice(40, 80), records.slice(80)].map((rs) => JSON.stringify({ type: 'update', records: rs }));
  assert.ok(frames.every((f) => f.length > 8 * 1024 && f.length < 16 * 1024), frames.map((f) => f.length).join());
  h.session.receive(frames[0]!);
  assert.deepEqual(h.flow, [], 'one frame waiting is within the budget');
  h.session.receive(frames[1]!);
  assert.deepEqual(h.flow, ['pause'], 'two waiting frames hold more than maxPayload bytes');
  h.session.receive(frames[2]!);
  assert.ok(h.session.pendingInboundBytes() > 16 * 1024);
  while (h.session.pendingInboundBytes() > 0) {
    await tick();
    await h.node.registry.settled();
  }
  assert.deepEqual(h.flow, ['pause', 'resume']);
  assert.equal(h.node.registry.endpoints().length, 120);
  assert.deepEqual(h.ended, []);
});

void test('an initial sync of 100,000 endpoints goes out in frames under the default 4 MiB maxPayload', async (t) => {
  const maxPayload = AgentConfig.parse({ hostId: 'a', vtepIp: '10.0.0.1', dataDir: '/tmp/x' }).mesh.maxPayload;
  assert.equal(maxPayload, 4 * 1024 * 1024);
  const h = await harness(t, { maxPayload });
  await withNetwork(h.node.registry, 'acme', 'big', 200, '10.128.0.0/14');
  await h.node.registry.settled();
  // The session reads the snapshot from changesSince; 100,000 endpoint records are built directly
  // (registering them through the registry takes most of a minute on a shared CI core).
  const base = h.node.registry.changesSince({}).records;
  const stamp = '2023-11-14T22:13:20.000Z';
  const bulk: ReplicatedRecord[] = Array.from({ length: 100_000 }, (_, i) => {
    const mac = `02:00:01:${((i >> 16) & 0xff).toString(16).padStart(2, '0')}:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
    return {
      kind: 'endpoint', key: `e/acme/big/${mac}/a`, origin: 'a', counter: 3 + i, hlc: { wall: 1_700_000_000_000, logical: i, node: 'a' },
      value: { network: 'acme/big', mac, ips: [`10.${128 + (i >> 16)}.${(i >> 8) & 0xff}.${i & 0xff}`], hostId: 'a', vtep: '10.0.0.1', port: `p${i % 1000}`, seq: 0, createdAt: stamp, updatedAt: stamp },
    };
  });
  const real = h.node.registry.changesSince.bind(h.node.registry);
  h.node.registry.changesSince = (vv) => ({ ...real(vv), records: [...base, ...bulk] });
  h.session.start();
  h.session.receive(open());
  await tick();
  const updates = h.sent.filter((s) => s.startsWith('{"type":"update"'));
  let records = 0;
  let largest = 0;
  for (const f of updates) {
    largest = Math.max(largest, Buffer.byteLength(f));
    records += (JSON.parse(f) as { records: unknown[] }).records.length;
  }
  assert.ok(largest <= maxPayload, `largest frame ${largest} bytes`);
  assert.equal(records, 100_002, 'tenant, network and every endpoint');
  assert.equal((JSON.parse(h.sent.at(-1)!) as { type: string }).type, 'eor');
  // About 35 MB in all; with 4 MiB frames the 10,000-record cap cuts first (the byte cut is tested above).
  assert.ok(updates.every((f) => (JSON.parse(f) as { records: unknown[] }).records.length <= 10_000));
  assert.equal(updates.length, 11, 'tenant, network and 100,000 endpoints in 10,000-record frames');
  t.diagnostic(`${updates.length} frames, largest ${largest} bytes`);
});

void test('UPDATE before OPEN and a second OPEN are state-machine errors', async (t) => {
  const h = await harness(t);
  h.session.start();
  h.session.receive(JSON.stringify({ type: 'update', records: [] }));
  await tick();
  assert.deepEqual(h.ended, ['fsm-error']);
  const h2 = await harness(t);
  h2.session.start();
  h2.session.receive(open());
  h2.session.receive(open());
  await tick();
  assert.deepEqual(h2.ended, ['fsm-error']);
});

void test('an UPDATE with a record far ahead of our clock closes the session with clock-skew and applies nothing', async (t) => {
  const h = await harness(t);
  const b = await openNode('b', '10.0.0.2', new ManualClock(new ManualClock().t + 24 * 3600_000));
  t.after(async () => {
    await b.close();
    removeDir(b.dir);
  });
  await b.registry.createTenant({ name: 'future' });
  h.session.start();
  h.session.receive(open());
  h.session.receive(JSON.stringify({ type: 'update', records: b.registry.changesSince({}).records }));
  await tick();
  await h.node.registry.settled();
  assert.deepEqual(h.ended, ['clock-skew']);
  assert.equal(h.closes[0]?.code, 1008);
  assert.equal(h.session.counters.clockSkew, 1);
  const note = h.sent.map((s) => JSON.parse(s) as { type: string; code?: string; reason?: string }).find((m) => m.type === 'notification');
  assert.equal(note?.code, 'clock-skew');
  assert.match(note?.reason ?? '', /ahead of this agent's clock/);
  assert.equal(h.node.registry.tenant('future'), undefined);
});

async function remoteNode(t: { after(fn: () => Promise<void>): void }, host: string, vtep: string): Promise<TestNode> {
  const n = await openNode(host, vtep, new ManualClock());
  t.after(async () => {
    await n.close();
    removeDir(n.dir);
  });
  await withNetwork(n.registry, 'acme', 'web', 100, '10.64.0.0/16');
  return n;
}
const M = '02:00:00:00:0f:01';
const endpointRecords = (n: TestNode): ReplicatedRecord[] => n.registry.changesSince({}).records.filter((r) => r.kind === 'endpoint');

void test('VTEP binding: a direct peer\'s endpoint record with a VTEP other than its OPEN\'s is rejected and cannot win a sequence tie', async (t) => {
  const h = await harness(t);
  await withNetwork(h.node.registry, 'acme', 'web', 100, '10.64.0.0/16');
  await h.node.registry.upsertLocalEndpoint({ network: 'acme/web', mac: M, ips: ['10.64.15.1'], port: 'p1' });
  // b is authenticated and announces 10.0.0.2 in its OPEN, but stamps its records with 10.0.0.0: on
  // an equal sequence number the lower VTEP would win, and a would withdraw its own endpoint.
  const forger = await remoteNode(t, 'b', '10.0.0.0');
  await forger.registry.upsertLocalEndpoint({ network: 'acme/web', mac: M, ips: ['10.64.15.2'], port: 'p1' });
  await forger.registry.upsertLocalEndpoint({ network: 'acme/web', mac: '02:00:00:00:0f:02', ips: ['10.64.15.3'], port: 'p2' });
  const honest = await remoteNode(t, 'b', '10.0.0.2');
  await honest.registry.upsertLocalEndpoint({ network: 'acme/web', mac: '02:00:00:00:0f:03', ips: ['10.64.15.4'], port: 'p3' });
  h.session.start();
  h.session.receive(open());
  h.session.receive(JSON.stringify({ type: 'update', records: [...endpointRecords(forger), ...endpointRecords(honest)] }));
  await tick();
  await h.node.registry.settled();
  assert.equal(h.session.counters.vtepRejected, 2);
  assert.equal(h.node.registry.endpoint('acme/web', M)?.hostId, 'a', 'the forged announcement did not win');
  assert.equal(h.node.registry.endpoint('acme/web', '02:00:00:00:0f:02'), undefined);
  assert.equal(h.node.registry.endpoint('acme/web', '02:00:00:00:0f:03')?.vtep, '10.0.0.2', 'records with the OPEN\'s VTEP are applied');
  assert.deepEqual(h.ended, [], 'the session stays up; only the records are dropped');
});

void test('VTEP binding: an OPEN claiming our VTEP or one another host\'s endpoints carry is refused (vtep-mismatch)', async (t) => {
  const own = await harness(t);
  own.session.start();
  own.session.receive(open({ vtep: '10.0.0.1' }));
  await tick();
  assert.deepEqual(own.ended, ['vtep-mismatch']);
  assert.equal(own.closes[0]?.code, 1008);

  const h = await harness(t);
  await withNetwork(h.node.registry, 'acme', 'web', 100, '10.64.0.0/16');
  const c = await remoteNode(t, 'c', '10.0.0.3');
  await c.registry.upsertLocalEndpoint({ network: 'acme/web', mac: M, ips: ['10.64.15.1'], port: 'p1' });
  await h.node.registry.applyRemote(endpointRecords(c), 'c', c.registry.versionVector());
  h.session.start();
  h.session.receive(open({ vtep: '10.0.0.3' }));
  await tick();
  assert.deepEqual(h.ended, ['vtep-mismatch']);
  assert.match(h.session.lastError ?? '', /claims VTEP 10\.0\.0\.3, which host "c" holds/);
});

void test('VTEP binding: a record relayed by a reflector must carry the VTEP its origin announced (reflector PEERS)', async (t) => {
  const h = await harness(t);
  await withNetwork(h.node.registry, 'acme', 'web', 100, '10.64.0.0/16');
  const forger = await remoteNode(t, 'c', '10.0.0.0');
  await forger.registry.upsertLocalEndpoint({ network: 'acme/web', mac: M, ips: ['10.64.15.1'], port: 'p1' });
  const honest = await remoteNode(t, 'd', '10.0.0.4');
  await honest.registry.upsertLocalEndpoint({ network: 'acme/web', mac: '02:00:00:00:0f:04', ips: ['10.64.15.4'], port: 'p4' });
  h.session.start();
  h.session.receive(open({ hostId: 'b', reflector: true, vtep: '10.0.0.9' }));
  h.session.receive(JSON.stringify({ type: 'peers', up: ['c', 'd'], vteps: { c: '10.0.0.3', d: '10.0.0.4' } }));
  h.session.receive(JSON.stringify({ type: 'update', records: [...endpointRecords(forger), ...endpointRecords(honest)] }));
  await tick();
  await h.node.registry.settled();
  assert.equal(h.session.counters.vtepRejected, 1);
  assert.equal(h.node.registry.endpoint('acme/web', M), undefined);
  assert.equal(h.node.registry.endpoint('acme/web', '02:00:00:00:0f:04')?.hostId, 'd');
});
