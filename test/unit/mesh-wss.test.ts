// Mesh nodes in one process over real wss:// with mutual TLS on 127.0.0.1: convergence (10,000
// endpoints across three nodes, timed), reflector mode, refusal of foreign or mismatched
// certificates, malformed and oversized frames.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../support/net.js';
import { readFileSync, statSync } from 'node:fs';
import { WebSocket } from 'ws';
import { Mesh } from '../../src/mesh/mesh.js';
import type { MeshTls } from '../../src/mesh/mesh.js';
import { createCa, createHostCert } from '../../src/mesh/cert.js';
import { certCommand } from '../../src/mesh/cert-cli.js';
import { openNode, removeDir, tempDir } from '../support/registry-fixtures.js';
import { RegistryStoreFailedError } from '../../src/registry/errors.js';
import type { StoreFaults } from '../../src/registry/store.js';
import type { TestNode } from '../support/registry-fixtures.js';

let pki: string;
const VTEP: Record<string, string> = { a: '10.0.0.1', b: '10.0.0.2', c: '10.0.0.3', r: '10.0.0.9', x: '10.0.0.5' };
let evil: string;

before(async () => {
  pki = tempDir('bumless-pki-');
  evil = tempDir('bumless-evil-');
  await createCa(pki);
  // Each certificate names its host's VTEP as an IP SAN: a peer's OPEN must announce that VTEP.
  for (const h of ['a', 'b', 'c', 'r', 'x']) await createHostCert(pki, h, { ips: ['127.0.0.1', VTEP[h]!] });
  await createCa(evil, { name: 'someone else' });
  await createHostCert(evil, 'b');
});

after(() => {
  removeDir(pki);
  removeDir(evil);
});

function tlsFor(h: string, dir = pki): MeshTls {
  return { ca: readFileSync(`${pki}/ca.crt`), cert: readFileSync(`${dir}/${h}.crt`), key: readFileSync(`${dir}/${h}.key`) };
}

interface MeshNode extends TestNode {
  mesh: Mesh;
  port: number;
}

async function startNode(
  hostId: string,
  vtep: string,
  port: number,
  peers: Array<{ hostId: string; port: number }>,
  opts: { reflector?: boolean; maxPayload?: number; faults?: StoreFaults } = {},
): Promise<MeshNode> {
  const node = await openNode(hostId, vtep, undefined, { gracefulRestartMs: 60_000 }, tempDir(), opts.faults);
  const mesh = new Mesh({
    hostId,
    registry: node.registry,
    tls: tlsFor(hostId),
    config: {
      listen: `127.0.0.1:${port}`,
      peers: peers.map((p) => ({ hostId: p.hostId, url: `wss://127.0.0.1:${p.port}` })),
      reflector: opts.reflector ?? false,
      // All nodes share this one process: a stall of (hold - keepalive) ms on a loaded machine fires
      // the hold timers before the keepalives that arrived meanwhile are read, and drops sessions that
      // tests expect to stay up. The hold-timer test negotiates its own short hold.
      keepaliveMs: 3000,
      holdMs: 10_000,
      maxPayload: opts.maxPayload ?? 16 * 1024 * 1024,
    },
    backoff: { minMs: 50, maxMs: 500 },
  });
  await mesh.start();
  return { ...node, mesh, port };
}

async function stopAll(nodes: MeshNode[]): Promise<void> {
  for (const n of nodes) await n.mesh.stop();
  for (const n of nodes) {
    await n.close();
    removeDir(n.dir);
  }
}

async function waitFor(what: string, cond: () => boolean, ms = 20_000): Promise<number> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - t0;
}

function established(n: MeshNode, peers: string[]): boolean {
  const st = n.mesh.peers();
  return peers.every((p) => st.find((s) => s.hostId === p)?.state === 'established');
}

void test('three nodes over wss converge; 10,000 endpoints (3,334 per host) reach every node', async (t) => {
  const [pa, pb, pc] = [await freePort(), await freePort(), await freePort()];
  const a = await startNode('a', '10.0.0.1', pa, [{ hostId: 'b', port: pb }, { hostId: 'c', port: pc }]);
  const b = await startNode('b', '10.0.0.2', pb, [{ hostId: 'a', port: pa }, { hostId: 'c', port: pc }]);
  const c = await startNode('c', '10.0.0.3', pc, [{ hostId: 'a', port: pa }, { hostId: 'b', port: pb }]);
  const nodes = [a, b, c];
  t.after(() => stopAll(nodes));
  await waitFor('full mesh', () => established(a, ['b', 'c']) && established(b, ['a', 'c']) && established(c, ['a', 'b']));
  // Both ends dial; exactly one connection per pair survives and both ends agree which.
  for (const [x, y] of [[a, b], [a, c], [b, c]] as Array<[MeshNode, MeshNode]>) {
    const xy = x.mesh.peers().find((p) => p.hostId === y.hostId)!.direction;
    const yx = y.mesh.peers().find((p) => p.hostId === x.hostId)!.direction;
    assert.notEqual(xy, yx, `${x.hostId}-${y.hostId}: one end dialed, the other accepted`);
  }

  await a.registry.createTenant({ name: 'acme' });
  await a.registry.createNetwork({ tenant: 'acme', name: 'big', vni: 500, cidrs: ['10.128.0.0/14'] });
  await waitFor('network everywhere', () => nodes.every((n) => n.registry.network('acme', 'big') !== undefined));

  const t0 = performance.now();
  await Promise.all(
    nodes.map((n, h) =>
      n.registry.upsertLocalEndpoints(
        Array.from({ length: h === 0 ? 3334 : 3333 }, (_, i) => ({
          network: 'acme/big',
          mac: `02:00:0${h}:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`,
          ips: [`10.${128 + h}.${i >> 8}.${i & 0xff}`],
          port: `p${i}`,
        })),
      ),
    ),
  );
  const registered = performance.now() - t0;
  await waitFor('10,000 endpoints on every node', () => nodes.every((n) => n.registry.stats().endpoints.active === 10_000), 30_000);
  const visible = performance.now() - t0;
  const vvOf = (n: MeshNode): string => JSON.stringify(Object.entries(n.registry.versionVector()).sort());
  await waitFor('equal committed version vectors', () => nodes.every((n) => vvOf(n) === vvOf(a)), 10_000);
  const converged = performance.now() - t0;
  t.diagnostic(
    `10,000 endpoints across 3 nodes: registered (durable) in ${registered.toFixed(0)} ms, visible on all nodes in ${visible.toFixed(0)} ms, committed everywhere in ${converged.toFixed(0)} ms`,
  );
  for (const n of nodes) assert.equal(n.registry.stats().endpoints.local, n === a ? 3334 : 3333);
  assert.deepEqual(a.registry.versionVector(), { a: 3336, b: 3333, c: 3333 });
});

void test('reflector mode: clients meet only the reflector, learn each other through it, and see a lost client go stale', async (t) => {
  const [pr, pa, pb] = [await freePort(), await freePort(), await freePort()];
  const r = await startNode('r', '10.0.0.9', pr, [], { reflector: true });
  const a = await startNode('a', '10.0.0.1', pa, [{ hostId: 'r', port: pr }]);
  const b = await startNode('b', '10.0.0.2', pb, [{ hostId: 'r', port: pr }]);
  const nodes = [r, a, b];
  t.after(() => stopAll(nodes.filter((n) => n !== a)));
  await waitFor('clients at the reflector', () => established(r, ['a', 'b']) && established(a, ['r']) && established(b, ['r']));
  await a.registry.createTenant({ name: 'acme' });
  await a.registry.createNetwork({ tenant: 'acme', name: 'web', vni: 100, cidrs: ['10.10.10.0/24'] });
  await waitFor('network at b', () => b.registry.network('acme', 'web') !== undefined);
  await a.registry.upsertLocalEndpoint({ network: 'acme/web', mac: '02:00:00:00:00:01', ips: ['10.10.10.1'], port: 'p1' });
  await waitFor('a\'s endpoint at b', () => b.registry.endpoint('acme/web', '02:00:00:00:00:01')?.hostId === 'a');
  assert.deepEqual(a.mesh.peers().map((p) => p.hostId), ['b', 'r'], 'b is listed (reachable through r)');
  assert.equal(a.mesh.peers().find((p) => p.hostId === 'b')?.state, 'idle', 'no connection between clients');
  assert.equal(a.mesh.peers().find((p) => p.hostId === 'b')?.reachable, true);
  assert.deepEqual(b.mesh.reachableHosts(), ['a', 'r'], 'b reaches a through the reflector');
  await a.mesh.stop();
  await a.close();
  removeDir(a.dir);
  await waitFor('a stale at b', () => b.registry.endpoint('acme/web', '02:00:00:00:00:01')?.stale === true, 5000);
  assert.equal(b.registry.hostState('a'), 'stale');
  assert.equal(b.registry.snapshot().endpoints.length, 1, 'still forwarded during the graceful-restart window');
});

void test('a peer with a certificate from another CA is refused at the TLS handshake', async (t) => {
  const pa = await freePort();
  const a = await startNode('a', '10.0.0.1', pa, [{ hostId: 'b', port: 1 }]);
  t.after(() => stopAll([a]));
  const ws = new WebSocket(`wss://127.0.0.1:${pa}`, { ...tlsFor('b', evil), rejectUnauthorized: true });
  const outcome = await new Promise<string>((resolve) => {
    ws.on('open', () => resolve('open'));
    ws.on('error', (err) => resolve(`error: ${err.message}`));
  });
  assert.match(outcome, /^error: /);
  // No session with b: neither the refused connection nor anything else got one. a's own dialer keeps
  // retrying b's configured (dead) port, and is 'connecting' whenever a retry is in flight, which a
  // loaded machine stretches from microseconds to the moment this reads it: that is no session.
  const st = a.mesh.peers().find((p) => p.hostId === 'b');
  assert.ok(st?.state === 'idle' || st?.state === 'connecting', `b is ${st?.state}`);
  assert.equal(st.direction, undefined, 'no session (inbound or outbound) with b');
  // And an anonymous client (no certificate at all).
  const anon = new WebSocket(`wss://127.0.0.1:${pa}`, { ca: readFileSync(`${pki}/ca.crt`) });
  const o2 = await new Promise<string>((resolve) => {
    anon.on('open', () => resolve('open'));
    anon.on('error', (err) => resolve(`error: ${err.message}`));
    anon.on('close', (code) => resolve(`close ${code}`));
  });
  assert.notEqual(o2, 'open');
});

async function rawPeer(port: number, certHost: string): Promise<{ ws: WebSocket; frames: string[]; closed: Promise<{ code: number; reason: string }> }> {
  const ws = new WebSocket(`wss://127.0.0.1:${port}`, tlsFor(certHost));
  const frames: string[] = [];
  ws.on('message', (d: Buffer) => frames.push(d.toString()));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.on('open', () => resolve());
    ws.on('error', reject);
  });
  return { ws, frames, closed };
}

function openFrame(hostId: string, vtep = VTEP[hostId] ?? '10.0.0.99'): string {
  return JSON.stringify({ type: 'open', version: 2, hostId, reflector: false, holdMs: 9000, vv: {}, vtep });
}

void test('a peer whose OPEN announces a VTEP its certificate does not name is refused (vtep-mismatch)', async (t) => {
  const pa = await freePort();
  const a = await startNode('a', '10.0.0.1', pa, [{ hostId: 'b', port: 1 }]);
  t.after(() => stopAll([a]));
  const p = await rawPeer(pa, 'b');
  p.ws.send(openFrame('b', '10.0.0.7'));
  const { code, reason } = await p.closed;
  assert.equal(code, 1008);
  assert.match(reason, /^vtep-mismatch/);
  const note = p.frames.map((f) => JSON.parse(f) as { type: string; code?: string; reason?: string }).find((m) => m.type === 'notification');
  assert.match(note?.reason ?? '', /claims VTEP 10\.0\.0\.7 but its certificate names 127\.0\.0\.1, 10\.0\.0\.2/);
  // The same peer with its own VTEP is accepted.
  const ok = await rawPeer(pa, 'b');
  ok.ws.send(openFrame('b'));
  await waitFor('b synchronised', () => a.mesh.peers().find((x) => x.hostId === 'b')?.state === 'established' || ok.frames.some((f) => f.includes('"type":"eor"')), 5000);
  assert.ok(ok.frames.some((f) => f.includes('"type":"eor"')));
  ok.ws.close();
});

void test('a peer whose certificate names another host id than it claims is refused', async (t) => {
  const pa = await freePort();
  const a = await startNode('a', '10.0.0.1', pa, [{ hostId: 'b', port: 1 }]);
  t.after(() => stopAll([a]));
  const p = await rawPeer(pa, 'x');
  p.ws.send(openFrame('b'));
  const { code, reason } = await p.closed;
  assert.equal(code, 1008);
  assert.match(reason, /host-id-mismatch/);
  const note = p.frames.map((f) => JSON.parse(f) as { type: string; code?: string }).find((f) => f.type === 'notification');
  assert.equal(note?.code, 'host-id-mismatch');
  // A valid cluster certificate of a host that is not a configured peer (and we are no reflector).
  const q = await rawPeer(pa, 'c');
  q.ws.send(openFrame('c'));
  const c2 = await q.closed;
  assert.equal(c2.code, 1008);
  assert.match(c2.reason, /not-authorized/);
  // Outbound: the server behind the URL configured for "b" presents c's certificate.
  const pc = await freePort();
  const c = await startNode('c', '10.0.0.3', pc, [{ hostId: 'x', port: 1 }]);
  const x = await startNode('x', '10.0.0.5', await freePort(), [{ hostId: 'b', port: pc }]);
  t.after(() => stopAll([c, x]));
  await waitFor('outbound refusal', () => /not the configured host id "b"/.test(x.mesh.peers().find((p) => p.hostId === 'b')?.lastError ?? ''), 5000);
  assert.equal(x.mesh.peers().find((p) => p.hostId === 'b')?.state === 'established', false);
  assert.deepEqual(c.mesh.reachableHosts(), []);
});

void test('malformed JSON, invalid messages and an oversized frame close that peer only; the node keeps serving', async (t) => {
  const [pa, pb] = [await freePort(), await freePort()];
  const a = await startNode('a', '10.0.0.1', pa, [{ hostId: 'b', port: pb }, { hostId: 'c', port: 1 }], { maxPayload: 64 * 1024 });
  const b = await startNode('b', '10.0.0.2', pb, [{ hostId: 'a', port: pa }]);
  t.after(() => stopAll([a, b]));
  await waitFor('a-b session', () => established(a, ['b']));

  const bad = await rawPeer(pa, 'c');
  bad.ws.send('{"type":"open", this is not json');
  let closed = await bad.closed;
  assert.equal(closed.code, 1002);
  assert.match(closed.reason, /malformed-json/);

  const inv = await rawPeer(pa, 'c');
  inv.ws.send(JSON.stringify({ type: 'update', records: [{ kind: 'endpoint', key: 'x' }] }));
  closed = await inv.closed;
  assert.equal(closed.code, 1002);
  assert.match(closed.reason, /invalid-message/);

  const early = await rawPeer(pa, 'c');
  early.ws.send(JSON.stringify({ type: 'keepalive' }));
  closed = await early.closed;
  assert.match(closed.reason, /fsm-error/);

  const big = await rawPeer(pa, 'c');
  big.ws.send(openFrame('c'));
  big.ws.send('x'.repeat(100 * 1024));
  closed = await big.closed;
  assert.equal(closed.code, 1009, 'ws closes with "message too big"');

  const bin = await rawPeer(pa, 'c');
  bin.ws.send(Buffer.from([1, 2, 3]));
  closed = await bin.closed;
  assert.match(closed.reason, /unsupported-frame/);

  // The node is alive and its real peer session unaffected: a change still replicates.
  assert.ok(established(a, ['b']));
  await a.registry.createTenant({ name: 'still-alive' });
  await waitFor('replication after the abuse', () => b.registry.tenant('still-alive') !== undefined);
});

void test('bumless cert writes a CA and host certificates with private keys mode 0600', async (t) => {
  const dir = tempDir('bumless-cli-');
  t.after(() => removeDir(dir));
  const log = console.log;
  const out: string[] = [];
  console.log = (s: string) => out.push(s);
  try {
    assert.equal(await certCommand.run(['ca', '--dir', dir]), 0);
    assert.equal(await certCommand.run(['host', '--dir', dir, '--host-id', 'h1', '--ip', '192.0.2.7', '--json']), 0);
  } finally {
    console.log = log;
  }
  assert.equal(statSync(`${dir}/ca.key`).mode & 0o777, 0o600);
  assert.equal(statSync(`${dir}/h1.key`).mode & 0o777, 0o600);
  const info = JSON.parse(out[1]!) as { subject: string; san: string };
  assert.match(info.subject, /CN\s*=\s*h1/);
  assert.match(info.san, /DNS:h1/);
  assert.match(info.san, /IP Address:192.0.2.7/);
  await assert.rejects(certCommand.run(['ca', '--dir', dir]), /already exist; use --force/);
  await assert.rejects(certCommand.run(['host', '--dir', dir, '--host-id', 'Bad_Id']), /invalid host id/);
  await assert.rejects(certCommand.run(['host', '--dir', dir]), /--host-id is required/);
});

void test('a peer that opens and then goes silent is dropped when the negotiated hold time expires', async (t) => {
  const pa = await freePort();
  const a = await startNode('a', '10.0.0.1', pa, [{ hostId: 'b', port: 1 }]);
  t.after(() => stopAll([a]));
  const p = await rawPeer(pa, 'b');
  const t0 = performance.now();
  p.ws.send(JSON.stringify({ type: 'open', version: 2, hostId: 'b', reflector: false, holdMs: 400, vv: {}, vtep: '10.0.0.2' }));
  const { code, reason } = await p.closed;
  const ms = performance.now() - t0;
  assert.equal(code, 4000);
  // The negotiated hold, min(10000, 400) = 400 ms, is named in the close reason; the elapsed time is only logged
  // (a busy machine may take longer) and can never be shorter than the hold.
  assert.equal(reason, 'hold-timer-expired: nothing received for 400 ms');
  assert.ok(ms >= 350, `dropped after ${ms.toFixed(0)} ms, before the 400 ms hold time`);
  t.diagnostic(`silent peer dropped after ${ms.toFixed(0)} ms (hold 400 ms)`);
  const types = p.frames.map((f) => (JSON.parse(f) as { type: string }).type);
  assert.deepEqual(types.slice(0, 2), ['open', 'eor'], 'it got our OPEN and an (empty) initial sync first');
  assert.ok(types.includes('keepalive'), 'keepalives at a third of the hold time');
});

void test('a node whose registry store failed closes its sessions and refuses new ones; the peer keeps its last good records as stale', async (t) => {
  const [pa, pb] = [await freePort(), await freePort()];
  let failing = false;
  const faults: StoreFaults = {
    beforeCommit: () => {
      if (failing) throw new Error('ENOSPC: no space left on device');
    },
  };
  const a = await startNode('a', '10.0.0.1', pa, [{ hostId: 'b', port: pb }], { faults });
  const b = await startNode('b', '10.0.0.2', pb, [{ hostId: 'a', port: pa }]);
  t.after(() => stopAll([a, b]));
  await waitFor('a and b established', () => established(a, ['b']) && established(b, ['a']));
  await a.registry.createTenant({ name: 'acme' });
  await a.registry.createNetwork({ tenant: 'acme', name: 'web', vni: 100, cidrs: ['10.10.10.0/24'] });
  await a.registry.upsertLocalEndpoint({ network: 'acme/web', mac: '02:00:00:00:00:01', ips: ['10.10.10.1'], port: 'p1' });
  // b registers into the network a created: only once it has replicated there.
  await waitFor('network at b', () => b.registry.network('acme', 'web') !== undefined);
  await b.registry.upsertLocalEndpoint({ network: 'acme/web', mac: '02:00:00:00:00:02', ips: ['10.10.10.2'], port: 'p2' });
  await waitFor('both endpoints on both', () => [a, b].every((n) => n.registry.endpoints().length === 2));
  const good = a.registry.versionVector().a;

  failing = true;
  await assert.rejects(a.registry.upsertLocalEndpoint({ network: 'acme/web', mac: '02:00:00:00:00:03', ips: ['10.10.10.3'], port: 'p3' }), RegistryStoreFailedError);
  failing = false;
  await waitFor('b sees a as stale', () => b.registry.hostState('a') === 'stale');
  // Longer than several back-offs (50-500 ms): a dials no one and refuses b's dials.
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok(!established(a, ['b']) && !established(b, ['a']), JSON.stringify(b.mesh.peers()));
  assert.match(a.mesh.peers()[0]?.lastError ?? '', /registry store .* failed to commit a write/);
  assert.equal(b.registry.versionVector().a, good);
  assert.equal(b.registry.endpoint('acme/web', '02:00:00:00:00:01')?.stale, true);
  assert.equal(b.registry.endpoint('acme/web', '02:00:00:00:00:03'), undefined);
  // a keeps b's endpoint (stale, not withdrawn) and serves reads.
  await a.registry.sweep();
  assert.equal(a.registry.endpoint('acme/web', '02:00:00:00:00:02')?.hostId, 'b');
});
