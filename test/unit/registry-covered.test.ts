import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openPair } from '../support/registry-fixtures.js';

// A record whose key is absent and whose dot our vector already covers is taken for a deletion
// whose tombstone was collected, and ignored. If a vector ever claims records that never arrived
// (docs/mesh-protocol.md, known issues), this is where they vanish: it must be counted.
void test('records ignored as "absent but covered" are counted in stats().coveredDropped', async (t) => {
  const [a, b] = await openPair(t);
  await b.registry.createTenant({ name: 'one' });
  await b.registry.createTenant({ name: 'two' });
  const { records } = b.registry.changesSince({});
  assert.equal(records.length, 2);

  // A vouch that covers b's records before the records themselves.
  await a.registry.applyRemote([], 'b', b.registry.versionVector());
  assert.equal(a.registry.stats().coveredDropped, 0);
  const result = await a.registry.applyRemote(records, 'b');

  assert.equal(result.applied, 0);
  assert.equal(a.registry.tenant('one'), undefined);
  assert.equal(a.registry.stats().coveredDropped, 2);

  // Records the vector does not cover are applied and not counted.
  await b.registry.createTenant({ name: 'three' });
  const newer = b.registry.changesSince(a.registry.versionVector()).records;
  assert.equal((await a.registry.applyRemote(newer, 'b')).applied, 1);
  assert.ok(a.registry.tenant('three'));
  assert.equal(a.registry.stats().coveredDropped, 2);
});
