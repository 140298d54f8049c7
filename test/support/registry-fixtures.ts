// Shared fixtures for registry and mesh unit tests: a manual clock, throwaway lmdb stores
// (on /dev/shm when present: fsync on tmpfs is cheap, which keeps the tests fast) and a
// registry with a tenant and a network.
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../src/registry/store.js';
import type { StoreFaults } from '../../src/registry/store.js';
import { Registry } from '../../src/registry/registry.js';
import type { RegistryOptions } from '../../src/registry/registry.js';

export class ManualClock {
  constructor(public t = 1_700_000_000_000) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export function tempDir(prefix = 'bumless-reg-'): string {
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  return mkdtempSync(join(base, prefix));
}

export interface TestNode {
  hostId: string;
  vtep: string;
  dir: string;
  store: Store;
  registry: Registry;
  close(): Promise<void>;
}

export async function openNode(
  hostId: string,
  vtep: string,
  clock: { now(): number } = { now: () => Date.now() },
  extra: Partial<RegistryOptions> = {},
  dir = tempDir(),
  /** A store whose commits can be made to fail (disk full, I/O error). */
  faults?: StoreFaults,
): Promise<TestNode> {
  const store = await Store.open({ path: dir, hostId, now: () => clock.now(), ...(faults ? { faults } : {}) });
  const registry = Registry.open({ store, hostId, vtep, clock, ...extra });
  return {
    hostId,
    vtep,
    dir,
    store,
    registry,
    async close() {
      await registry.close();
      await store.close();
    },
  };
}

export async function withNetwork(r: Registry, tenant = 'acme', network = 'web', vni = 100, cidr = '10.10.10.0/24'): Promise<void> {
  if (!r.tenant(tenant)) await r.createTenant({ name: tenant });
  await r.createNetwork({ tenant, name: network, vni, cidrs: [cidr] });
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Nodes a (10.0.0.1) and b (10.0.0.2) on one clock, closed and their stores removed when the test ends. */
export async function openPair(t: { after(fn: () => Promise<void>): void }, clock: { now(): number } = new ManualClock()): Promise<[TestNode, TestNode]> {
  const a = await openNode('a', '10.0.0.1', clock);
  const b = await openNode('b', '10.0.0.2', clock);
  t.after(async () => {
    for (const n of [a, b]) {
      await n.close();
      removeDir(n.dir);
    }
  });
  return [a, b];
}
