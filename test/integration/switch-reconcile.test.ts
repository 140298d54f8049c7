// The switch session and the reconciler against a real ovs-vswitchd (userspace datapath) in a
// throwaway namespace: bridge preparation, the management socket, 10,000 flows, restarts of the
// reconciler and of ovs-vswitchd, foreign flows, and a flow the switch rejects.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { OvsPreparer, type OvsSettings } from '../../src/switch/ovs.js';
import { readBumDrops } from '../../src/switch/counters.js';
import { makeCookie } from '../../src/pipeline/cookie.js';
import { OpenFlowSession, type OfpErrorRecord } from '../../src/switch/session.js';
import { parseTarget } from '../../src/switch/transport.js';
import { Reconciler, type ReconcileRun } from '../../src/reconcile/reconciler.js';
import type { DesiredFlow } from '../../src/reconcile/table.js';
import { OvsHost } from '../support/switch-ovshost.js';
import { dropFlows, endpointFlows, pipelineFlows } from '../support/switch-flows.js';

const N = 10000;
let host: OvsHost;
const open: { stop(): void }[] = [];

function settings(over: Partial<OvsSettings> = {}): OvsSettings {
  return { db: host.db, bridge: 'br-int', datapathType: 'netdev', encap: 'vxlan', tunnelPort: 'tun0', vtepIp: '192.168.100.1', ...over };
}

function session(): OpenFlowSession {
  const s = new OpenFlowSession({ target: parseTarget(host.mgmt), reconnectMinMs: 50, reconnectMaxMs: 500 });
  open.push(s);
  return s;
}

function reconciler(s: OpenFlowSession, desired: DesiredFlow[]): Reconciler {
  const r = new Reconciler(s, { batchMs: 2 });
  open.push(r);
  r.setDesired(desired);
  r.start();
  return r;
}

/** flow text (ovs-ofctl, without stats) -> duration in seconds */
function durations(): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of host.dumpFlows(true)) {
    const d = /duration=([\d.]+)s/.exec(line);
    const key = line.replace(/(duration|n_packets|n_bytes|idle_age|hard_age)=[^,\s]+,?\s?/g, '').trim();
    if (d) out.set(key, Number(d[1]));
  }
  return out;
}

const base: DesiredFlow[] = [...pipelineFlows(N, { remoteEvery: 3 }), ...dropFlows()];

void describe('switch + reconcile against ovs-vswitchd', { timeout: 120000 }, () => {
  before(() => {
    host = OvsHost.start();
  });

  after(() => {
    for (const o of open) o.stop();
    host?.stop();
  });

  void test('prepares the bridge from scratch, then changes nothing, then repairs drift', async () => {
    const first = await new OvsPreparer(settings()).prepare();
    assert.ok(first.changes.some((c) => c.startsWith('add-br br-int')), first.changes.join('; '));
    assert.ok(first.changes.some((c) => c.startsWith('add-port br-int tun0 type=vxlan')));
    assert.equal(host.vsctl('get', 'bridge', 'br-int', 'datapath_type'), 'netdev');
    assert.match(host.vsctl('get', 'bridge', 'br-int', 'protocols'), /OpenFlow13/);
    assert.equal(host.vsctl('get', 'bridge', 'br-int', 'fail_mode'), 'secure');
    assert.equal(host.vsctl('get', 'interface', 'tun0', 'type'), 'vxlan');
    assert.equal(host.vsctl('get', 'interface', 'tun0', 'options'), '{key=flow, local_ip="192.168.100.1", remote_ip=flow}');
    assert.equal(first.tunnelOfport, Number(host.vsctl('get', 'interface', 'tun0', 'ofport')));
    assert.ok(first.tunnelOfport > 0);

    const again = await new OvsPreparer(settings()).prepare();
    assert.deepEqual(again.changes, []);
    assert.equal(again.tunnelOfport, first.tunnelOfport);

    // drift: flooding fail mode, 1.3 removed, a per-peer tunnel port beside ours
    host.vsctl('set', 'bridge', 'br-int', 'fail_mode=standalone', 'protocols=OpenFlow10');
    host.vsctl('add-port', 'br-int', 'vx9', '--', 'set', 'interface', 'vx9', 'type=vxlan', 'options:remote_ip=192.168.100.9');
    const repaired = await new OvsPreparer(settings()).prepare();
    assert.deepEqual(repaired.changes.map((c) => c.split(' ').slice(0, 4).join(' ')).sort(), [
      'del-port br-int vx9 (vxlan)',
      'set bridge br-int fail_mode=secure',
      'set bridge br-int protocols=OpenFlow10,OpenFlow13',
    ]);
    assert.equal(host.vsctl('get', 'bridge', 'br-int', 'fail_mode'), 'secure');
    assert.equal(host.vsctl('list-ports', 'br-int'), 'tun0');

    // another encapsulation reconfigures the one tunnel port in place
    const geneve = await new OvsPreparer(settings({ encap: 'geneve' })).prepare();
    assert.equal(host.vsctl('get', 'interface', 'tun0', 'type'), 'geneve');
    assert.equal(geneve.changes.length, 1);
    await new OvsPreparer(settings()).prepare();
    assert.equal(host.vsctl('get', 'interface', 'tun0', 'type'), 'vxlan');
  });

  void test('connects over the management socket: datapath id and port map', async () => {
    const s = session();
    s.start();
    await s.whenConnected();
    const show = host.ofctl('show');
    const dpid = /dpid:([0-9a-f]{16})/.exec(show)?.[1];
    assert.equal(s.datapathId, BigInt(`0x${dpid}`));
    assert.equal(s.ofport('tun0'), Number(host.vsctl('get', 'interface', 'tun0', 'ofport')));
    assert.equal(s.status().state, 'connected');
    s.stop();
  });

  let r: Reconciler;
  let s: OpenFlowSession;

  void test(`installs ${N} flows in one reconcile and removes foreign NORMAL flows`, async () => {
    host.ofctl('add-flow', 'priority=0,actions=NORMAL');
    host.ofctl('add-flow', 'table=0,priority=5,actions=NORMAL');
    s = session();
    s.start();
    await s.whenConnected();
    const t0 = performance.now();
    r = reconciler(s, base);
    await r.whenIdle();
    const ms = performance.now() - t0;
    console.log(`# installed ${base.length} flows in ${ms.toFixed(0)} ms: ${Math.round((base.length / ms) * 1000)} flows/s`);

    const lines = host.dumpFlows();
    assert.equal(lines.length, base.length);
    assert.ok(!lines.some((l) => l.includes('NORMAL')), 'no NORMAL flow survives');
    const st = r.status();
    assert.equal(st.inSync, true);
    assert.equal(st.installed, base.length);
    assert.equal(st.lastRun?.adds, base.length - 1);
    assert.equal(st.lastRun?.replaces, 1, 'the table-0 priority-0 NORMAL flow became our drop flow');
    assert.equal(st.lastRun?.dels, 1);
    assert.equal(st.lastRun?.foreignDeleted, 1);
    // a few exact flows, as Open vSwitch prints them
    const gen = 'b1e50001';
    assert.ok(lines.includes(`cookie=0x${gen}00006401, priority=100,in_port=2,dl_src=02:00:00:00:00:01 actions=set_field:0x64->tun_id,goto_table:1`));
    assert.ok(lines.includes(
      `cookie=0x${gen}00006402, table=1, priority=200,arp,tun_id=0x64,dl_dst=ff:ff:ff:ff:ff:ff,arp_tpa=10.0.0.1,arp_op=1 ` +
        'actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],set_field:02:00:00:00:00:01->eth_src,set_field:2->arp_op,' +
        'move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],set_field:02:00:00:00:00:01->arp_sha,' +
        'set_field:10.0.0.1->arp_spa,IN_PORT',
    ), lines.filter((l) => l.includes('arp_tpa=10.0.0.1,')).join('\n'));
    assert.ok(lines.includes(`cookie=0x${gen}00006403, table=2, priority=100,tun_id=0x64,dl_dst=02:00:00:00:00:01 actions=set_field:192.168.100.2->tun_dst,output:1`));
    assert.ok(lines.includes(`cookie=0x${gen}00000009, table=1, priority=0 actions=drop`));
  });

  void test('a restarted reconciler with the same desired set sends no flow mod and resets no duration', async () => {
    await new Promise((res) => setTimeout(res, 1100));
    r.stop();
    s.stop();
    const before = durations();
    s = session();
    s.start();
    await s.whenConnected();
    r = reconciler(s, base);
    await r.whenIdle();
    assert.equal(r.status().flowModsSent, 0);
    assert.equal(r.status().inSync, true);
    assert.equal(r.status().dumps, 1);
    const now = durations();
    assert.equal(now.size, before.size);
    for (const [k, d] of before) assert.ok((now.get(k) ?? -1) >= d, `duration of ${k} went from ${d} to ${now.get(k)}`);
    assert.ok(Math.min(...now.values()) >= 1, 'every flow is older than the restart');
  });

  void test('a changed subset changes exactly those flows', async () => {
    const before = durations();
    // 100 unicast flows now go to a remote VTEP (instructions change: MODIFY_STRICT), 50 flows go, 50 come
    // pipelineFlows emits 4 flows per endpoint k; index 4k+2 is its table-2 unicast flow, local unless k % 3 === 0
    const changed = new Set<string>();
    const next = base.slice(0, base.length - 3 - 50);
    for (let k = 0; changed.size < 100; k++) {
      if (k % 3 === 0) continue;
      const remote = endpointFlows(k, { remote: true })[2];
      assert.ok(remote && next[4 * k + 2]?.tableId === 2);
      next[4 * k + 2] = remote;
      const dst = remote.match[1];
      changed.add(`dl_dst=${dst && dst.field !== 'raw' ? String(dst.value) : ''}`);
    }
    const added = endpointFlows(90000).concat(...Array.from({ length: 12 }, (_, k) => endpointFlows(90001 + k))).slice(0, 50);
    const want = [...next, ...added, ...dropFlows()];
    const runs: ReconcileRun[] = [];
    r.on('reconciled', (run) => runs.push(run));
    r.setDesired(want);
    await r.whenIdle();
    assert.equal(runs.length, 1);
    assert.equal(runs[0]?.adds, 50);
    assert.equal(runs[0]?.mods, changed.size);
    assert.equal(runs[0]?.dels, 50);
    assert.equal(runs[0]?.replaces, 0);
    const lines = host.dumpFlows();
    assert.equal(lines.length, want.length);
    const after = durations();
    let kept = 0;
    for (const [k, d] of before) {
      const now = after.get(k);
      if (now !== undefined) {
        kept++;
        assert.ok(now >= d, `untouched flow ${k} was reset`);
      }
    }
    assert.equal(kept, base.length - 50 - changed.size, 'every flow but the deleted and modified ones is unchanged');
    // modified flows keep their duration too (MODIFY_STRICT), with the new actions
    for (const mac of [...changed].slice(0, 5)) {
      const line = [...after.keys()].find((l) => l.includes(mac) && l.includes('table=2')) ?? '';
      assert.ok(line.includes('set_field:192.168.100.') && line.includes('output:1'), line);
      assert.ok((after.get(line) ?? 0) >= 1, 'a modified flow keeps its age');
    }
    base.splice(0, base.length, ...want);
  });

  void test('after ovs-vswitchd is killed and restarted, every flow is back, exactly as before', async () => {
    const runs: { at: number; run: ReconcileRun }[] = [];
    r.on('reconciled', (run) => runs.push({ at: performance.now(), run }));
    // A reconcile after the restart writes a new generation into the cookies (0xb1e5 + 16-bit generation +
    // VNI and kind); everything else of each flow must be as before.
    const withoutGeneration = (lines: string[]) => lines.map((l) => l.replace(/cookie=0xb1e5[0-9a-f]{4}/, 'cookie=0xb1e5....')).sort();
    const installedBefore = withoutGeneration(host.dumpFlows());
    assert.equal(installedBefore.length, base.length);
    const lost = new Promise((res) => s.once('disconnected', res));
    await host.killVswitchd();
    await lost;
    const t0 = performance.now();
    const reconnected = new Promise<number>((res) => s.once('connected', () => res(performance.now())));
    host.startVswitchd();
    const tc = await reconnected;
    await r.whenIdle();
    const last = runs.at(-1);
    assert.ok(last);
    const ms = last.at - tc;
    console.log(`# ovs-vswitchd restart: reconnect ${(tc - t0).toFixed(0)} ms after start, ${base.length} flows back ${ms.toFixed(0)} ms after the reconnect`);
    // How fast is measured by bench B6 (reported, not asserted: shared machines are noisy); here only that
    // the restarted switch gets every flow back in one reconcile, each with the same match and actions.
    assert.equal(last.run.adds, base.length);
    const installedAfter = withoutGeneration(host.dumpFlows());
    const [beforeSet, afterSet] = [new Set(installedBefore), new Set(installedAfter)];
    const missing = installedBefore.filter((l) => !afterSet.has(l));
    const extra = installedAfter.filter((l) => !beforeSet.has(l));
    assert.deepEqual({ missing: missing.slice(0, 5), extra: extra.slice(0, 5) }, { missing: [], extra: [] });
    assert.equal(installedAfter.length, installedBefore.length);
    assert.equal(r.status().inSync, true);
    // preparing again after the restart changes nothing
    assert.deepEqual((await new OvsPreparer(settings()).prepare()).changes, []);
  });

  void test('a flow the switch rejects produces an error matched to that flow; the rest stays installed', async () => {
    const errors: OfpErrorRecord[] = [];
    r.on('error', (e) => errors.push(e));
    // goto_table may only go forward: OVS refuses this one
    const bad: DesiredFlow = { tableId: 2, priority: 50, match: [{ field: 'eth_type', value: 0x0800 }], cookie: 0xb1e5_0000_0000_0101n, instructions: [{ type: 'GOTO_TABLE', tableId: 1 }] };
    const good = endpointFlows(95000);
    r.updateDesired({ upsert: [bad, ...good] });
    await r.whenIdle();
    assert.equal(errors.length, 1);
    const e = errors[0];
    assert.equal(e?.flow?.tableId, 2);
    assert.equal(e?.flow?.priority, 50);
    assert.deepEqual(e?.flow?.match, bad.match);
    assert.match(e?.text ?? '', /table=2 priority=50 eth_type=2048/);
    const st = r.status();
    assert.equal(st.errors, 1);
    assert.equal(st.rejected.length, 1);
    assert.equal(st.inSync, true);
    const sess = s.status();
    assert.ok(sess.errors.total >= 1);
    assert.ok(sess.errors.recent.some((x) => x.flow?.priority === 50));
    // the good flows of the same batch are installed (on the retry without the rejected one)
    const lines = host.dumpFlows();
    assert.equal(lines.length, base.length + good.length);
    assert.ok(!lines.some((l) => l.includes('priority=50')));
  });

  void test('BUM drop counters per network come from the drop flows\' packet counters', async () => {
    // broadcast from the bridge's own port in VNI 100 and 101 hits per-network drop flows
    const drops: DesiredFlow[] = [100, 101].map((vni, i) => ({
      tableId: 0, priority: 5, cookie: makeCookie('bum-drop', vni),
      match: [{ field: 'in_port', value: 'LOCAL' }, { field: 'eth_dst', value: 'ff:ff:ff:ff:ff:ff' }, { field: 'eth_type', value: 0x0800 + i }],
      instructions: [],
    }));
    r.updateDesired({ upsert: drops });
    await r.whenIdle();
    const frame = (type: string): string => `ffffffffffff020000000001${type}${'00'.repeat(46)}`;
    for (let k = 0; k < 3; k++) host.ofctl('packet-out', `in_port=LOCAL packet=${frame('0800')} actions=table`);
    host.ofctl('packet-out', `in_port=LOCAL packet=${frame('0801')} actions=table`);
    const counters = await readBumDrops(s);
    const by = new Map(counters.map((c) => [c.vni, c]));
    assert.equal(by.get(100)?.packets, 3n);
    assert.equal(by.get(100)?.byKind['bum-drop'], 3n);
    assert.equal(by.get(101)?.packets, 1n);
    assert.equal(by.get(100)?.bytes, 3n * 60n);
  });
});
