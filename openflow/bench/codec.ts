// `npm run bench -w node-openflow [-- --json --runs N --ms T --check]`: messages per second for encoding and
// decoding (a) the ARP-responder FLOW_MOD (~250 bytes: ARP match, NX move / set_field / output),
// (b) a PACKET_IN carrying an ARP request, (c) a FLOW stats reply of 1000 flows (several
// MULTIPART_REPLY messages joined by REPLY_MORE, as Open vSwitch sends it; decoding includes the
// reassembly). Warm-up, then several timed runs: median, min, max. Pinned to one core with taskset.
// It measures the compiled package (dist/, `npm run build` first), as users run it: under tsx the
// sources are transpiled per module and cross-module calls cost more.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type * as Codec from '../src/index.js';
import type { MultipartReplyMessage, OFMessage } from '../src/index.js';
import { arpResponder, flowStatsReply, packetIn } from '../test/samples.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    runs: { type: 'string', default: '7' },
    ms: { type: 'string', default: '400' },
    'no-pin': { type: 'boolean', default: false },
    check: { type: 'boolean', default: false },
  },
});

// Pin to one core (the last) so runs do not hop between cores; re-exec once under taskset.
if (!values['no-pin'] && !process.env.OF_BENCH_PINNED && existsSync('/usr/bin/taskset')) {
  const cpus = spawnSync('nproc', { encoding: 'utf8' }).stdout.trim();
  const cpu = Math.max(0, Number(cpus) - 1);
  const r = spawnSync('taskset', ['-c', String(cpu), process.execPath, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit', env: { ...process.env, OF_BENCH_PINNED: String(cpu) },
  });
  process.exit(r.status ?? 1);
}

// The compiled package, loaded by URL so that type-checking does not need dist/ to exist.
const distUrl = new URL('../dist/index.js', import.meta.url);
if (!existsSync(distUrl)) {
  console.error(`bench: ${fileURLToPath(distUrl)} is missing; run: npm run build -w node-openflow`);
  process.exit(2);
}
const { decode, encode, encodeInto, MultipartAssembler, splitMultipartReply, Writer } = (await import(distUrl.href)) as typeof Codec;

const RUNS = Number(values.runs);
const RUN_MS = Number(values.ms);
const TARGETS = { 'flow_mod encode': 1_000_000, 'flow_mod decode': 500_000 } as Record<string, number>;

/**
 * Calls f in batches until `ms` of CPU time are spent; returns calls per CPU-second. CPU time, not
 * wall time: on a shared machine the wall clock also counts the time other processes held the core.
 */
function rate(f: () => void, ms: number): number {
  let n = 0;
  let batch = 64;
  const limit = ms * 1000;
  const c0 = process.cpuUsage();
  let used = 0;
  while (used < limit) {
    for (let i = 0; i < batch; i++) f();
    n += batch;
    const c = process.cpuUsage(c0);
    used = c.user + c.system;
    if (used < limit / 20) batch *= 2;
  }
  return (n * 1e6) / used;
}

interface Row { name: string; bytes: number; median: number; min: number; max: number; unit: string; target?: number }

function measure(name: string, bytes: number, f: () => void, unit = 'msg/s'): Row {
  rate(f, Math.max(200, RUN_MS)); // warm-up: let the JIT settle
  const runs: number[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(rate(f, RUN_MS));
  runs.sort((a, b) => a - b);
  return { name, bytes, median: runs[runs.length >> 1]!, min: runs[0]!, max: runs[runs.length - 1]!, unit, target: TARGETS[name] };
}

// (a) FLOW_MOD
const fm = arpResponder(1);
const fmBytes = encode(fm);
// (b) PACKET_IN
const pin = packetIn(2);
const pinBytes = encode(pin);
// (c) FLOW stats reply, 1000 flows, split the way a switch does: parts under 64 KiB, REPLY_MORE on all but the last.
const replyParts = splitMultipartReply(flowStatsReply(1000, 3));
const replyBytes = replyParts.map((m) => encode(m));
const replyTotal = replyBytes.reduce((n, b) => n + b.length, 0);

const w = new Writer(1 << 20);
const intoWriter = (m: OFMessage): void => {
  if (w.pos > (1 << 20) - 70_000) w.reset();
  encodeInto(w, m);
};

let sink = 0;
const rows: Row[] = [
  measure('flow_mod encode', fmBytes.length, () => { sink += encode(fm).length; }),
  measure('flow_mod encodeInto', fmBytes.length, () => { intoWriter(fm); }),
  measure('flow_mod decode', fmBytes.length, () => { sink += decode(fmBytes).xid; }),
  measure('packet_in encode', pinBytes.length, () => { sink += encode(pin).length; }),
  measure('packet_in decode', pinBytes.length, () => { sink += decode(pinBytes).xid; }),
  measure('flow_stats_1000 encode', replyTotal, () => { for (const m of replyParts) sink += encode(m).length; }, 'reply/s'),
  measure('flow_stats_1000 decode', replyTotal, () => {
    const asm = new MultipartAssembler();
    let whole: MultipartReplyMessage | null = null;
    for (const b of replyBytes) whole = asm.push(decode(b) as MultipartReplyMessage);
    sink += (whole?.body as unknown[]).length;
  }, 'reply/s'),
];
if (sink === 42) console.log('');

const pinned = process.env.OF_BENCH_PINNED ? `pinned to CPU ${process.env.OF_BENCH_PINNED}` : 'not pinned';
if (values.json) {
  console.log(JSON.stringify({ node: process.version, pinned: process.env.OF_BENCH_PINNED ?? null, runs: RUNS, runMs: RUN_MS, rows }, null, 2));
} else {
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  console.log(`node-openflow codec benchmark (node ${process.version}, ${pinned}, ${RUNS} runs of ${RUN_MS} ms CPU time after warm-up; rates per CPU-second)`);
  console.log(`flow stats reply: 1000 flows in ${replyParts.length} messages, ${fmt(replyTotal)} bytes\n`);
  const head = ['case', 'bytes', 'median', 'min', 'max', 'unit', 'target'];
  const body = rows.map((r) => [
    r.name, fmt(r.bytes), fmt(r.median), fmt(r.min), fmt(r.max), r.unit,
    r.target ? `${fmt(r.target)} ${r.median >= r.target ? 'met' : 'MISSED'}` : '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  for (const row of [head, ...body]) console.log(row.map((c, i) => (i === 0 || i === 5 || i === 6 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
}
const missed = rows.filter((r) => r.target && r.median < r.target);
if (missed.length) {
  console.error(`\nbelow target: ${missed.map((r) => r.name).join(', ')} (a busy machine lowers these: rerun when idle)`);
  if (values.check) process.exitCode = 1;
}
