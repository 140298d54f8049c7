// One flow the codec cannot decode (here: an action type it does not know) must not make the whole FLOW
// dump fail: the session decodes the reply entry by entry and keeps that flow by identity, and the
// reconciler then deletes it (foreign) or rewrites it (ours) with strict flow mods by that identity.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from 'node-openflow';
import type { FlowStats, MultipartReplyMessage } from 'node-openflow';
import { FakeTimers } from '../../src/switch/clock.js';
import { decodeFlowReplyPerEntry } from '../../src/switch/codec.js';
import { OpenFlowRequestError, OpenFlowSession, type DumpedFlow } from '../../src/switch/session.js';
import { Reconciler } from '../../src/reconcile/reconciler.js';
import { flowKey } from '../../src/reconcile/identity.js';
import type { Timers } from '../../src/switch/clock.js';
import { FakeOfPeer } from '../support/switch-ofpeer.js';
import { FakeFlowSwitch } from '../support/switch-fake.js';
import { dropFlows } from '../support/switch-flows.js';

const stats = (priority: number, port: number, cookieValue = 0n): FlowStats => ({
  tableId: 3, durationSec: 1, durationNsec: 0, priority, idleTimeout: 0, hardTimeout: 0, flags: [], cookie: cookieValue,
  packetCount: 7n, byteCount: 700n,
  match: [{ field: 'in_port', value: port }, { field: 'raw', oxmClass: 1, oxmField: 33, hasMask: false, payload: Buffer.from('00000003', 'hex') }],
  instructions: [{ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: 9 }] }],
});

/** A FLOW reply of three flows whose middle one has an action of type 0x7777 (no such action). */
function replyWithBadMiddle(xid: number, flags: MultipartReplyMessage['flags'] = []): Buffer {
  const flows = [stats(10, 1), stats(20, 2, 0x2an), stats(30, 3)];
  const b = encode({ type: 'MULTIPART_REPLY', xid, mpType: 'FLOW', flags, body: flows });
  const first = b.readUInt16BE(16);
  const matchLen = b.readUInt16BE(16 + first + 48 + 2);
  // entry start + fixed part + padded match + instruction header: the action's type field.
  b.writeUInt16BE(0x7777, 16 + first + 48 + ((matchLen + 7) & ~7) + 8);
  return b;
}

void test('decodeFlowReplyPerEntry keeps every decodable flow and the undecodable one by identity', () => {
  const r = decodeFlowReplyPerEntry(replyWithBadMiddle(5));
  assert.ok(r);
  assert.ok(r.msg.type === 'MULTIPART_REPLY' && r.msg.mpType === 'FLOW');
  assert.equal(r.msg.xid, 5);
  const body = r.msg.body as DumpedFlow[];
  assert.deepEqual(body.map((f) => f.priority), [10, 20, 30]);
  assert.equal(body[0]!.undecodable, undefined);
  assert.equal(body[2]!.instructions.length, 1);
  const bad = body[1]!;
  assert.deepEqual(bad.match, stats(20, 2).match);
  assert.equal(bad.cookie, 0x2an);
  assert.equal(bad.packetCount, 7n);
  assert.deepEqual(bad.instructions, []);
  assert.match(bad.undecodable!.error, /OF_BAD_ACTION_TYPE/);
  // The instruction bytes as sent: APPLY_ACTIONS (4), length 24, then the unknown action.
  assert.equal(Buffer.from(bad.undecodable!.instructions).toString('hex').slice(0, 24), '000400180000000077770010');
  assert.deepEqual(r.undecodable, [bad]);
  assert.deepEqual(r.lost, []);
});

void test('decodeFlowReplyPerEntry gives up when entry boundaries cannot be trusted, and ignores other replies', () => {
  const b = replyWithBadMiddle(6);
  b.writeUInt16BE(12, 16); // first entry claims 12 bytes: shorter than any flow entry
  assert.equal(decodeFlowReplyPerEntry(b), undefined);
  const c = replyWithBadMiddle(6);
  c.writeUInt16BE(c.readUInt16BE(16) + 8, 16); // first entry overlaps the second
  assert.equal(decodeFlowReplyPerEntry(Buffer.concat([c])), undefined);
  assert.equal(decodeFlowReplyPerEntry(encode({ type: 'BARRIER_REPLY', xid: 1 })), undefined);
});

function session(): { peer: FakeOfPeer; s: OpenFlowSession } {
  const peer = new FakeOfPeer();
  const s = new OpenFlowSession({
    target: { kind: 'unix', path: '/nonexistent/br-int.mgmt' }, connector: peer.connector, timers: new FakeTimers(),
    echoIntervalMs: 5000, inactivityTimeoutMs: 10000, reconnectMinMs: 100, reconnectMaxMs: 800,
  });
  return { peer, s };
}

void test('dumpFlows: one undecodable flow in a split reply does not fail the dump; it is counted', async () => {
  const { peer, s } = session();
  s.start();
  await new Promise((r) => s.once('connected', r));
  peer.hook = (m) => {
    if (m.type === 'MULTIPART_REQUEST' && m.mpType === 'FLOW') {
      peer.sendRaw(replyWithBadMiddle(m.xid, ['REPLY_MORE']));
      peer.send({ type: 'MULTIPART_REPLY', xid: m.xid, mpType: 'FLOW', flags: [], body: [stats(40, 4)] });
      return true;
    }
  };
  const flows = await s.dumpFlows();
  assert.deepEqual(flows.map((f) => [f.priority, f.undecodable !== undefined]), [[10, false], [20, true], [30, false], [40, false]]);
  assert.equal(s.status().undecodableFlows, 1);
  assert.equal(s.status().decodeErrors, 0);
  assert.equal(s.state, 'connected');
  s.stop();
});

void test('dumpFlows: a reply whose entries cannot be delimited still fails the request with a clear error', async () => {
  const { peer, s } = session();
  s.start();
  await new Promise((r) => s.once('connected', r));
  peer.hook = (m) => {
    if (m.type === 'MULTIPART_REQUEST' && m.mpType === 'FLOW') {
      const b = replyWithBadMiddle(m.xid);
      b.writeUInt16BE(12, 16);
      peer.sendRaw(b);
      return true;
    }
  };
  await assert.rejects(s.dumpFlows(), (e: unknown) => e instanceof Error && !(e instanceof OpenFlowRequestError) && /reply to MULTIPART_REQUEST cannot be decoded/.test(e.message));
  assert.equal(s.status().decodeErrors, 1);
  s.stop();
});

// Real time, but timers that keep the test's event loop alive while a batch is pending.
const timers: Timers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => ({ id: setTimeout(fn, ms) }),
  clearTimeout: (h) => clearTimeout(h.id as NodeJS.Timeout),
};

/** The fake switch, except that flows whose identity is listed dump as undecodable (as the session returns them). */
class SwitchWithUndecodable extends FakeFlowSwitch {
  readonly undecodable = new Set<string>();
  override async dumpFlows(): Promise<DumpedFlow[]> {
    const flows = await super.dumpFlows();
    return flows.map((f) => (this.undecodable.has(flowKey(f.tableId, f.priority, f.match))
      ? { ...f, instructions: [], undecodable: { error: 'OF_BAD_ACTION_TYPE at byte 80: unknown action type 30583', instructions: new Uint8Array([0, 4, 0, 8, 0, 0, 0, 0]) } }
      : f));
  }
}

void test('the reconciler deletes an undecodable foreign flow by identity and rewrites an undecodable one of its own', async () => {
  const sw = new SwitchWithUndecodable();
  const desired = dropFlows();
  const mine = desired[0]!;
  // A foreign flow (cookie 0) with an identity of its own, and one of ours whose instructions went bad.
  const foreign = { tableId: 3, priority: 20, match: stats(20, 2).match, cookie: 0n, instructions: [] };
  sw.addForeign(foreign);
  sw.addForeign({ ...mine, cookie: mine.cookie });
  sw.undecodable.add(flowKey(foreign.tableId, foreign.priority, foreign.match));
  sw.undecodable.add(flowKey(mine.tableId, mine.priority, mine.match));
  const r = new Reconciler(sw, { timers, batchMs: 1 });
  r.setDesired(desired);
  r.start();
  sw.connect();
  await r.whenIdle();
  const byKey = new Map(sw.applied.map((a) => [a.key, a.command]));
  assert.equal(byKey.get(flowKey(foreign.tableId, foreign.priority, foreign.match)), 'DELETE_STRICT');
  assert.equal(byKey.get(flowKey(mine.tableId, mine.priority, mine.match)), 'MODIFY_STRICT');
  assert.equal(sw.flows.has(flowKey(foreign.tableId, foreign.priority, foreign.match)), false);
  assert.equal(r.status().lastRun?.foreignDeleted, 1);
  assert.equal(r.status().inSync, true);
  r.stop();
});
