import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from 'node-openflow';
import type { FlowModBody, FlowStats } from 'node-openflow';
import { FakeTimers } from '../../src/switch/clock.js';
import { OpenFlowRequestError, OpenFlowSession, type SessionOptions } from '../../src/switch/session.js';
import { SwitchError } from '../../src/switch/errors.js';
import { FakeOfPeer, port } from '../support/switch-ofpeer.js';

async function flush(rounds = 8): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

function setup(opts: Partial<SessionOptions> = {}): { peer: FakeOfPeer; timers: FakeTimers; s: OpenFlowSession } {
  const peer = new FakeOfPeer();
  const timers = new FakeTimers();
  const s = new OpenFlowSession({
    target: { kind: 'unix', path: '/nonexistent/br-int.mgmt' },
    connector: peer.connector,
    timers,
    echoIntervalMs: 5000,
    inactivityTimeoutMs: 10000,
    reconnectMinMs: 100,
    reconnectMaxMs: 800,
    ...opts,
  });
  return { peer, timers, s };
}

const flow: FlowModBody = {
  command: 'ADD', cookie: 0xb1e5_0001_0000_0a05n, cookieMask: 0n, tableId: 1, idleTimeout: 0, hardTimeout: 0, priority: 200,
  bufferId: 'NO_BUFFER', outPort: 'ANY', outGroup: 'ANY', flags: [],
  match: [{ field: 'eth_type', value: 0x0806 }, { field: 'arp_tpa', value: '10.10.10.2' }],
  instructions: [{ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: 99 }] }],
};

void test('handshake: version bitmap, features, port map, config without packet-ins, port-status subscription', async () => {
  const { peer, s } = setup();
  const connected = new Promise<{ datapathId: bigint }>((r) => s.once('connected', r));
  s.start();
  const info = await connected;
  assert.equal(info.datapathId, 0x0000_0242_ac11_0002n);
  assert.equal(s.state, 'connected');
  const hello = peer.of('HELLO')[0];
  assert.deepEqual(hello?.elements, [{ type: 'VERSIONBITMAP', versions: [4] }]);
  assert.deepEqual(peer.received.map((m) => m.type), ['HELLO', 'FEATURES_REQUEST', 'MULTIPART_REQUEST', 'SET_CONFIG', 'SET_ASYNC', 'BARRIER_REQUEST']);
  const async = peer.of('SET_ASYNC')[0];
  assert.deepEqual(async?.packetInMask, [0, 0]);
  assert.deepEqual(async?.portStatusMask, [7, 7]);
  assert.equal(peer.of('SET_CONFIG')[0]?.missSendLen, 0);
  assert.equal(s.ofport('tun0'), 1);
  assert.equal(s.ofport('vm1'), 2);
  assert.equal(s.portName(2), 'vm1');
  assert.equal(s.ofport('br-int'), undefined, 'reserved LOCAL port is not in the number map');
  // xids are distinct and non-zero
  const xids = peer.received.map((m) => m.xid);
  assert.equal(new Set(xids).size, xids.length);
  assert.ok(xids.every((x) => x !== 0));
  s.stop();
});

void test('a peer without OpenFlow 1.3 is refused with HELLO_FAILED and a clear reason', async () => {
  const { peer, s, timers } = setup();
  peer.versions = [1, 2];
  const gone = new Promise<{ reason: string }>((r) => s.once('disconnected', r));
  s.start();
  const { reason } = await gone;
  assert.match(reason, /offers OpenFlow 1\.0, 1\.1 but not 1\.3/);
  assert.match(reason, /protocols=OpenFlow10,OpenFlow13/);
  const err = peer.of('ERROR')[0];
  assert.equal(err?.errType, 'HELLO_FAILED');
  assert.equal(err?.code, 'INCOMPATIBLE');
  assert.equal(s.state, 'backoff');
  assert.equal(peer.of('FEATURES_REQUEST').length, 0);
  // it keeps trying (the operator may fix the bridge) with back-off
  peer.versions = [1, 4];
  const connected = new Promise((r) => s.once('connected', r));
  timers.advance(100);
  await connected;
  s.stop();
});

void test('echo: answers the switch, probes when idle, drops a silent switch and reconnects with back-off', async () => {
  const { peer, s, timers } = setup();
  s.start();
  await new Promise((r) => s.once('connected', r));
  peer.send({ type: 'ECHO_REQUEST', xid: 777, data: Buffer.from('hi') });
  await flush();
  const reply = peer.of('ECHO_REPLY')[0];
  assert.equal(reply?.xid, 777);
  assert.equal(Buffer.from(reply?.data ?? []).toString(), 'hi');

  // silence: an echo request after echoIntervalMs, answered -> still connected
  timers.advance(5000);
  assert.equal(peer.of('ECHO_REQUEST').length, 1);
  await flush();
  timers.advance(9000);
  assert.equal(s.state, 'connected');

  // now the switch goes mute: no answers at all
  peer.autoReply = false;
  const connectsBefore = s.status().connects;
  let lostAt = 0;
  const gone = new Promise<{ reason: string }>((r) => s.once('disconnected', (e) => ((lostAt = timers.now()), r(e))));
  peer.now = () => timers.now();
  const from = peer.connectsAt.length;
  for (let i = 0; i < 220 && lostAt === 0; i++) {
    timers.advance(50);
    await flush(2);
  }
  const { reason } = await gone;
  assert.match(reason, /inactivity timeout 10000 ms/);

  // reconnect attempts 100, 200, 400, 800, 800 ms after each failure; each attempt fails when the
  // mute switch's HELLO does not come within the 10 s request timeout
  for (let i = 0; i < 1000; i++) {
    timers.advance(50);
    await flush(2);
  }
  const at = peer.connectsAt.slice(from);
  const gaps = at.map((t, i) => t - (i === 0 ? lostAt : (at[i - 1] ?? 0)));
  // the fake clock moves in 50 ms steps while the connect promise settles, hence the tolerance
  const want = [100, 10200, 10400, 10800, 10800];
  assert.ok(gaps.length >= 5, `attempts: ${gaps.join(',')}`);
  want.forEach((w, i) => assert.ok((gaps[i] ?? 0) >= w && (gaps[i] ?? 0) <= w + 50, `gap ${i}: ${gaps[i]} vs ${w}`));

  peer.autoReply = true;
  peer.hook = undefined;
  const back = new Promise((r) => s.once('connected', r));
  timers.advance(20000);
  await flush();
  timers.advance(20000);
  await back;
  assert.equal(s.status().connects, connectsBefore + 1);
  s.stop();
});

void test('an OFPT_ERROR is matched by xid to the flow that caused it, counted and kept for status', async () => {
  const { peer, s } = setup();
  s.start();
  await new Promise((r) => s.once('connected', r));
  const records: string[] = [];
  s.on('ofp-error', (r) => records.push(r.text));
  const xid = s.send({ type: 'FLOW_MOD', ...flow });
  await flush();
  const sent = peer.of('FLOW_MOD')[0];
  assert.equal(sent?.xid, xid);
  peer.send({ type: 'ERROR', xid, errType: 'BAD_ACTION', code: 'BAD_OUT_PORT', data: encode({ type: 'FLOW_MOD', xid, ...flow }).subarray(0, 64) });
  await flush();
  const st = s.status();
  assert.equal(st.errors.total, 1);
  assert.deepEqual(st.errors.byType, { 'BAD_ACTION/BAD_OUT_PORT': 1 });
  const rec = st.errors.recent[0];
  assert.equal(rec?.xid, xid);
  assert.equal(rec?.causeType, 'FLOW_MOD');
  assert.equal(rec?.flow?.priority, 200);
  assert.equal(rec?.flow?.tableId, 1);
  assert.deepEqual(rec?.flow?.match, flow.match);
  assert.match(records[0] ?? '', /BAD_ACTION\/BAD_OUT_PORT for ADD table=1 priority=200 eth_type=2054,arp_tpa=10\.10\.10\.2/);

  // a request answered by an error rejects with the record
  peer.hook = (m) => {
    if (m.type === 'MULTIPART_REQUEST' && m.mpType === 'FLOW') {
      peer.send({ type: 'ERROR', xid: m.xid, errType: 'BAD_REQUEST', code: 'BAD_TABLE_ID', data: new Uint8Array(0) });
      return true;
    }
  };
  await assert.rejects(s.dumpFlows(), (e: unknown) => e instanceof OpenFlowRequestError && e.record.causeType === 'MULTIPART_REQUEST');
  assert.equal(s.status().errors.total, 2);
  s.stop();
});

void test('multipart replies split with REPLY_MORE are reassembled', async () => {
  const { peer, s } = setup();
  s.start();
  await new Promise((r) => s.once('connected', r));
  const mk = (p: number): FlowStats => ({
    tableId: 0, durationSec: 1, durationNsec: 0, priority: p, idleTimeout: 0, hardTimeout: 0, flags: [], cookie: 0n,
    packetCount: 0n, byteCount: 0n, match: [{ field: 'in_port', value: p }], instructions: [],
  });
  peer.hook = (m) => {
    if (m.type === 'MULTIPART_REQUEST' && m.mpType === 'FLOW') {
      peer.send({ type: 'MULTIPART_REPLY', xid: m.xid, mpType: 'FLOW', flags: ['REPLY_MORE'], body: [mk(1), mk(2)] });
      peer.send({ type: 'MULTIPART_REPLY', xid: m.xid, mpType: 'FLOW', flags: ['REPLY_MORE'], body: [mk(3)] });
      peer.send({ type: 'MULTIPART_REPLY', xid: m.xid, mpType: 'FLOW', flags: [], body: [mk(4)] });
      return true;
    }
  };
  const flows = await s.dumpFlows();
  assert.deepEqual(flows.map((f) => f.priority), [1, 2, 3, 4]);
  s.stop();
});

void test('PORT_STATUS keeps the port map current and is emitted', async () => {
  const { peer, s } = setup();
  s.start();
  await new Promise((r) => s.once('connected', r));
  const events: string[] = [];
  s.on('port-status', (e) => events.push(`${e.reason}:${e.port.name}:${e.port.ofport}`));
  peer.send({ type: 'PORT_STATUS', xid: 0, reason: 'ADD', port: port(7, 'vm2') });
  peer.send({ type: 'PORT_STATUS', xid: 0, reason: 'DELETE', port: port(2, 'vm1') });
  await flush();
  assert.deepEqual(events, ['ADD:vm2:7', 'DELETE:vm1:2']);
  assert.equal(s.ofport('vm2'), 7);
  assert.equal(s.ofport('vm1'), undefined);
  assert.equal(s.portName(2), undefined);
  s.stop();
});

void test('a bundle: open, one add per flow with the inner xid equal to the outer, atomic ordered commit, barrier; errors collected', async () => {
  const { peer, s } = setup({ writeBatch: 64 });
  s.start();
  await new Promise((r) => s.once('connected', r));
  const mods = Array.from({ length: 300 }, (_, i) => ({ ...flow, priority: 1000 + i }));
  peer.hook = (m) => {
    if (m.type === 'BUNDLE_ADD_MESSAGE' && m.message.type === 'FLOW_MOD' && m.message.priority === 1100) {
      peer.send({ type: 'ERROR', xid: m.xid, errType: 'BAD_MATCH', code: 'BAD_PREREQ', data: new Uint8Array(0) });
    }
  };
  // back-pressure: the socket reports full buffers until drained
  peer.backpressure = true;
  const p = s.bundle(mods);
  await flush();
  assert.equal(peer.of('BUNDLE_ADD_MESSAGE').length, 0, 'waits for drain after a full buffer');
  peer.drain();
  peer.backpressure = true;
  await flush();
  assert.equal(peer.of('BUNDLE_ADD_MESSAGE').length, 64, 'one batch per drain');
  for (let i = 0; i < 10; i++) {
    peer.drain();
    peer.backpressure = true;
    await flush();
  }
  peer.backpressure = false;
  peer.drain();
  const res = await p;
  const adds = peer.of('BUNDLE_ADD_MESSAGE');
  assert.equal(adds.length, 300);
  assert.ok(adds.every((a) => a.message.xid === a.xid && a.bundleId === res.bundleId));
  const ctl = peer.of('BUNDLE_CONTROL');
  assert.deepEqual(ctl.map((c) => c.ctrlType), ['OPEN_REQUEST', 'COMMIT_REQUEST']);
  assert.deepEqual(ctl[1]?.flags, ['ATOMIC', 'ORDERED']);
  assert.equal(peer.received.at(-1)?.type, 'BARRIER_REQUEST');
  assert.equal(res.committed, false);
  assert.equal(res.errors.length, 1);
  assert.equal(res.errors[0]?.flow?.priority, 1100);
  assert.equal(res.errors[0]?.causeType, 'BUNDLE_ADD_MESSAGE/FLOW_MOD');
  s.stop();
});

void test('requests in flight fail when the switch hangs up; the session reconnects', async () => {
  const { peer, s, timers } = setup();
  s.start();
  await new Promise((r) => s.once('connected', r));
  peer.autoReply = false;
  const p = s.barrier();
  peer.hangUp();
  await assert.rejects(p, /BARRIER_REQUEST not answered: connection closed by the switch/);
  assert.equal(s.status().lastDisconnect?.reason, 'connection closed by the switch');
  peer.autoReply = true;
  const back = new Promise((r) => s.once('connected', r));
  timers.advance(100);
  await back;
  assert.equal(s.status().connects, 2);
  s.stop();
  assert.equal(s.state, 'stopped');
});

void test('a blocked event loop past the inactivity deadline leads to an echo, not to a dropped switch', async () => {
  const { peer, s, timers } = setup();
  s.start();
  await new Promise((r) => s.once('connected', r));
  let lost = false;
  s.on('disconnected', () => (lost = true));
  timers.jump(12000);
  timers.advance(0);
  assert.equal(lost, false);
  assert.equal(peer.of('ECHO_REQUEST').length, 1, 'the late timer probes first');
  await flush();
  timers.advance(6000);
  assert.equal(lost, false);
  assert.equal(s.state, 'connected');
  s.stop();
});

void test('an unanswered request times out; a reply already waiting when the timer fires still wins', async () => {
  const { peer, s, timers } = setup();
  s.start();
  await new Promise((r) => s.once('connected', r));
  peer.autoReply = false;
  const lost = s.barrier(2000);
  timers.advance(1999);
  await flush();
  timers.advance(1);
  await assert.rejects(lost, /no answer to BARRIER_REQUEST \(xid \d+\) within 2000 ms/);

  // the reply arrives in the same turn as the timer (as after a blocked event loop)
  const late = s.barrier(2000);
  const xid = peer.received.at(-1)?.xid ?? 0;
  peer.send({ type: 'BARRIER_REPLY', xid });
  timers.advance(2000);
  await assert.doesNotReject(late);
  s.stop();
});

// A switch that never finishes a multipart reply, sends too much, or answers with another type must fail
// the request with a typed error instead of growing memory or keeping it alive; the session stays usable.
const stat = (p: number): FlowStats => ({
  tableId: 0, durationSec: 1, durationNsec: 0, priority: p, idleTimeout: 0, hardTimeout: 0, flags: [], cookie: 0n,
  packetCount: 0n, byteCount: 0n, match: [{ field: 'in_port', value: p }], instructions: [],
});

/** Answers the next FLOW dump with `parts` REPLY_MORE parts of 3 flows each and no last part. */
function endlessDump(peer: FakeOfPeer, parts: number): void {
  peer.hook = (m) => {
    if (m.type !== 'MULTIPART_REQUEST' || m.mpType !== 'FLOW') return;
    peer.hook = undefined;
    for (let i = 0; i < parts; i++) peer.send({ type: 'MULTIPART_REPLY', xid: m.xid, mpType: 'FLOW', flags: ['REPLY_MORE'], body: [stat(3 * i), stat(3 * i + 1), stat(3 * i + 2)] });
    return true;
  };
}

async function expectUsable(s: OpenFlowSession, peer: FakeOfPeer): Promise<void> {
  peer.hook = (m) => {
    if (m.type !== 'MULTIPART_REQUEST' || m.mpType !== 'FLOW') return;
    peer.send({ type: 'MULTIPART_REPLY', xid: m.xid, mpType: 'FLOW', flags: [], body: [stat(7)] });
    return true;
  };
  assert.deepEqual((await s.dumpFlows()).map((f) => f.priority), [7]);
  assert.equal(s.state, 'connected');
}

void test('an endless REPLY_MORE reply fails at the entry limit; its later parts are dropped, not emitted', async () => {
  const warnings: string[] = [];
  const logger = { debug() {}, info() {}, error() {}, warn: (_o: object, msg?: string) => void warnings.push(msg ?? '') };
  const { peer, s } = setup({ multipartMaxEntries: 10, logger });
  s.start();
  await new Promise((r) => s.once('connected', r));
  const unsolicited: string[] = [];
  s.on('message', (m) => unsolicited.push(m.type));
  endlessDump(peer, 200);
  await assert.rejects(s.dumpFlows(), (e: unknown) => e instanceof SwitchError && e.code === 'SWITCH_BAD_REPLY' && /exceeds 10 entries after 4 parts/.test(e.message));
  await flush(220);
  assert.deepEqual(unsolicited, [], 'the abandoned parts reach no listener');
  assert.ok(warnings.some((w) => /MULTIPART_REQUEST\/FLOW \(xid \d+\) exceeds 10 entries/.test(w)), warnings.join('\n'));
  await expectUsable(s, peer);
  s.stop();
});

void test('a multipart reply fails at the byte limit', async () => {
  const { peer, s } = setup({ multipartMaxBytes: 1000 });
  s.start();
  await new Promise((r) => s.once('connected', r));
  endlessDump(peer, 100);
  await assert.rejects(s.dumpFlows(), (e: unknown) => e instanceof SwitchError && e.code === 'SWITCH_BAD_REPLY' && /exceeds 1000 bytes/.test(e.message));
  await flush(120);
  await expectUsable(s, peer);
  s.stop();
});

void test('parts that keep trickling in do not keep a multipart request alive past its overall deadline', async () => {
  const { peer, s, timers } = setup({ requestTimeoutMs: 2000, multipartMaxMs: 5000, echoIntervalMs: 60_000, inactivityTimeoutMs: 120_000 });
  s.start();
  await new Promise((r) => s.once('connected', r));
  let xid = -1;
  peer.hook = (m) => {
    if (m.type !== 'MULTIPART_REQUEST' || m.mpType !== 'FLOW') return;
    xid = m.xid;
    return true;
  };
  let outcome: unknown;
  const dump = s.dumpFlows().then((f) => (outcome = f), (e: unknown) => (outcome = e));
  await flush();
  assert.ok(xid > 0);
  // One part a second, well inside the 2 s between parts, for 10 s.
  for (let i = 0; i < 10 && outcome === undefined; i++) {
    peer.send({ type: 'MULTIPART_REPLY', xid, mpType: 'FLOW', flags: ['REPLY_MORE'], body: [stat(i)] });
    await flush();
    timers.advance(1000);
    await flush();
  }
  await dump;
  assert.ok(outcome instanceof SwitchError && outcome.code === 'SWITCH_TIMEOUT', String(outcome));
  assert.match(outcome.message, /not complete after 5000 ms \(\d parts, \d entries\)/);
  assert.ok(timers.now() <= 6000, `failed at ${timers.now()} ms`);
  s.stop();
});

void test('a multipart reply of another type than requested fails the request', async () => {
  const { peer, s } = setup();
  s.start();
  await new Promise((r) => s.once('connected', r));
  for (const flags of [['REPLY_MORE'], []] as const) {
    peer.hook = (m) => {
      if (m.type !== 'MULTIPART_REQUEST' || m.mpType !== 'FLOW') return;
      peer.send({ type: 'MULTIPART_REPLY', xid: m.xid, mpType: 'FLOW', flags: ['REPLY_MORE'], body: [stat(1)] });
      peer.send({ type: 'MULTIPART_REPLY', xid: m.xid, mpType: 'PORT_DESC', flags: [...flags], body: [port(9, 'x')] });
      if (flags.length > 0) peer.send({ type: 'MULTIPART_REPLY', xid: m.xid, mpType: 'PORT_DESC', flags: [], body: [port(10, 'y')] });
      return true;
    };
    await assert.rejects(s.dumpFlows(), (e: unknown) => e instanceof SwitchError && e.code === 'SWITCH_BAD_REPLY' && /MULTIPART_REQUEST\/FLOW \(xid \d+\) came as PORT_DESC/.test(e.message));
    await flush();
  }
  // The port map is the session's own: a stray PORT_DESC does not change it.
  assert.equal(s.ofport('x'), undefined);
  await expectUsable(s, peer);
  s.stop();
});
