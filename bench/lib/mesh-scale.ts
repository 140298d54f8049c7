// B3's mesh experiments, run as a child process of the bench (node --max-old-space-size, so that 20
// registries of 100,000 endpoints fit): light agents = the agent's own registry (lmdb store) and mesh
// (wss with mutual TLS on 127.0.0.1), without Open vSwitch. Prints one JSON result line on stdout.
//   rate  M     : three nodes; a registers M endpoints in batches of 100; until b and c hold them
//   mesh  N E m : N nodes (m = full | reflector), E endpoints spread over them, registered at once
import { freePort } from '../../test/support/net.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Store } from '../../src/registry/store.js';
import { Registry } from '../../src/registry/registry.js';
import { Mesh } from '../../src/mesh/mesh.js';
import { createCa, createHostCert } from '../../src/mesh/cert.js';

interface Node {
  id: string;
  dir: string;
  store: Store;
  registry: Registry;
  mesh: Mesh;
}

const vtepOf = (id: string) => `10.1.${Math.floor(Number(id.slice(1)) / 250)}.${(Number(id.slice(1)) % 250) + 1}`;
const root = mkdtempSync('/tmp/bumless-b3-');
const quiet = { info() {}, warn() {}, error() {}, debug() {} };

async function startNode(id: string, port: number, peers: Array<{ id: string; port: number }>, reflector = false, reuse?: Node): Promise<Node> {
  const dir = join(root, id);
  const store = reuse?.store ?? (await Store.open({ path: dir, hostId: id }));
  const registry = reuse?.registry ?? Registry.open({ store, hostId: id, vtep: vtepOf(id), log: quiet });
  const mesh = new Mesh({
    hostId: id,
    registry,
    log: quiet,
    tls: { ca: readFileSync(join(root, 'pki', 'ca.crt')), cert: readFileSync(join(root, 'pki', `${id}.crt`)), key: readFileSync(join(root, 'pki', `${id}.key`)) },
    config: { listen: `127.0.0.1:${port}`, peers: peers.map((p) => ({ hostId: p.id, url: `wss://127.0.0.1:${p.port}` })), reflector, keepaliveMs: 5000, holdMs: 60000, maxPayload: 64 * 1024 * 1024 },
    backoff: { minMs: 50, maxMs: 500 },
  });
  await mesh.start();
  return { id, dir, store, registry, mesh };
}

async function stopAll(nodes: Node[]): Promise<void> {
  for (const n of nodes) await n.mesh.stop();
  for (const n of nodes) {
    await n.registry.close();
    await n.store.close();
  }
}

async function waitFor(what: string, cond: () => boolean, ms: number): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const active = (n: Node) => n.registry.stats().endpoints.active;
const mac = (h: number, i: number) => `02:${h.toString(16).padStart(2, '0')}:00:${((i >> 16) & 0xff).toString(16).padStart(2, '0')}:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;

async function register(n: Node, h: number, count: number, batch = 5000): Promise<void> {
  for (let s = 0; s < count; s += batch) {
    const list = [];
    for (let i = s; i < Math.min(count, s + batch); i++) list.push({ network: 'bench/net', mac: mac(h, i), ips: [`10.${64 + h}.${(i >> 8) & 0xff}.${i & 0xff}`], port: `p${i}` });
    await n.registry.upsertLocalEndpoints(list);
  }
}

async function network(n: Node): Promise<void> {
  await n.registry.createTenant({ name: 'bench', quota: { endpoints: 10_000_000 } });
  await n.registry.createNetwork({ tenant: 'bench', name: 'net', vni: 4200, cidrs: ['10.0.0.0/8'] });
}

async function pki(ids: string[]): Promise<void> {
  const dir = join(root, 'pki');
  await createCa(dir);
  // The mesh binds a node's VTEP to its certificate: the VTEP must be one of its IP SANs.
  for (const id of ids) await createHostCert(dir, id, { ips: ['127.0.0.1', vtepOf(id)] });
}

async function rate(m: number) {
  await pki(['n0', 'n1', 'n2']);
  const ports = [await freePort(), await freePort(), await freePort()];
  const peers = (i: number) => ports.map((port, k) => ({ id: `n${k}`, port })).filter((_, k) => k !== i);
  const nodes = [await startNode('n0', ports[0]!, peers(0)), await startNode('n1', ports[1]!, peers(1)), await startNode('n2', ports[2]!, peers(2))];
  await waitFor('3-node mesh', () => nodes.every((n) => n.mesh.peers().filter((p) => p.state === 'established').length === 2), 20000).catch((e: Error) => { throw new Error(`${e.message}: ${JSON.stringify(nodes[0]!.mesh.peers().map((p) => [p.hostId, p.state, p.lastError]))}`); });
  await network(nodes[0]!);
  await waitFor('network everywhere', () => nodes.every((n) => n.registry.network('bench', 'net') !== undefined), 60000);
  const t0 = performance.now();
  await register(nodes[0]!, 0, m, 100);
  const registeredMs = performance.now() - t0;
  await waitFor(`${m} updates on all three`, () => nodes.every((n) => active(n) === m), 600000);
  const ms = performance.now() - t0;
  await stopAll(nodes);
  return { updates: m, ms, registeredMs };
}

async function mesh(n: number, e: number, mode: 'full' | 'reflector') {
  const ids = Array.from({ length: n }, (_, i) => `n${i}`);
  await pki(ids);
  const ports: number[] = [];
  for (let i = 0; i < n; i++) ports.push(await freePort());
  const nodes: Node[] = [];
  for (let i = 0; i < n; i++) {
    const all = ids.map((id, k) => ({ id, port: ports[k]! })).filter((_, k) => k !== i);
    // Reflector mode: n0 reflects; clients know only n0, n0 knows every client.
    const peers = mode === 'full' ? all : i === 0 ? all : all.filter((p) => p.id === 'n0');
    nodes.push(await startNode(ids[i]!, ports[i]!, peers, mode === 'reflector' && i === 0));
  }
  const want = mode === 'full' ? n - 1 : 1;
  await waitFor('sessions established', () => nodes.every((x, i) => x.mesh.peers().filter((p) => p.state === 'established').length >= (mode === 'reflector' && i === 0 ? n - 1 : want)), 120000);
  const sessions = nodes.reduce((s, x) => s + x.mesh.peers().filter((p) => p.state === 'established').length, 0) / 2;
  await network(nodes[0]!);
  await waitFor('network everywhere', () => nodes.every((x) => x.registry.network('bench', 'net') !== undefined), 120000);
  const per = Math.ceil(e / n);
  const t0 = performance.now();
  await Promise.all(nodes.map((x, h) => register(x, h, Math.min(per, e - h * per))));
  const registeredMs = performance.now() - t0;
  await waitFor(`${e} endpoints on all ${n} nodes`, () => nodes.every((x) => active(x) === e), 1800000);
  const ms = performance.now() - t0;
  await stopAll(nodes);
  return { nodes: n, endpoints: e, mode, connections: sessions, ms, registeredMs };
}

const [what, ...args] = process.argv.slice(2);
try {
  let out: unknown;
  if (what === 'rate') out = await rate(Number(args[0]));
  else if (what === 'mesh') out = await mesh(Number(args[0]), Number(args[1]), args[2] === 'reflector' ? 'reflector' : 'full');
  else throw new Error(`unknown experiment ${String(what)}: use rate M | mesh N E full|reflector`);
  process.stdout.write(`${JSON.stringify(out)}\n`);
} catch (err) {
  process.stdout.write(`${JSON.stringify({ error: err instanceof Error ? err.message : String(err) })}\n`);
  process.exitCode = 1;
} finally {
  rmSync(root, { recursive: true, force: true });
  // Sessions that failed to stop (an error path) must not keep the parent waiting.
  process.exit();
}
