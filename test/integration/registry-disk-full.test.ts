// A real full disk under the registry (no test seam): a 3 MB tmpfs of its own fills up while endpoints
// are registered. lmdb's commit fails with ENOSPC; the registry must stop (fail-stop, docs/mesh-protocol.md
// section 13) with the typed error naming the cause, keep its committed vector at the last durable commit,
// and after more space and a restart continue after exactly what was acknowledged. Needs root (mount).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../src/registry/store.js';
import { Registry } from '../../src/registry/registry.js';
import { RegistryStoreFailedError } from '../../src/registry/errors.js';

const mac = (k: number): string => `02:00:00:${(k >> 16).toString(16).padStart(2, '0')}:${((k >> 8) & 255).toString(16).padStart(2, '0')}:${(k & 255).toString(16).padStart(2, '0')}`;

void test('registry on a disk that fills up: ENOSPC stops it with the typed error; a restart continues after the acknowledged writes', async (t) => {
  const mnt = mkdtempSync(join(tmpdir(), 'bumless-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3M', 'tmpfs', mnt]);
  t.after(() => {
    try {
      execFileSync('umount', [mnt]);
    } finally {
      rmSync(mnt, { recursive: true, force: true });
    }
  });
  const dir = join(mnt, 'registry');
  const errors: string[] = [];
  const log = { info: () => {}, warn: () => {}, debug: () => {}, error: (_o: unknown, m?: string) => void errors.push(m ?? '') };
  let store = await Store.open({ path: dir, hostId: 'a' });
  let registry = Registry.open({ store, hostId: 'a', vtep: '10.0.0.1', log });
  await registry.createTenant({ name: 'acme' });
  await registry.createNetwork({ tenant: 'acme', name: 'web', vni: 100, cidrs: ['10.0.0.0/8'] });

  let acked = 0;
  let failure: unknown;
  for (let i = 0; i < 200_000 && failure === undefined; i += 100) {
    try {
      await registry.upsertLocalEndpoints(Array.from({ length: 100 }, (_, j) => ({ network: 'acme/web', mac: mac(i + j), ips: [`10.${(i + j) >> 16}.${((i + j) >> 8) & 255}.${(i + j) & 255}`], port: `p${i + j}` })));
      acked += 100;
    } catch (err) {
      failure = err;
    }
  }
  t.diagnostic(`disk full after ${acked} acknowledged registrations`);
  assert.ok(failure instanceof RegistryStoreFailedError, `got ${String(failure)}`);
  assert.match(failure.message, /No space left on device/);
  assert.ok(failure.message.includes(dir));
  assert.ok(acked > 0);
  const good = registry.versionVector().a;
  assert.equal(good, acked + 2, 'the committed vector stops at the last acknowledged write (tenant, network, endpoints)');
  await assert.rejects(registry.createTenant({ name: 'other' }), RegistryStoreFailedError);
  assert.equal(registry.versionVector().a, good);
  assert.deepEqual(errors, [failure.message], 'one error line');
  await registry.close();
  await store.close();

  // The operator frees space and restarts the agent.
  execFileSync('mount', ['-o', 'remount,size=16M', mnt]);
  store = await Store.open({ path: dir, hostId: 'a' });
  registry = Registry.open({ store, hostId: 'a', vtep: '10.0.0.1' });
  try {
    assert.equal(registry.storeFailure(), undefined);
    assert.equal(registry.versionVector().a, good);
    assert.equal(registry.stats().endpoints.local, acked);
    await registry.upsertLocalEndpoint({ network: 'acme/web', mac: '02:aa:00:00:00:01', ips: ['10.200.0.1'], port: 'px' });
    assert.deepEqual(
      registry.changesSince({ a: good }).records.map((r) => r.counter),
      [good + 1],
    );
  } finally {
    await registry.close();
    await store.close();
  }
});
