// Full sync of N endpoints to a new light agent, sender and receiver in separate processes (as on two
// lab hosts): the receiver's time from its mesh start until its registry holds them all. For profiling
// the receiving side (run the receiver under --cpu-prof with RECV_NODE_ARGS) and for before/after
// figures without the lab (the receiver's CPU time, all threads and main thread, is steadier than its
// wall time on a shared machine). Prints one JSON line per run.
//   node --import tsx bench/lib/sync-profile.ts N [runs]
//   RECV_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" node --import tsx bench/lib/sync-profile.ts 100000 1
// RECV_PIPELINE=each|hold also recomputes the network's flows on the receiver as the agent's pipeline
// does (DesiredState.update on the main thread, the next update waiting as long as the last took;
// the receiver has no local endpoint, as h3 in the lab): 'each' after every registry change, 'hold'
// as the agent now does, once the mesh's first initial sync is over. Reports pipelineMs and updates.
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { freePort } from '../../test/support/net.js';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Store } from '../../src/registry/store.js';
import { Registry } from '../../src/registry/registry.js';
import { Mesh } from '../../src/mesh/mesh.js';
import { createCa, createHostCert } from '../../src/mesh/cert.js';
import { seedIp, seedMac } from './seed.js';
import { DesiredState } from '../../src/agent/desired.js';

/** CPU ms of this process (all threads) and of its main thread, from /proc (Linux). */
function cpuMs(): { all: number; main: number } {
  const ticks = (path: string) => {
    const f = readFileSync(path, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  };
  return { all: ticks('/proc/self/stat'), main: ticks(`/proc/self/task/${process.pid}/stat`) };
}

const quiet = { info() {}, warn() {}, error() {}, debug() {} };
const VTEP = { s: '10.9.0.1', r: '10.9.0.2' } as const;

function mesh(root: string, id: 's' | 'r', registry: Registry, port: number, peerPort: number): Mesh {
  const pki = join(root, 'pki');
  return new Mesh({
    hostId: id,
    registry,
    log: quiet,
    tls: { ca: readFileSync(join(pki, 'ca.crt')), cert: readFileSync(join(pki, `${id}.crt`)), key: readFileSync(join(pki, `${id}.key`)) },
    config: { listen: `127.0.0.1:${port}`, peers: [{ hostId: id === 's' ? 'r' : 's', url: `wss://127.0.0.1:${peerPort}` }], reflector: false, keepaliveMs: 3000, holdMs: 9000, maxPayload: 4 * 1024 * 1024 },
    backoff: { minMs: 50, maxMs: 500 },
  });
}

async function receiver(root: string, n: number, port: number, peerPort: number): Promise<void> {
  const dir = join(root, `r-${process.pid}`);
  const t0 = performance.now();
  const store = await Store.open({ path: dir, hostId: 'r' });
  const registry = Registry.open({ store, hostId: 'r', vtep: VTEP.r, log: quiet });
  const m = mesh(root, 'r', registry, port, peerPort);
  await m.start();
  const tStart = performance.now();
  const c0 = cpuMs();
  let tFirst = 0;
  let changes = 0;
  const pipeline = { mode: process.env.RECV_PIPELINE, ms: 0, updates: 0, dirty: false, scheduled: false, next: 0, done: Promise.resolve() };
  if (pipeline.mode) {
    const desired = new DesiredState({ hostId: 'r', vtepIp: VTEP.r, tunnelOfport: 1, localPorts: new Map() });
    let finish = () => {};
    const update = () => {
      if (pipeline.mode === 'hold' && m.firstSyncUnderway()) return void setTimeout(update, 10);
      pipeline.scheduled = false;
      const t = performance.now();
      const network = registry.network('big', 'net');
      desired.update([{ key: 'big/net', network, endpoints: network ? registry.endpoints({ network: 'big/net' }) : [] }]);
      const took = performance.now() - t;
      pipeline.ms += took;
      pipeline.updates++;
      pipeline.next = t + 2 * took;
      if (registry.stats().endpoints.active >= n) finish();
    };
    pipeline.done = new Promise((r) => (finish = r));
    registry.on('change', () => {
      if (pipeline.scheduled) return;
      pipeline.scheduled = true;
      setTimeout(update, Math.max(0, pipeline.next - performance.now()));
    });
  }
  registry.on('change', (c) => {
    changes++;
    if (!tFirst && c.length) tFirst = performance.now();
  });
  while (registry.stats().endpoints.active < n) await new Promise((r) => setTimeout(r, 5));
  const tHeld = performance.now();
  const c1 = cpuMs();
  await registry.settled();
  const tDurable = performance.now();
  await pipeline.done;
  const tFlows = performance.now();
  const c2 = cpuMs();
  const res = {
    ms: tHeld - tStart, durableMs: tDurable - tStart, cpuMs: c1.all - c0.all, cpuMainMs: c1.main - c0.main, firstChangeMs: tFirst - tStart, openMs: tStart - t0, changeEvents: changes,
    ...(pipeline.mode ? { pipeline: pipeline.mode, flowsMs: tFlows - tStart, pipelineMs: Math.round(pipeline.ms), pipelineUpdates: pipeline.updates, cpuMainToFlowsMs: c2.main - c0.main } : {}),
  };
  await m.stop();
  await registry.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  process.send!(res);
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 100000);
  const runs = Number(process.argv[3] ?? 3);
  const root = mkdtempSync('/tmp/bumless-syncprof-');
  try {
    await createCa(join(root, 'pki'));
    for (const id of ['s', 'r'] as const) await createHostCert(join(root, 'pki'), id, { ips: ['127.0.0.1', VTEP[id]] });
    const store = await Store.open({ path: join(root, 's'), hostId: 's' });
    const registry = Registry.open({ store, hostId: 's', vtep: VTEP.s, log: quiet });
    await registry.createTenant({ name: 'big', quota: { networks: 64, endpoints: 1_000_000 } });
    await registry.createNetwork({ tenant: 'big', name: 'net', vni: 4000, cidrs: ['10.64.0.0/10'] });
    for (let s = 0; s < n; s += 5000) {
      const batch = [];
      for (let i = s; i < Math.min(n, s + 5000); i++) batch.push({ network: 'big/net', mac: seedMac(0xb6, i), ips: [seedIp([10, 65], i)], port: `s${i}` });
      await registry.upsertLocalEndpoints(batch);
    }
    await registry.settled();
    const sPort = await freePort();
    const m = mesh(root, 's', registry, sPort, await freePort());
    await m.start();
    for (let i = 0; i < runs; i++) {
      const rPort = await freePort();
      const execArgv = ['--import', 'tsx', ...(process.env.RECV_NODE_ARGS ?? '').split(' ').filter(Boolean)];
      const child = fork(import.meta.filename, ['recv', root, String(n), String(rPort), String(sPort)], { execArgv });
      const res = await new Promise<unknown>((resolve, reject) => {
        child.once('message', resolve);
        child.once('exit', (code) => reject(new Error(`receiver exited with ${code}`)));
      });
      await new Promise((r) => child.once('exit', r));
      process.stdout.write(`${JSON.stringify({ endpoints: n, run: i + 1, ...(res as object) })}\n`);
      // The sender keeps the old session's peer as stale; let it notice the close before the next run.
      await new Promise((r) => setTimeout(r, 300));
    }
    await m.stop();
    await registry.close();
    await store.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'recv') await receiver(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5]), Number(process.argv[6]));
else await main();
