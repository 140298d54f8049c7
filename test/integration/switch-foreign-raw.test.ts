// Foreign flows that use fields the codec keeps raw (Open vSwitch's pkt_mark, reg8-15, ct_mark, set
// with set_field or inside ct()) on a real ovs-vswitchd: the agent's FLOW dump reads them, prints them
// as ovs-ofctl does, and the reconciler removes them (DELETE_STRICT with the raw match bytes) or
// replaces the one that shares an identity with a desired flow. Before the codec kept raw set-fields,
// one such flow made the whole dump fail and the reconciler could not run at all.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { OvsPreparer } from '../../src/switch/ovs.js';
import { OpenFlowSession } from '../../src/switch/session.js';
import { parseTarget } from '../../src/switch/transport.js';
import { Reconciler } from '../../src/reconcile/reconciler.js';
import { flowView } from '../../src/agent/flowview.js';
import { OvsHost } from '../support/switch-ovshost.js';
import { dropFlows } from '../support/switch-flows.js';

let host: OvsHost;
const open: { stop(): void }[] = [];

const FOREIGN = [
  'table=3,priority=7,pkt_mark=0x3,reg8=0x9,actions=set_field:0x5->pkt_mark,set_field:0x1234->reg8,set_field:0x3->reg15',
  'table=3,priority=8,ct_state=+trk,ct_mark=0x10,ip,actions=ct(commit,exec(set_field:0x7->ct_mark)),load:0x5->NXM_NX_PKT_MARK[0..7],set_field:0x100000002->xreg2',
  // Same identity as the desired table-miss flow of table 1: replaced, not deleted.
  'table=1,priority=0,actions=set_field:0x5->pkt_mark,NORMAL',
];

/** "priority=... actions=..." of a dump-flows line: what identifies and what the flow does. */
const tail = (line: string): string => /priority=\S+ actions=\S+/.exec(line)?.[0] ?? line;

void describe('foreign flows with fields the codec keeps raw, on ovs-vswitchd', { timeout: 60000 }, () => {
  before(() => {
    host = OvsHost.start();
  });

  after(() => {
    for (const o of open) o.stop();
    host?.stop();
  });

  void test('are read, printed as ovs-ofctl prints them, and removed or replaced by the reconciler', async () => {
    await new OvsPreparer({ db: host.db, bridge: 'br-int', datapathType: 'netdev', encap: 'vxlan', tunnelPort: 'tun0', vtepIp: '192.168.100.1' }).prepare();
    for (const f of FOREIGN) host.ofctl('add-flow', f);
    const ovs = host.dumpFlows().map(tail).sort();
    assert.equal(ovs.length, FOREIGN.length, ovs.join('\n'));

    const s = new OpenFlowSession({ target: parseTarget(host.mgmt), reconnectMinMs: 50, reconnectMaxMs: 500 });
    open.push(s);
    s.start();
    await s.whenConnected();
    const dumped = await s.dumpFlows({}, 5000);
    assert.equal(s.status().undecodableFlows, 0);
    assert.deepEqual(dumped.map((f) => f.undecodable), dumped.map(() => undefined));
    // The bumless flows view of each dumped flow is the line ovs-ofctl prints for it; raw Nicira actions
    // (ct, the masked load) print as experimenter(0x2320), so only the match is compared for that one.
    const mine = dumped.map((f) => {
      const v = flowView(f);
      return `priority=${f.priority}${v.match ? `,${v.match}` : ''} actions=${v.actions}`;
    }).sort();
    assert.deepEqual(mine.map((l) => l.split(' actions=')[0]), ovs.map((l) => l.split(' actions=')[0]));
    assert.deepEqual(mine.filter((l) => !l.startsWith('priority=8')), ovs.filter((l) => !l.startsWith('priority=8')));
    assert.match(mine.find((l) => l.startsWith('priority=8'))!, / actions=experimenter\(0x2320\),experimenter\(0x2320\),set_field:0x100000002->xreg2$/);
    const pm = dumped.find((f) => f.priority === 7)!;
    const sf = pm.instructions[0]?.type === 'APPLY_ACTIONS' ? pm.instructions[0].actions[0] : undefined;
    assert.ok(sf?.type === 'SET_FIELD' && sf.field.field === 'raw' && sf.field.oxmClass === 1 && sf.field.oxmField === 33, JSON.stringify(sf, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));

    const desired = dropFlows();
    const r = new Reconciler(s, { batchMs: 2 });
    open.push(r);
    r.setDesired(desired);
    r.start();
    await r.whenIdle();
    const run = r.status().lastRun;
    assert.ok(run, 'the reconciler ran');
    assert.equal(run.foreignDeleted, 2);
    assert.equal(run.dels, 2);
    assert.equal(run.replaces, 1);
    assert.equal(run.adds, 2);
    assert.equal(r.status().inSync, true);
    const after = host.dumpFlows();
    assert.deepEqual(after.map(tail).sort(), ['priority=0 actions=drop', 'priority=0 actions=drop', 'priority=0 actions=drop'], after.join('\n'));
    assert.ok(after.every((l) => l.includes('cookie=0xb1e5')), after.join('\n'));
  });
});
