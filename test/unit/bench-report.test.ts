// The benchmark suite's pure parts: statistics, result schema, table formatting, argument parsing,
// the synthetic registry's sizing, ping and datapath parsing. No timing is asserted anywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { median, percentile, ratio, summarize, StatsError } from '../../bench/lib/stats.js';
import { figure, fmtNum, fmtRatio, fmtSummary, markdownSummary, markdownTable, ResultFileSchema, side, textTable, type ResultFile } from '../../bench/lib/report.js';
import { ArgsError, parseArgs, ORDER } from '../../bench/lib/args.js';
import { generateRegistry, sizeFor, macOf } from '../../bench/lib/registry-gen.js';
import { parsePing, firstReplyAfter } from '../../bench/lib/ping.js';
import { maskShape } from '../../bench/lib/traffic.js';
import { seedIp, seedMac } from '../../bench/lib/seed.js';
import { flowDurations } from '../../bench/b6-restart.js';
import { desiredFlows } from '../../src/pipeline/index.js';

void test('median, nearest-rank percentiles and summary', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  const s = Array.from({ length: 200 }, (_, i) => i + 1);
  assert.equal(percentile(s, 50), 100);
  assert.equal(percentile(s, 99), 198);
  assert.equal(percentile(s, 100), 200);
  assert.equal(percentile([7], 99), 7);
  assert.deepEqual(summarize([5, 1, 9]), { n: 3, median: 5, min: 1, max: 9, p50: 5, p99: 9 });
  assert.throws(() => median([]), StatsError);
  assert.throws(() => summarize([1, Number.NaN]), /not a finite number/);
  assert.throws(() => percentile([1], 0), /outside/);
  assert.equal(ratio(10, 4), 2.5);
  assert.equal(ratio(10, 0), null);
  assert.equal(ratio(undefined, 4), null);
});

void test('figure: ratio of medians, target judged, unmeasured sides keep their reason', () => {
  const f = figure({ bench: 'B1', name: 'install', unit: 'flows/s', better: 'higher', ours: side('bumless', [300, 100, 200]), peer: side('ovs-ofctl', [50, 100, 150]), target: '>= 2.5x', meets: (_o, r) => r !== null && r >= 2.5 });
  assert.equal(f.ratio, 2);
  assert.equal(f.met, false);
  assert.deepEqual(f.ours.value, { n: 3, median: 200, min: 100, max: 300, p50: 200, p99: 300 });
  const g = figure({ bench: 'B3', name: 'sync', unit: 'routes/s', better: 'higher', ours: side('bumless', [10]), peer: side('GoBGP', null, 'gobgpd not installed'), target: '>= 10x', meets: (_o, r) => r !== null && r >= 10 });
  assert.equal(g.ratio, null);
  assert.equal(g.peer?.reason, 'gobgpd not installed');
  assert.equal(g.met, false);
  const h = figure({ bench: 'B4', name: 'rss', unit: 'bytes', better: 'lower', ours: side('bumless', null, 'agent died'), target: '<= 1 KB', meets: () => true });
  assert.equal(h.met, null);
  assert.throws(() => figure({ bench: 'X1', name: 'n', unit: 'u', better: 'lower', ours: side('bumless', [1]) }));
});

void test('number and summary formatting', () => {
  assert.equal(fmtNum(123456.7), '123,457');
  assert.equal(fmtNum(123.4), '123');
  assert.equal(fmtNum(12.34), '12.3');
  assert.equal(fmtNum(1.234), '1.23');
  assert.equal(fmtNum(0.01234), '0.0123');
  assert.equal(fmtNum(0), '0');
  assert.equal(fmtSummary(null), '—');
  assert.equal(fmtSummary(summarize([2, 2])), '2.00');
  assert.equal(fmtSummary(summarize([1, 2, 3])), '2.00 (1.00–3.00)');
  assert.equal(fmtRatio(null), '—');
  assert.equal(fmtRatio(2.345), '2.35x');
  assert.equal(fmtRatio(12.6), '13x');
});

void test('text and markdown tables: aligned columns, peers without a figure show why', () => {
  const figs = [
    figure({ bench: 'B1', name: 'install 10,000 flows', unit: 'flows/s', better: 'higher', ours: side('bumless', [30000]), peer: side('ovs-ofctl', [10000]), target: '>= 2.5x', meets: (_o, r) => (r ?? 0) >= 2.5 }),
    figure({ bench: 'B2', name: 'one | registration', unit: 'ms', better: 'lower', ours: side('bumless', [10, 20]), peer: side('OVN', null, 'ovn-northd missing') }),
  ];
  const t = textTable(figs).split('\n');
  assert.equal(t.length, 4);
  assert.match(t[0]!, /^bench\s+figure\s+unit\s+bumless\s+peer\s+peer figure\s+ratio\s+target$/);
  assert.match(t[1]!, /^-+ {2}-+/);
  // every data row's ratio column starts where the header's does
  const col = t[0]!.indexOf('ratio');
  assert.equal(t[2]!.slice(col, col + 5), '3.00x');
  assert.match(t[2]!, />= 2\.5x ✓$/);
  assert.match(t[3]!, /not measured: ovn-northd missing/);
  const md = markdownTable(figs).split('\n');
  assert.equal(md[1], '| --- | --- | --- | --- | --- | --- | --- | --- |');
  assert.match(md[3]!, /one \\\| registration/);
});

void test('result file schema accepts a run and the summary carries notes and failures', () => {
  const file: ResultFile = {
    version: 1,
    startedAt: '2026-11-21T08:00:00.000Z',
    finishedAt: '2026-11-21T08:04:00.000Z',
    mode: 'quick',
    machine: { cpus: 2, loadavg: [1, 2, 3], node: 'v20', ovs: 'Open vSwitch', kernel: '6.1' },
    results: [
      { id: 'B1', title: 'flows', status: 'ok', seconds: 10, notes: ['procedure'], figures: [figure({ bench: 'B1', name: 'install', unit: 'flows/s', better: 'higher', ours: side('bumless', [1]), note: 'profile' })] },
      { id: 'B2', title: 'convergence', status: 'failed', error: 'lab failed', seconds: 1, notes: [], figures: [] },
    ],
  };
  assert.deepEqual(ResultFileSchema.parse(JSON.parse(JSON.stringify(file))), file);
  assert.throws(() => ResultFileSchema.parse({ ...file, mode: 'slow' }));
  assert.throws(() => ResultFileSchema.parse({ ...file, results: [{ ...file.results[0], status: 'done' }] }));
  const md = markdownSummary(file);
  assert.match(md, /^# bumless benchmarks, 2026-11-21 \(quick\)/);
  assert.match(md, /## B2 convergence: failed \(lab failed\)/);
  assert.match(md, /- procedure/);
  assert.match(md, /- install: profile/);
});

void test('arguments: --quick, --only in run order, --json; bad input is a clear error', () => {
  assert.deepEqual(parseArgs([]).only, [...ORDER]);
  const a = parseArgs(['--quick', '--only', 'b3,B1', '--json']);
  assert.equal(a.quick, true);
  assert.equal(a.json, true);
  assert.deepEqual(a.only, ['B1', 'B3']);
  assert.deepEqual(parseArgs(['--only=B6']).only, ['B6']);
  assert.throws(() => parseArgs(['--only', 'B9']), ArgsError);
  assert.throws(() => parseArgs(['--only']), /needs a list/);
  assert.throws(() => parseArgs(['--fast']), /unknown option --fast/);
});

void test('synthetic registry: sized for a flow count, the pipeline makes that many flows of its shapes', () => {
  const size = sizeFor(10000);
  const reg = generateRegistry({ hostId: 'h1', vtepIp: '192.168.1.1', ...size, remoteVteps: ['192.168.1.2', '192.168.1.3'] });
  assert.equal(reg.networks.length, 100);
  assert.equal(reg.endpoints.length, 100 * (1 + size.remotePerNetwork));
  assert.equal(new Set(reg.endpoints.map((e) => `${e.network}/${e.mac}`)).size, reg.endpoints.length);
  const flows = desiredFlows({ hostId: 'h1', vtepIp: '192.168.1.1', tunnelOfport: 1, localPorts: reg.localPorts, networks: reg.networks, endpoints: reg.endpoints });
  assert.ok(flows.length >= 10000 && flows.length < 10000 + 300, `${flows.length} flows`);
  assert.ok(flows.some((f) => f.tableId === 30));
  assert.throws(() => generateRegistry({ hostId: 'h', vtepIp: '1.1.1.1', networks: 0, remotePerNetwork: 1, remoteVteps: ['1.1.1.2'] }), RangeError);
  assert.equal(macOf(1), '02:00:00:00:01:01');
  assert.equal(seedMac(0xb6, 65537), '02:b6:01:00:01:01');
  assert.equal(seedIp([10, 65], 65537), '10.66.0.1');
});

void test('ping -D output: replies, losses, first reply after an instant', () => {
  const out = [
    'PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.',
    '[1700000000.100000] 64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.412 ms',
    '[1700000000.300000] 64 bytes from 10.0.0.2: icmp_seq=3 ttl=64 time=0.380 ms',
    '',
    '--- 10.0.0.2 ping statistics ---',
    '3 packets transmitted, 2 received, 33.3333% packet loss, time 20ms',
  ].join('\n');
  const r = parsePing(out);
  assert.equal(r.transmitted, 3);
  assert.equal(r.received, 2);
  assert.equal(r.lost, 1);
  assert.deepEqual(r.rttMs, [0.412, 0.38]);
  assert.equal(firstReplyAfter(r, 1700000000150), 1700000000300);
  assert.equal(firstReplyAfter(r, 1700000001000), null);
});

void test('datapath mask shapes ignore values, keep masks; flow durations keyed by identity', () => {
  const a = maskShape('recirc_id(0),in_port(2),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,frag=no)');
  const b = maskShape('recirc_id(0),in_port(3),eth(src=02:00:00:00:00:09,dst=02:00:00:00:00:08),eth_type(0x0806),ipv4(src=10.0.0.7,frag=no)');
  assert.equal(a, b);
  assert.notEqual(maskShape('ipv4(src=10.0.0.0/255.0.0.0)'), maskShape('ipv4(src=10.0.0.0/255.255.0.0)'));
  const d = flowDurations(' cookie=0x1, duration=12.5s, table=30, n_packets=3, n_bytes=9, priority=100,metadata=0x1/0xff,dl_dst=02:00:00:00:00:01 actions=output:2\n');
  assert.deepEqual([...d], [['table=30, priority=100,metadata=0x1/0xff,dl_dst=02:00:00:00:00:01 actions=output:2', 12.5]]);
});
