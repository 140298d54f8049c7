// The agent's per-endpoint memory, stage by stage (B4): the structures a real agent keeps for n remote
// endpoints, built in this process with the agent's own code and measured as heapUsed after forced
// GCs. The stages follow the agent's data path: the replicated records as the mesh delivers them
// (through its frame parser) applied to an lmdb store + registry of host h1, the agent's per-network desired
// state (src/agent/desired.ts), the reconciler's desired table, its installed table after a run
// against an empty switch (fresh br-int), and the installed table read back from a flow dump (an
// agent restarted over a full br-int), which replaces the former.
//
// Run alone: node --expose-gc --import tsx bench/lib/memory-model.ts [n]
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { decode, encode } from 'node-openflow';
import { Store } from '../../src/registry/store.js';
import { Registry } from '../../src/registry/registry.js';
import type { ReplicatedRecord } from '../../src/registry/model.js';
import { DesiredState } from '../../src/agent/desired.js';
import { parseMessage } from '../../src/mesh/protocol.js';
import { Reconciler, type FlowSwitch } from '../../src/reconcile/index.js';
import type { BundleResult, DumpedFlow } from '../../src/switch/session.js';
import type { FlowModBody, FlowStats } from '../../src/reconcile/oftypes.js';
import { seedIp, seedMac } from './seed.js';

setFlagsFromString('--expose-gc');
// lmdb's durable commits cost only time here, not memory: on tmpfs they do not wait for a disk.
const TMP = existsSync('/dev/shm') ? '/dev/shm' : '/tmp';
const gc = runInNewContext('gc') as () => void;

export function heapAfterGc(): number {
  // The second pass frees what the first one's weak references and finalizers released.
  for (let i = 0; i < 2; i++) gc();
  return process.memoryUsage().heapUsed;
}

export interface StageFigure {
  stage: string;
  /** heapUsed growth of this stage after GC, bytes per endpoint. */
  perEndpoint: number;
}

export interface MemoryModel {
  n: number;
  flows: number;
  stages: StageFigure[];
  /** Everything the agent holds at once on a fresh br-int (every stage except the restart one). */
  totalPerEndpoint: number;
}

/** A switch that commits every bundle and, when asked, dumps `flows` through the codec's wire form. */
class ModelSwitch implements FlowSwitch {
  state = 'connected';
  dump: FlowStats[] = [];
  dumpFlows(): Promise<DumpedFlow[]> {
    // Encoded and decoded in switch-sized replies, so the objects are the codec's, as in the agent.
    const out: DumpedFlow[] = [];
    for (let i = 0; i < this.dump.length; i += 200) {
      const wire = encode({ type: 'MULTIPART_REPLY', xid: 1, mpType: 'FLOW', flags: [], body: this.dump.slice(i, i + 200) });
      const m = decode(Buffer.from(wire));
      if (m.type === 'MULTIPART_REPLY' && m.mpType === 'FLOW') out.push(...m.body);
    }
    return Promise.resolve(out);
  }
  bundle(mods: readonly FlowModBody[]): Promise<BundleResult> {
    return Promise.resolve({ bundleId: 1, messages: mods.length, errors: [], committed: true });
  }
  on(): this {
    return this;
  }
  off(): this {
    return this;
  }
}

const NET = 'big/net';
const LOCAL = { mac: '02:b6:ff:00:00:01', ip: '10.64.0.1', port: 'c-b6a' };

/** The records h2 would send h1 for n endpoints of big/net, as the mesh's JSON carries them. */
async function remoteRecords(n: number, dir: string): Promise<ReplicatedRecord[]> {
  const store = await Store.open({ path: dir, hostId: 'h2' });
  const registry = Registry.open({ store, hostId: 'h2', vtep: '192.168.250.2' });
  try {
    await registry.createTenant({ name: 'big', quota: { endpoints: 1_000_000 } });
    await registry.createNetwork({ tenant: 'big', name: 'net', vni: 4000, cidrs: ['10.64.0.0/10'] });
    for (let s = 0; s < n; s += 5000) {
      const batch = [];
      for (let i = s; i < Math.min(n, s + 5000); i++) batch.push({ network: NET, mac: seedMac(0xb4, i), ips: [seedIp([10, 65], i)], port: `s${i}` });
      await registry.upsertLocalEndpoints(batch);
    }
    await registry.settled();
    // Through the mesh's own frame parser (src/mesh/protocol.ts), 10,000 records a frame as the
    // session sends them: the objects the registry keeps are the ones it builds.
    const all = registry.changesSince({}).records;
    const out: ReplicatedRecord[] = [];
    for (let i = 0; i < all.length; i += 10_000) {
      const m = parseMessage(JSON.stringify({ type: 'update', records: all.slice(i, i + 10_000) }));
      if (m.type !== 'update') throw new Error(`parsed a ${m.type} frame from an update`);
      out.push(...m.records);
    }
    return out;
  } finally {
    await registry.close();
    await store.close();
  }
}

/** Builds the agent's structures for n remote endpoints stage by stage; heap growth per stage per endpoint. */
export async function memoryModel(n: number): Promise<MemoryModel> {
  const srcDir = mkdtempSync(join(TMP, 'bumless-b4-src-'));
  const dir = mkdtempSync(join(TMP, 'bumless-b4-'));
  const stages: StageFigure[] = [];
  let store: Store | undefined;
  let registry: Registry | undefined;
  try {
    // The records the mesh hands over are the objects the registry keeps: counted in its stage.
    let mark = heapAfterGc();
    let records: ReplicatedRecord[] | undefined = await remoteRecords(n, srcDir);
    store = await Store.open({ path: dir, hostId: 'h1' });
    registry = Registry.open({ store, hostId: 'h1', vtep: '192.168.250.1' });
    const step = (stage: string): void => {
      const now = heapAfterGc();
      stages.push({ stage, perEndpoint: (now - mark) / n });
      mark = now;
    };
    for (let i = 0; i < records.length; i += 5000) await registry.applyRemote(records.slice(i, i + 5000), 'h2');
    await registry.settled();
    records = undefined;
    const reg = registry;
    await reg.upsertLocalEndpoints([{ network: NET, mac: LOCAL.mac, ips: [LOCAL.ip], port: LOCAL.port }]);
    step('registry (records, indexes, lmdb store handles)');

    const desired = new DesiredState({ hostId: 'h1', vtepIp: '192.168.250.1', tunnelOfport: 1, localPorts: new Map([[LOCAL.port, 2]]) });
    desired.update(reg.networks().map((net) => ({ key: `${net.tenant}/${net.name}`, network: net, endpoints: reg.endpoints({ network: `${net.tenant}/${net.name}` }) })));
    step('agent desired state (pipeline flows, identities, per-network maps)');

    const sw = new ModelSwitch();
    const rec = new Reconciler(sw, { batchMs: 0 });
    rec.setDesired(desired.flows());
    step('reconciler desired table');

    rec.start();
    await rec.whenIdle();
    step('reconciler installed table (fresh br-int)');
    const flows = rec.installed.size;

    // A restarted agent reads the installed table from the switch instead.
    sw.dump = [...rec.installed.values()].map((e) => ({ ...e.flow, durationSec: 1, durationNsec: 0, idleTimeout: 0, hardTimeout: 0, flags: [], packetCount: 0n, byteCount: 0n }));
    rec.stop();
    const restarted = new Reconciler(sw, { batchMs: 0 });
    restarted.setDesired(desired.flows());
    const beforeDump = heapAfterGc();
    restarted.start();
    await restarted.whenIdle();
    const afterDump = heapAfterGc();
    if (restarted.status().lastRun !== undefined) throw new Error('the restarted reconciler rewrote flows it read back unchanged');
    const total = stages.reduce((s, x) => s + x.perEndpoint, 0);
    stages.push({ stage: 'installed table read from a flow dump (restart; instead of the fresh one)', perEndpoint: (afterDump - beforeDump) / n });
    restarted.stop();
    return { n, flows, stages, totalPerEndpoint: total };
  } finally {
    await registry?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(srcDir, { recursive: true, force: true });
  }
}

export function formatModel(m: MemoryModel): string {
  return `${m.stages.map((s) => `${s.stage} ${Math.round(s.perEndpoint)} B`).join('; ')} (heap after GC per endpoint, ${m.n.toLocaleString('en-US')} endpoints, ${m.flows.toLocaleString('en-US')} flows)`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = Number(process.argv[2] ?? 100000);
  const m = await memoryModel(n);
  for (const s of m.stages) console.log(`${s.stage.padEnd(75)} ${Math.round(s.perEndpoint).toString().padStart(6)} B/endpoint`);
  console.log(`${'total held (fresh br-int)'.padEnd(75)} ${Math.round(m.totalPerEndpoint).toString().padStart(6)} B/endpoint`);
}
