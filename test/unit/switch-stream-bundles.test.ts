// Streamed bundles (OpenFlowSession.streamBundles) and their wire encoding (encodeFlowModInto): the
// reconciler's path for large diffs. Order on the wire, commit only after the previous bundle's commit,
// errors attributed to the flow mod's list index, back-pressure, and the reconciler setting aside the
// flow the switch rejected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode, OFEncodeError, Writer } from 'node-openflow';
import type { FlowModBody, MessageOf } from 'node-openflow';
import { FakeTimers } from '../../src/switch/clock.js';
import { encodeFlowModInto, type FlowModCommand, type FlowModFields } from '../../src/switch/codec.js';
import { OpenFlowSession, type BundlesOptions, type FlowModList, type SessionOptions, type StreamedBundle } from '../../src/switch/session.js';
import { Reconciler } from '../../src/reconcile/reconciler.js';
import { cookieGeneration } from '../../src/reconcile/cookie.js';
import { FakeFlowSwitch } from '../support/switch-fake.js';
import { dropFlows, pipelineFlows } from '../support/switch-flows.js';
import { FakeOfPeer } from '../support/switch-ofpeer.js';

async function flush(rounds = 8): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

async function connected(opts: Partial<SessionOptions> = {}): Promise<{ peer: FakeOfPeer; s: OpenFlowSession }> {
  const peer = new FakeOfPeer();
  const s = new OpenFlowSession({ target: { kind: 'unix', path: '/nonexistent/br-int.mgmt' }, connector: peer.connector, timers: new FakeTimers(), ...opts });
  const up = new Promise((r) => s.once('connected', r));
  s.start();
  await up;
  peer.received.length = 0;
  return { peer, s };
}

const shared = [{ type: 'APPLY_ACTIONS' as const, actions: [{ type: 'OUTPUT' as const, port: 7 }] }];

function flowAt(i: number): FlowModFields {
  return {
    tableId: 3, priority: 100 + i, cookie: 0xb1e5_0001_0000_0a05n,
    match: [{ field: 'eth_type', value: 0x0800 }, { field: 'ipv4_dst', value: `10.0.${(i >> 8) & 255}.${i & 255}` }],
    instructions: shared,
  };
}

function listOf(flows: FlowModFields[], command: FlowModCommand = 'ADD'): FlowModList {
  return { length: flows.length, command: () => command, flow: (i) => flows[i]! };
}

const ctl = (peer: FakeOfPeer): string[] => peer.received.filter((m) => m.type === 'BUNDLE_CONTROL' || m.type === 'BARRIER_REQUEST').map((m) => (m.type === 'BUNDLE_CONTROL' ? `${m.ctrlType}:${m.bundleId}` : 'BARRIER'));

void test('encodeFlowModInto writes the bytes encode() writes for the same FLOW_MOD, bare and inside a bundle', () => {
  const flows: FlowModFields[] = [
    flowAt(1),
    {
      tableId: 20, priority: 65535, cookie: 0xb1e5_0003_0000_0a07n,
      match: [{ field: 'in_port', value: 1 }, { field: 'tunnel_id', value: 4000n }, { field: 'eth_dst', value: '02:00:00:00:00:01', mask: 'ff:ff:ff:00:00:00' }],
      instructions: [
        { type: 'WRITE_METADATA', metadata: 0xfa0n, metadataMask: 0xffffffn },
        { type: 'APPLY_ACTIONS', actions: [
          { type: 'SET_FIELD', field: { field: 'tun_dst', value: '192.168.250.2' } },
          { type: 'NX_REG_MOVE', nBits: 48, srcOfs: 0, dstOfs: 0, src: 'eth_src', dst: 'eth_dst' },
          { type: 'OUTPUT', port: 1 },
        ] },
        { type: 'GOTO_TABLE', tableId: 30 },
      ],
    },
    { tableId: 0, priority: 0, cookie: 0n, match: [], instructions: [] },
  ];
  for (const f of flows) {
    for (const command of ['ADD', 'MODIFY_STRICT', 'DELETE_STRICT'] as const) {
      const body: FlowModBody = {
        command, cookie: f.cookie, cookieMask: 0n, tableId: f.tableId, idleTimeout: 0, hardTimeout: 0, priority: f.priority,
        bufferId: 'NO_BUFFER', outPort: 'ANY', outGroup: 'ANY', flags: [], match: f.match,
        instructions: command === 'DELETE_STRICT' ? [] : [...f.instructions],
      };
      const bare = new Writer(64);
      encodeFlowModInto(bare, 77, command, f);
      assert.deepEqual(bare.view(), encode({ type: 'FLOW_MOD', xid: 77, ...body }), `${command} priority ${f.priority}`);
      const inBundle = new Writer(64);
      encodeFlowModInto(inBundle, 78, command, f, 9);
      const want = encode({ type: 'BUNDLE_ADD_MESSAGE', xid: 78, bundleId: 9, flags: ['ATOMIC', 'ORDERED'], message: { type: 'FLOW_MOD', xid: 78, ...body }, properties: new Uint8Array(0) });
      assert.deepEqual(inBundle.view(), want, `bundled ${command} priority ${f.priority}`);
    }
  }
  assert.throws(() => encodeFlowModInto(new Writer(64), 1, 'ADD', { ...flowAt(0), priority: 70000 }), OFEncodeError);
});

void test('streamBundles: flow mods in list order, inner xid = outer, bundles committed one after another, then one barrier', async () => {
  const { peer, s } = await connected({ writeBatch: 32 });
  const flows = Array.from({ length: 250 }, (_, i) => flowAt(i));
  // Hold the first commit's answer: the second bundle streams meanwhile, its commit waits for it.
  let heldCommit: MessageOf<'BUNDLE_CONTROL'> | undefined;
  peer.hook = (m) => {
    if (m.type === 'BUNDLE_CONTROL' && m.ctrlType === 'COMMIT_REQUEST' && heldCommit === undefined) {
      heldCommit = m;
      return true;
    }
    return false;
  };
  const p = s.streamBundles(listOf(flows), { maxBundleFlows: 100 });
  await flush();
  const [b1, b2] = [...new Set(peer.of('BUNDLE_ADD_MESSAGE').map((a) => a.bundleId))];
  assert.ok(heldCommit && b1 !== undefined && b2 !== undefined);
  assert.deepEqual(ctl(peer), [`OPEN_REQUEST:${b1}`, `COMMIT_REQUEST:${b1}`, `OPEN_REQUEST:${b2}`], 'bundle 2 opened and streamed, not committed');
  assert.equal(peer.of('BUNDLE_ADD_MESSAGE').length, 200);
  peer.send({ type: 'BUNDLE_CONTROL', xid: heldCommit.xid, bundleId: heldCommit.bundleId, ctrlType: 'COMMIT_REPLY', flags: heldCommit.flags, properties: new Uint8Array(0) });
  const res = await p;
  const b3 = res[2]?.bundleId;
  assert.deepEqual(ctl(peer), [
    `OPEN_REQUEST:${b1}`, `COMMIT_REQUEST:${b1}`, `OPEN_REQUEST:${b2}`, `COMMIT_REQUEST:${b2}`, `OPEN_REQUEST:${b3}`, `COMMIT_REQUEST:${b3}`, 'BARRIER',
  ]);
  assert.deepEqual(res.map((r) => [r.start, r.end, r.committed, r.errors.length]), [[0, 100, true, 0], [100, 200, true, 0], [200, 250, true, 0]]);
  const adds = peer.of('BUNDLE_ADD_MESSAGE');
  assert.equal(adds.length, 250);
  assert.deepEqual(adds.map((a) => (a.message.type === 'FLOW_MOD' ? a.message.priority : -1)), flows.map((f) => f.priority), 'list order');
  assert.ok(adds.every((a) => a.message.xid === a.xid && a.flags.join() === 'ATOMIC,ORDERED'));
  assert.equal(new Set(peer.received.map((m) => m.xid)).size, peer.received.length, 'xids distinct');
  assert.equal(peer.received.at(-1)?.type, 'BARRIER_REQUEST');
  // The streamed xids are free again: a later request is answered normally.
  await s.barrier();
  s.stop();
});

void test('streamBundles: a rejected flow mod is attributed to its list index; its bundle is discarded, later ones never sent', async () => {
  const { peer, s } = await connected();
  const flows = Array.from({ length: 300 }, (_, i) => flowAt(i));
  peer.hook = (m) => {
    if (m.type === 'BUNDLE_ADD_MESSAGE' && m.message.type === 'FLOW_MOD' && m.message.priority === flows[142]!.priority) {
      peer.send({ type: 'ERROR', xid: m.xid, errType: 'BAD_ACTION', code: 'BAD_OUT_PORT', data: new Uint8Array(0) });
    }
  };
  const errors: number[] = [];
  s.on('ofp-error', (r) => errors.push(r.index ?? -1));
  const res = await s.streamBundles(listOf(flows), { maxBundleFlows: 100 });
  assert.deepEqual(res.map((r) => r.committed), [true, false]);
  const bad = res[1]!;
  assert.deepEqual([bad.start, bad.end], [100, 200]);
  assert.equal(bad.errors.length, 1);
  assert.equal(bad.errors[0]?.index, 142);
  assert.equal(bad.errors[0]?.flow?.priority, flows[142]!.priority);
  assert.equal(bad.errors[0]?.causeType, 'BUNDLE_ADD_MESSAGE/FLOW_MOD');
  assert.match(bad.errors[0]?.text ?? '', /BAD_ACTION\/BAD_OUT_PORT for ADD table=3 priority=242/);
  assert.deepEqual(errors, [142], 'the ofp-error event carries the index too');
  // The error reached the session after bundle 2's COMMIT was written (the switch answers the adds
  // asynchronously), so bundle 2 was committed on the switch without its bad flow and is reported
  // uncommitted; bundle 3, already streamed, is discarded instead of committed.
  const [b1, b2] = res.map((r) => r.bundleId);
  const b3 = peer.of('BUNDLE_CONTROL').find((m) => m.bundleId !== b1 && m.bundleId !== b2)?.bundleId;
  assert.deepEqual(ctl(peer), [`OPEN_REQUEST:${b1}`, `COMMIT_REQUEST:${b1}`, `OPEN_REQUEST:${b2}`, `COMMIT_REQUEST:${b2}`, `OPEN_REQUEST:${b3}`, `DISCARD_REQUEST:${b3}`, 'BARRIER']);
  s.stop();
});

void test('streamBundles: an error seen before its bundle is committed discards that bundle instead', async () => {
  const { peer, s } = await connected();
  const flows = Array.from({ length: 30 }, (_, i) => flowAt(i));
  let held: MessageOf<'BUNDLE_CONTROL'> | undefined;
  peer.hook = (m) => {
    if (m.type === 'BUNDLE_CONTROL' && m.ctrlType === 'COMMIT_REQUEST' && held === undefined) {
      held = m;
      return true;
    }
    if (m.type === 'BUNDLE_ADD_MESSAGE' && m.message.type === 'FLOW_MOD' && m.message.priority === flows[15]!.priority) {
      peer.send({ type: 'ERROR', xid: m.xid, errType: 'BAD_MATCH', code: 'BAD_PREREQ', data: new Uint8Array(0) });
    }
    return false;
  };
  const p = s.streamBundles(listOf(flows), { maxBundleFlows: 10 });
  await flush();
  assert.ok(held);
  peer.send({ type: 'BUNDLE_CONTROL', xid: held.xid, bundleId: held.bundleId, ctrlType: 'COMMIT_REPLY', flags: held.flags, properties: new Uint8Array(0) });
  const res = await p;
  assert.deepEqual(res.map((r) => [r.start, r.committed, r.errors.map((e) => e.index)]), [[0, true, []], [10, false, [15]]]);
  const [b1, b2] = res.map((r) => r.bundleId);
  assert.deepEqual(ctl(peer), [`OPEN_REQUEST:${b1}`, `COMMIT_REQUEST:${b1}`, `OPEN_REQUEST:${b2}`, `DISCARD_REQUEST:${b2}`, 'BARRIER']);
  assert.equal(peer.of('BUNDLE_ADD_MESSAGE').length, 20, 'the third bundle is never streamed');
  s.stop();
});

void test('streamBundles: a failed commit discards the bundle streamed behind it', async () => {
  const { peer, s } = await connected();
  const flows = Array.from({ length: 20 }, (_, i) => flowAt(i));
  let first = true;
  peer.hook = (m) => {
    if (m.type === 'BUNDLE_CONTROL' && m.ctrlType === 'COMMIT_REQUEST' && first) {
      first = false;
      peer.send({ type: 'ERROR', xid: m.xid, errType: 'FLOW_MOD_FAILED', code: 'TABLE_FULL', data: new Uint8Array(0) });
      return true;
    }
    return false;
  };
  const res = await s.streamBundles(listOf(flows), { maxBundleFlows: 10 });
  assert.equal(res.length, 1);
  assert.equal(res[0]?.committed, false);
  assert.equal(res[0]?.errors[0]?.causeType, 'BUNDLE_CONTROL/COMMIT_REQUEST');
  const b1 = res[0].bundleId;
  const b2 = peer.of('BUNDLE_CONTROL')[2]?.bundleId;
  assert.deepEqual(ctl(peer), [`OPEN_REQUEST:${b1}`, `COMMIT_REQUEST:${b1}`, `OPEN_REQUEST:${b2}`, `DISCARD_REQUEST:${b2}`, 'BARRIER']);
  s.stop();
});

void test('streamBundles: waits for drain when the socket buffer is full, one batch per drain', async () => {
  const { peer, s } = await connected({ writeBatch: 64 });
  const flows = Array.from({ length: 300 }, (_, i) => flowAt(i));
  peer.backpressure = true;
  const p = s.streamBundles(listOf(flows));
  await flush();
  // The OPEN was written and filled the buffer.
  assert.equal(peer.of('BUNDLE_ADD_MESSAGE').length, 0);
  for (const want of [64, 128, 192, 256]) {
    peer.drain();
    peer.backpressure = true;
    await flush();
    assert.equal(peer.of('BUNDLE_ADD_MESSAGE').length, want);
  }
  peer.drain();
  const res = await p;
  assert.equal(res[0]?.committed, true);
  assert.equal(peer.of('BUNDLE_ADD_MESSAGE').length, 300);
  s.stop();
});

void test('streamBundles: a flow mod the codec refuses fails its bundle with an ENCODE error at its index; nothing after it is sent', async () => {
  const { peer, s } = await connected({ writeBatch: 4 });
  const flows = Array.from({ length: 12 }, (_, i) => flowAt(i));
  flows[6] = { ...flows[6]!, priority: 70000 };
  const res = await s.streamBundles(listOf(flows));
  assert.equal(res.length, 1);
  assert.equal(res[0]?.committed, false);
  assert.equal(res[0]?.errors[0]?.errType, 'ENCODE');
  assert.equal(res[0]?.errors[0]?.index, 6);
  assert.match(res[0]?.errors[0]?.text ?? '', /cannot encode a flow mod for ADD table=3 priority=70000/);
  assert.equal(peer.of('BUNDLE_ADD_MESSAGE').length, 6);
  assert.deepEqual(ctl(peer).map((c) => c.split(':')[0]), ['OPEN_REQUEST', 'DISCARD_REQUEST', 'BARRIER']);
  s.stop();
});

void test('streamBundles: the connection going away rejects the call; the session reconnects', async () => {
  const { peer, s } = await connected({ writeBatch: 8 });
  const flows = Array.from({ length: 100 }, (_, i) => flowAt(i));
  peer.backpressure = true;
  const p = s.streamBundles(listOf(flows));
  await flush();
  peer.hangUp();
  await assert.rejects(p, /connection (lost while sending a bundle|closed by the switch)|not answered/);
  s.stop();
});

void test('reconciler over a real session: the flow the switch rejects inside a streamed bundle is set aside, the rest installed on retry', async () => {
  const timers = new FakeTimers();
  const peer = new FakeOfPeer();
  const s = new OpenFlowSession({ target: { kind: 'unix', path: '/nonexistent/br-int.mgmt' }, connector: peer.connector, timers });
  const up = new Promise((r) => s.once('connected', r));
  s.start();
  await up;
  const flows = Array.from({ length: 50 }, (_, i) => flowAt(i));
  const badPriority = flows[37]!.priority;
  const committed = new Set<number>();
  const pending = new Map<number, number[]>();
  peer.hook = (m) => {
    if (m.type === 'MULTIPART_REQUEST' && m.mpType === 'FLOW') {
      peer.send({ type: 'MULTIPART_REPLY', xid: m.xid, mpType: 'FLOW', flags: [], body: [] });
      return true;
    }
    if (m.type === 'BUNDLE_ADD_MESSAGE' && m.message.type === 'FLOW_MOD') {
      if (m.message.priority === badPriority) peer.send({ type: 'ERROR', xid: m.xid, errType: 'BAD_ACTION', code: 'BAD_OUT_PORT', data: new Uint8Array(0) });
      else pending.set(m.bundleId, [...(pending.get(m.bundleId) ?? []), m.message.priority]);
    }
    if (m.type === 'BUNDLE_CONTROL' && m.ctrlType === 'COMMIT_REQUEST') for (const p of pending.get(m.bundleId) ?? []) committed.add(p);
    return false;
  };
  const r = new Reconciler(s, { timers, batchMs: 0, maxBundleFlows: 20, retryMs: 10 });
  const reported: (number | undefined)[] = [];
  r.on('error', (e) => reported.push(e.index));
  r.setDesired(flows.map((f) => ({ ...f, instructions: [...f.instructions] })));
  r.start();
  timers.advance(0);
  await flush(30);
  let st = r.status();
  assert.equal(st.errors, 1);
  assert.deepEqual(reported, [37]);
  assert.equal(st.rejected.length, 1);
  assert.match(st.rejected[0]!.key, new RegExp(`^3/${badPriority}/`));
  assert.equal(st.installed, 20, 'the first bundle was committed and counted');
  // Retry after the back-off: everything but the rejected flow is installed, the flow is not sent again.
  const addsBefore = peer.of('BUNDLE_ADD_MESSAGE').length;
  timers.advance(10);
  await flush(30);
  st = r.status();
  assert.equal(st.errors, 1);
  assert.equal(committed.size, 49);
  assert.ok(!committed.has(badPriority));
  const retried = peer.of('BUNDLE_ADD_MESSAGE').slice(addsBefore);
  assert.ok(retried.every((a) => a.message.type === 'FLOW_MOD' && a.message.priority !== badPriority));
  // This fake dumps an empty table, so the re-read after the failure finds nothing installed: all 49 again.
  assert.equal(retried.length, 49);
  r.stop();
  s.stop();
});

/** FakeFlowSwitch with the streaming entry point: each streamed bundle goes through its bundle(). */
class StreamingFakeSwitch extends FakeFlowSwitch {
  readonly streamed: { length: number; commands: string[] }[] = [];

  async streamBundles(list: FlowModList, opts: BundlesOptions = {}): Promise<StreamedBundle[]> {
    const commands: string[] = [];
    this.streamed.push({ length: list.length, commands });
    const per = opts.maxBundleFlows ?? list.length;
    const out: StreamedBundle[] = [];
    for (let start = 0; start < list.length; start += per) {
      const end = Math.min(list.length, start + per);
      const mods: FlowModBody[] = [];
      for (let i = start; i < end; i++) {
        const command = list.command(i);
        const f = list.flow(i);
        commands.push(command);
        mods.push({
          command, cookie: f.cookie, cookieMask: 0n, tableId: f.tableId, idleTimeout: 0, hardTimeout: 0, priority: f.priority,
          bufferId: 'NO_BUFFER', outPort: 'ANY', outGroup: 'ANY', flags: [], match: f.match, instructions: [...f.instructions],
        });
      }
      const r = await this.bundle(mods);
      out.push({ ...r, start, end });
      if (!r.committed) break;
    }
    return out;
  }
}

const realTimers = { now: () => performance.now(), setTimeout: (fn: () => void, ms: number) => ({ id: setTimeout(fn, ms) }), clearTimeout: (h: { id: unknown }) => clearTimeout(h.id as NodeJS.Timeout) };

void test('reconciler, streamed: an empty table gets every desired flow as an add, stamped with the generation, in bundles of maxBundleFlows', async () => {
  const sw = new StreamingFakeSwitch();
  const desired = [...pipelineFlows(120), ...dropFlows()];
  const r = new Reconciler(sw, { timers: realTimers, batchMs: 0, maxBundleFlows: 100 });
  r.setDesired(desired);
  r.start();
  sw.connect();
  await r.whenIdle();
  assert.equal(sw.streamed.length, 1);
  assert.equal(sw.streamed[0]?.length, desired.length);
  assert.ok(sw.streamed[0]?.commands.every((c) => c === 'ADD'));
  assert.equal(sw.bundles, Math.ceil(desired.length / 100));
  assert.equal(sw.flows.size, desired.length);
  assert.ok([...sw.flows.values()].every((f) => cookieGeneration(f.cookie) === 1));
  const st = r.status();
  assert.equal(st.installed, desired.length);
  assert.equal(st.lastRun?.adds, desired.length);
  assert.equal(st.lastRun?.bundles, Math.ceil(desired.length / 100));
  assert.equal(st.inSync, true);
  // The installed table holds the flows as written: a second full set changes nothing.
  r.setDesired(desired);
  await r.whenIdle();
  assert.equal(sw.streamed.length, 1);
  r.stop();
});

void test('reconciler, streamed: a table that is not empty goes through the diff (correct flows kept, foreign ones deleted)', async () => {
  const sw = new StreamingFakeSwitch();
  const desired = [...pipelineFlows(40), ...dropFlows()];
  // One desired flow already installed as wanted, and a foreign flow.
  const kept = desired[5]!;
  sw.addForeign({ ...kept });
  sw.addForeign({ tableId: 7, priority: 9, match: [{ field: 'eth_type', value: 0x86dd }], cookie: 0x42n, instructions: [] });
  const r = new Reconciler(sw, { timers: realTimers, batchMs: 0 });
  r.setDesired(desired);
  r.start();
  sw.connect();
  await r.whenIdle();
  const cmds = sw.streamed[0]?.commands ?? [];
  assert.equal(cmds.filter((c) => c === 'ADD').length, desired.length - 1, 'the flow already installed is not written again');
  assert.deepEqual(cmds.filter((c) => c !== 'ADD'), ['DELETE_STRICT']);
  assert.equal(sw.flows.size, desired.length);
  assert.ok(![...sw.flows.values()].some((f) => f.tableId === 7));
  assert.equal(r.status().lastRun?.dels, 1);
  assert.equal(r.status().lastRun?.foreignDeleted, 1);
  r.stop();
});

void test('a bundle the switch refuses as a whole (ONF bundle error on OPEN and on every add) sets no flow aside; the retry installs them', async () => {
  const timers = new FakeTimers();
  const peer = new FakeOfPeer();
  const s = new OpenFlowSession({ target: { kind: 'unix', path: '/nonexistent/br-int.mgmt' }, connector: peer.connector, timers, writeBatch: 16 });
  const up = new Promise((r) => s.once('connected', r));
  s.start();
  await up;
  let refuse = true;
  const onf = (xid: number): void => peer.send({ type: 'ERROR', xid, errType: 'EXPERIMENTER', code: 2300, experimenter: 0x4f4e4600, data: new Uint8Array(0) });
  peer.hook = (m) => {
    if (m.type === 'MULTIPART_REQUEST' && m.mpType === 'FLOW') {
      peer.send({ type: 'MULTIPART_REPLY', xid: m.xid, mpType: 'FLOW', flags: [], body: [] });
      return true;
    }
    if (refuse && m.type === 'BUNDLE_CONTROL' && m.ctrlType === 'OPEN_REQUEST') {
      onf(m.xid);
      return true;
    }
    if (refuse && (m.type === 'BUNDLE_ADD_MESSAGE' || (m.type === 'BUNDLE_CONTROL' && m.ctrlType !== 'OPEN_REQUEST'))) {
      onf(m.xid);
      return true;
    }
    return false;
  };
  const flows = Array.from({ length: 300 }, (_, i) => flowAt(i));
  const r = new Reconciler(s, { timers, batchMs: 0, retryMs: 10 });
  const reported: (number | undefined)[] = [];
  r.on('error', (e) => reported.push(e.index));
  r.setDesired(flows.map((f) => ({ ...f, instructions: [...f.instructions] })));
  r.start();
  timers.advance(0);
  await flush(40);
  let st = r.status();
  assert.equal(st.errors, 1);
  assert.deepEqual(st.rejected, [], 'a bundle error is no verdict on a flow');
  assert.ok(reported.length >= 1 && reported.length <= 101, `errors kept per bundle are capped: 100 for its flow mods and the OPEN's own (${reported.length})`);
  assert.ok(reported.every((i) => i === undefined), 'no flow is blamed');
  assert.ok(peer.of('BUNDLE_ADD_MESSAGE').length < 300, 'streaming stopped once the OPEN was refused');
  refuse = false;
  timers.advance(10);
  await flush(40);
  st = r.status();
  assert.equal(st.installed, 300);
  assert.equal(st.inSync, true);
  r.stop();
  s.stop();
});
