// Mesh.firstSyncUnderway(): what the agent holds its pipeline updates on while a new node receives its
// first full sync (docs/agent.md, "Initial sync"). Two nodes over real wss:// with mutual TLS on 127.0.0.1.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { freePort } from '../support/net.js';
import { Mesh } from '../../src/mesh/mesh.js';
import { createCa, createHostCert } from '../../src/mesh/cert.js';
import { openNode, removeDir, tempDir } from '../support/registry-fixtures.js';
import type { TestNode } from '../support/registry-fixtures.js';

let pki: string;
const VTEP: Record<string, string> = { a: '10.0.0.1', b: '10.0.0.2' };

before(async () => {
  pki = tempDir('bumless-pki-');
  await createCa(pki);
  for (const h of ['a', 'b']) await createHostCert(pki, h, { ips: ['127.0.0.1', VTEP[h]!] });
});

after(() => removeDir(pki));

function meshOf(node: TestNode, port: number, peer: { hostId: string; port: number }): Mesh {
  return new Mesh({
    hostId: node.hostId,
    registry: node.registry,
    tls: { ca: readFileSync(`${pki}/ca.crt`), cert: readFileSync(`${pki}/${node.hostId}.crt`), key: readFileSync(`${pki}/${node.hostId}.key`) },
    config: {
      listen: `127.0.0.1:${port}`,
      peers: [{ hostId: peer.hostId, url: `wss://127.0.0.1:${peer.port}` }],
      reflector: false,
      keepaliveMs: 1000,
      holdMs: 3000,
      maxPayload: 16 * 1024 * 1024,
    },
    backoff: { minMs: 50, maxMs: 500 },
  });
}

async function waitFor(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const endpoints = (from: number, n: number) =>
  Array.from({ length: n }, (_, j) => {
    const i = from + j;
    return { network: 'acme/big', mac: `02:00:00:${((i >> 16) & 0xff).toString(16).padStart(2, '0')}:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`, ips: [`10.${128 + (i >> 16)}.${(i >> 8) & 0xff}.${i & 0xff}`], port: `p${i}` };
  });

void test('firstSyncUnderway is true while a new node applies its first full sync frame by frame, false once its END_OF_RIB arrived, and stays false on later changes', async (t) => {
  const a = await openNode('a', VTEP.a!);
  const b = await openNode('b', VTEP.b!);
  const [pa, pb] = [await freePort(), await freePort()];
  const ma = meshOf(a, pa, { hostId: 'b', port: pb });
  const mb = meshOf(b, pb, { hostId: 'a', port: pa });
  t.after(async () => {
    await ma.stop();
    await mb.stop();
    for (const n of [a, b]) {
      await n.close();
      removeDir(n.dir);
    }
  });
  await a.registry.createTenant({ name: 'acme', quota: { networks: 4, endpoints: 100_000 } });
  await a.registry.createNetwork({ tenant: 'acme', name: 'big', vni: 500, cidrs: ['10.128.0.0/14'] });
  // Over 10,000 records: the sync arrives in several frames; those applied before the last are announced before END_OF_RIB.
  const total = 25_000;
  for (let s = 0; s < total; s += 5000) await a.registry.upsertLocalEndpoints(endpoints(s, 5000));

  assert.equal(mb.firstSyncUnderway(), false, 'no session: nothing to wait for');
  const duringSync: boolean[] = [];
  b.registry.on('change', () => {
    if (b.registry.stats().endpoints.active < total) duringSync.push(mb.firstSyncUnderway());
  });
  await ma.start();
  await mb.start();
  await waitFor('b synced with a', () => mb.peers().find((p) => p.hostId === 'a')?.state === 'established');
  assert.equal(b.registry.stats().endpoints.active, total);
  assert.ok(duringSync.length >= 1, `changes applied before the sync completed: ${duringSync.length}`);
  assert.deepEqual(new Set(duringSync), new Set([true]), 'underway at every frame applied before END_OF_RIB');
  assert.equal(mb.firstSyncUnderway(), false, 'done after END_OF_RIB');

  // Later deltas (and later syncs) are not a first sync.
  const later: boolean[] = [];
  b.registry.on('change', () => later.push(mb.firstSyncUnderway()));
  await a.registry.upsertLocalEndpoints(endpoints(total, 10));
  await waitFor('the delta on b', () => b.registry.stats().endpoints.active === total + 10);
  assert.ok(later.length >= 1);
  assert.deepEqual(new Set(later), new Set([false]));
});
