// B5 and B6: the parsers of Open vSwitch's userspace-datapath output (pmd-stats-show, dpctl/dump-flows,
// coverage/show), on text captured from the lab's ovs-vswitchd 3.1 during an iperf3 stream; B6's flow mods of a restarted agent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCoverage, parseDpFlows, parsePmdStats, streamShapes } from '../../bench/b5-dataplane.js';
import { maskShape } from '../../bench/lib/traffic.js';
import { restartFlowMods, restartNote } from '../../bench/b6-restart.js';

const PMD = `main thread:
  packets received: 73638
  packet recirculations: 13738
  avg. datapath passes per packet: 1.19
  phwol hits: 0
  mfex opt hits: 0
  simple match hits: 0
  emc hits: 86924
  smc hits: 0
  megaflow hits: 452
  avg. subtable lookups per megaflow hit: 1.24
  miss with success upcall: 2
  miss with failed upcall: 1
  avg. packets per output batch: 19.33
pmd thread numa_id 0 core_id 1:
  packets received: 10
  emc hits: 4
  smc hits: 0
  megaflow hits: 548
  avg. subtable lookups per megaflow hit: 2.00
  miss with success upcall: 0
  miss with failed upcall: 0
`;

const DUMP = `flow-dump from the main thread:
recirc_id(0),in_port(5),packet_type(ns=0,id=0),eth(src=02:b6:ff:00:00:01,dst=02:b6:ff:00:00:02),eth_type(0x0800),ipv4(src=10.64.0.1,tos=0/0x3,frag=no), packets:31390, bytes:45822303, used:0.000s, flags:SP., actions:tnl_push(tnl_port(4),header(size=50,type=4,eth(dst=6a:6d:e1:ec:14:4a,src=3e:63:c3:47:74:4e,dl_type=0x0800),ipv4(src=192.168.112.11,dst=192.168.112.12,proto=17,tos=0,ttl=64,frag=0x4000),udp(src=0,dst=4789,csum=0x0),vxlan(flags=0x8000000,vni=0xfa0)),out_port(1)),2
tunnel(tun_id=0xfa0,src=192.168.112.12,dst=192.168.112.11,flags(-df-csum+key)),recirc_id(0),in_port(4),packet_type(ns=0,id=0),eth(dst=02:b6:ff:00:00:01),eth_type(0x0800),ipv4(frag=no), packets:7637, bytes:592123, used:0.000s, flags:SP., actions:5
recirc_id(0),in_port(5),packet_type(ns=0,id=0),eth(src=02:b6:ff:00:00:01,dst=33:33:00:00:00:02/01:00:00:00:00:00),eth_type(0x86dd),ipv6(frag=no), packets:3, bytes:210, used:4.2s, actions:drop
recirc_id(0),in_port(2),packet_type(ns=0,id=0),eth(src=aa:c0:35:e8:f8:4f,dst=3e:63:c3:47:74:4e),eth_type(0x0806),arp(sip=192.168.112.13,tip=192.168.112.11,op=1), packets:0, bytes:0, used:never, actions:1
`;

void test('pmd-stats-show: hits and upcalls summed over threads, lookups per hit weighted by hits', () => {
  const s = parsePmdStats(PMD);
  assert.equal(s.packets, 73648);
  assert.equal(s.emcHits, 86928);
  assert.equal(s.megaflowHits, 1000);
  assert.equal(s.upcalls, 2);
  assert.equal(s.failedUpcalls, 1);
  assert.ok(Math.abs(s.subtableLookups! - (1.24 * 452 + 2 * 548) / 1000) < 1e-9);
  assert.equal(parsePmdStats('main thread:\n  megaflow hits: 0\n').subtableLookups, null);
});

void test('dump-flows: key, packets and actions; the stream is the flows with a tenth of the busiest one', () => {
  const flows = parseDpFlows(DUMP);
  assert.equal(flows.length, 4);
  assert.equal(flows[1]!.packets, 7637);
  assert.equal(flows[1]!.actions, '5');
  assert.match(flows[0]!.actions, /^tnl_push\(/);
  assert.deepEqual(streamShapes(flows), [
    'recirc_id(),in_port(),packet_type(ns,id),eth(src,dst),eth_type(),ipv4(src,tos/0x3,frag)',
    'tunnel(tun_id,src,dst,flags()),recirc_id(),in_port(),packet_type(ns,id),eth(dst),eth_type(),ipv4(frag)',
  ]);
  assert.deepEqual(streamShapes([]), []);
});

void test('mask shapes keep which fields are matched: eth(dst) is not eth(src), masks stay', () => {
  assert.notEqual(maskShape('eth(dst=02:00:00:00:00:01)'), maskShape('eth(src=02:00:00:00:00:01)'));
  assert.equal(maskShape('in_port(2),eth(dst=02:00:00:00:00:01)'), 'in_port(),eth(dst)');
  assert.equal(maskShape('eth(src=02:b6:ff:00:00:01,dst=33:33:00:00:00:02/01:00:00:00:00:00)'), 'eth(src,dst/01:00:00:00:00:00)');
});

void test('coverage/show totals by counter', () => {
  const c = parseCoverage(`Event coverage, avg rate over last: 5 seconds, last minute, last hour,  hash=976263fd:
bridge_reconfigure         0.0/sec     0.000/sec        0.0050/sec   total: 18
rev_flow_table             0.2/sec     0.017/sec        0.0003/sec   total: 3
122 events never hit
`);
  assert.equal(c.get('rev_flow_table'), 3);
  assert.equal(c.get('bridge_reconfigure'), 18);
  assert.equal(c.size, 2);
});

void test('B6: flow mods of the restarted agent from its status, with or without its own count', () => {
  assert.equal(restartFlowMods({ count: 0, flowModsSent: 0 }), 0);
  assert.equal(restartFlowMods({ count: 2, flowModsSent: 7, lastAdded: 1 }), 7);
  // An agent without flowModsSent: no run with changes means nothing was sent; one run is all of it.
  assert.equal(restartFlowMods({ count: 0 }), 0);
  assert.equal(restartFlowMods({ count: 1, lastAdded: 3, lastModified: 1, lastDeleted: 2 }), 6);
  assert.equal(restartFlowMods({ count: 2, lastAdded: 3 }), null);
  assert.equal(restartNote({ count: 0, flowModsSent: 0 }), '0 flow mods sent; no reconcile run had anything to change (the dump matched the desired table)');
  assert.equal(restartNote({ count: 1, flowModsSent: 1200, lastAdded: 1000, lastModified: 0, lastDeleted: 200 }), '1,200 flow mods sent in 1 reconcile run(s) that changed flows; the last added 1000, modified 0, deleted 200');
  assert.match(restartNote({ count: 3 }), /^flow mods sent unknown/);
  assert.doesNotMatch(restartNote({ count: 0 }), /\?/);
});
