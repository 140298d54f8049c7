// Fills a stopped lab agent's registry store with many local endpoints of one network, written with
// the registry's own code (one transaction per batch), so that the mesh carries them to the other
// agents when they start: the way to reach 100,000 flows without 50,000 REST calls.
import { join } from 'node:path';
import { Store } from '../../src/registry/store.js';
import { Registry } from '../../src/registry/registry.js';

export interface SeedSpec {
  tenant: string;
  network: string;
  vni: number;
  /** The network's prefix; endpoints get addresses from its second /16 on. */
  cidr: string;
  /** First two octets of the seeded addresses, e.g. [10, 65]. */
  base: [number, number];
  count: number;
  /** Second MAC octet, to keep the MACs of different seeds apart. */
  macTag: number;
}

export function seedMac(tag: number, i: number): string {
  return ['02', tag, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff, 0x01].map((x) => (typeof x === 'string' ? x : x.toString(16).padStart(2, '0'))).join(':');
}

export function seedIp(base: [number, number], i: number): string {
  return `${base[0]}.${base[1] + (i >>> 16)}.${(i >>> 8) & 0xff}.${i & 0xff}`;
}

/** Writes the seed into <dataDir>/registry (the agent's store path) as host hostId; idempotent. */
export async function seedStore(dataDir: string, hostId: string, vtep: string, spec: SeedSpec, log: (s: string) => void): Promise<number> {
  const store = await Store.open({ path: join(dataDir, 'registry'), hostId });
  const registry = Registry.open({ store, hostId, vtep });
  try {
    // The API's default quota (4,096 endpoints per tenant) would refuse the containers' registrations.
    const quota = { networks: 64, endpoints: 1_000_000 };
    if (!registry.tenant(spec.tenant)) await registry.createTenant({ name: spec.tenant, quota });
    else if (registry.tenant(spec.tenant)?.quota?.endpoints !== quota.endpoints) await registry.updateTenant(spec.tenant, { quota });
    if (!registry.network(spec.tenant, spec.network)) await registry.createNetwork({ tenant: spec.tenant, name: spec.network, vni: spec.vni, cidrs: [spec.cidr] });
    const key = `${spec.tenant}/${spec.network}`;
    const have = new Set(registry.endpoints({ network: key }).map((e) => e.mac));
    const BATCH = 5000;
    let written = 0;
    for (let start = 0; start < spec.count; start += BATCH) {
      const batch = [];
      for (let i = start; i < Math.min(spec.count, start + BATCH); i++) {
        const mac = seedMac(spec.macTag, i);
        if (!have.has(mac)) batch.push({ network: key, mac, ips: [seedIp(spec.base, i)], port: `s${i}` });
      }
      if (batch.length) await registry.upsertLocalEndpoints(batch);
      written += batch.length;
      log(`seeded ${Math.min(spec.count, start + BATCH).toLocaleString('en-US')}/${spec.count.toLocaleString('en-US')} endpoints into ${hostId}'s store`);
    }
    await registry.settled();
    return written;
  } finally {
    await registry.close();
    await store.close();
  }
}
