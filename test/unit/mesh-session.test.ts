// The session state machine over a scripted transport with fake timers: version check, hold timer,
// keepalives, framing under maxPayload, back-pressure and queue overflow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PeerSession } from '../../src/mesh/session.js';
import type { SessionHooks, Transport } from '../../src/mesh/session.js';
import type { ProtocolError } from '../../src/mesh/protocol.js';
import { parseMessage } from '../../src/mesh/protocol.js';
import { ManualClock, openNode, removeDir, withNetwork } from '../support/registry-fixtures.js';
import type { TestNode } from '../support/registry-fixtures.js';
import { FakeTimers } from '../support/mesh-sim.js';

interface Harness {
  node: TestNode;
  session: PeerSession;
  sent: string[];
  closes: Array<{ code: number; reason: string }>;
  ended: string[];
  timers: FakeTimers;
  buffered: { n: number };
  callbacks: Array<() => void>;
}

async function harness(
  t: { after(fn: () => Promise<void>): void },
  opts: { maxPayload?: number; asyncSend?: boolean; maxQueuedRecords?: number } = {},
): Promise<Harness> {
  const node = await openNode('a', '10.0.0.1', new ManualClock());
  t.after(async () => {
    await node.close();
    removeDir(node.dir);
  });
  const h = { node, sent: [] as string[], closes: [] as Array<{ code: number; reason: string }>, ended: [] as string[], timers: new FakeTimers(), buffered: { n: 0 }, callbacks: [] as Array<() => void> } as Harness;
  const transport: Transport = {
    send: (text, done) => {
      h.sent.push(text);
      if (opts.asyncSend) h.callbacks.push(() => done());
      else done();
    },
    bufferedAmount: () => h.buffered.n,
    close: (code, reason) => h.closes.push({ code, reason }),
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
    keepaliveMs: 3000,
    holdMs: 9000,
    maxPayload: opts.maxPayload ?? 1 << 20,
    timers: h.timers,
    log: { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} } as never,
    hooks,
    ...(opts.maxQueuedRecords !== undefined ? { maxQueuedRecords: opts.maxQueuedRecords } : {}),
  });
  return h;
}

const open = (over: Record<string, unknown> = {}): string => JSON.stringify({ type: 'open', version: 2, hostId: 'b', reflector: false, holdMs: 6000, vv: {}, ...over });
const types = (h: Harness): string[] => h.sent.map((s) => (JSON.parse(s) as { type: string }).type);
const tick = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
};

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
  await withNetwork(h.node.registry, 'acme', 'web', 100, '10.64.0.0/16');
  h.session.start();
  h.session.receive(open());
  h.session.receive(JSON.stringify({ type: 'eor', vv: {}, full: false }));
  await tick();
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
  await withNetwork(h.node.registry, 'acme', 'web', 100, '10.64.0.0/16');
  h.session.start();
  h.session.receive(open());
  h.session.receive(JSON.stringify({ type: 'eor', vv: {}, full: false }));
  await tick();
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

void test('a peer that cannot keep up is disconnected once its queue overflows (it resyncs by vector later)', async (t) => {
  const h = await harness(t, { asyncSend: true, maxQueuedRecords: 20 });
  await withNetwork(h.node.registry, 'acme', 'web', 100, '10.64.0.0/16');
  h.session.start();
  h.session.receive(open());
  await tick();
  h.buffered.n = 10 << 20;
  await h.node.registry.upsertLocalEndpoints(
    Array.from({ length: 30 }, (_, i) => ({ network: 'acme/web', mac: `02:00:00:00:03:${i.toString(16).padStart(2, '0')}`, ips: [`10.64.3.${i}`], port: `p${i}` })),
  );
  await tick();
  assert.deepEqual(h.ended, ['send-queue-overflow']);
  assert.equal(h.closes[0]?.code, 1011);
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
