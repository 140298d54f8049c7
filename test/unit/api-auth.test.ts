// Tokens (scrypt at rest, constant-time checks, revocation), the admin token file, token buckets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryTokenStore, RateLimiter, TokenAuthority, loadOrCreateAdminToken } from '../../src/api/auth.js';

void test('tokens verify only with the exact secret, resolve to their tenant, and stop working when revoked', async () => {
  const store = new MemoryTokenStore();
  let now = 0;
  const auth = new TokenAuthority({ store, adminToken: 'bl.admin.' + 'Z'.repeat(43), clock: { now: () => now }, cacheMs: 1000 });
  const { token, record } = await auth.create('tenant', 'acme');
  assert.deepEqual(await auth.verify(token), { role: 'tenant', tenant: 'acme', tokenId: record.id });
  const [, id, secret] = token.split('.');
  assert.equal(id, record.id);
  const flipped = `bl.${id}.${secret!.slice(0, -1)}${secret!.endsWith('A') ? 'B' : 'A'}`;
  assert.equal(await auth.verify(flipped), undefined);
  assert.equal(await auth.verify(`bl.${'0'.repeat(16)}.${secret}`), undefined);
  assert.deepEqual(await auth.verify('bl.admin.' + 'Z'.repeat(43)), { role: 'admin', tokenId: 'admin' });
  assert.equal(await auth.verify('bl.admin.' + 'Y'.repeat(43)), undefined);
  // Cached verification expires, and the re-check still succeeds.
  now += 2000;
  assert.equal((await auth.verify(token))?.tenant, 'acme');
  assert.equal(await auth.revoke(record.id), true);
  assert.equal(await auth.verify(token), undefined);
  assert.equal(await auth.revoke(record.id), false);
});

void test('requests arriving together with a token not yet verified share one scrypt; a revoke during it still wins', async () => {
  class CountingStore extends MemoryTokenStore {
    gets = 0;
    override get(id: string) {
      this.gets++;
      return super.get(id);
    }
  }
  const store = new CountingStore();
  const auth = new TokenAuthority({ store });
  const { token, record } = await auth.create('tenant', 'acme');
  // One verification reads the record twice (before scrypt, and again after it for a revoke).
  const all = await Promise.all(Array.from({ length: 20 }, () => auth.verify(token)));
  assert.deepEqual(all, Array(20).fill({ role: 'tenant', tenant: 'acme', tokenId: record.id }));
  assert.equal(store.gets, 2);
  // A wrong secret for the same id is a different token: verified apart, and refused.
  const [, id, secret] = token.split('.');
  const wrong = `bl.${id}.${secret!.slice(0, -1)}${secret!.endsWith('A') ? 'B' : 'A'}`;
  assert.deepEqual(await Promise.all([auth.verify(wrong), auth.verify(wrong)]), [undefined, undefined]);

  const other = await auth.create('tenant', 'acme');
  const pending = Promise.all(Array.from({ length: 5 }, () => auth.verify(other.token)));
  await auth.revoke(other.record.id);
  assert.deepEqual(await pending, Array(5).fill(undefined));
  assert.equal(await auth.verify(other.token), undefined);
});

void test('revokeTenant removes every token of that tenant only', async () => {
  const auth = new TokenAuthority({ store: new MemoryTokenStore() });
  const a1 = await auth.create('tenant', 'a');
  await auth.create('tenant', 'a');
  const b = await auth.create('tenant', 'b');
  assert.equal(await auth.revokeTenant('a'), 2);
  assert.equal(await auth.verify(a1.token), undefined);
  assert.equal((await auth.verify(b.token))?.tenant, 'b');
  assert.deepEqual((await auth.list()).map((r) => r.tenant), ['b']);
});

void test('the admin token file is created once with mode 0600 and read back; a short token is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bumless-admin-'));
  try {
    const file = join(dir, 'sub', 'admin-token');
    const t = loadOrCreateAdminToken(file);
    assert.match(t, /^bl\.admin\.[A-Za-z0-9_-]{43}$/);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(loadOrCreateAdminToken(file), t);
    assert.equal(readFileSync(file, 'utf8').trim(), t);
    writeFileSync(file, 'short\n');
    assert.throws(() => loadOrCreateAdminToken(file), /too short.*delete the file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('token bucket: burst, refill, Retry-After seconds, separate keys', () => {
  let now = 0;
  const rl = new RateLimiter({ perSecond: 2, burst: 4 }, { now: () => now });
  assert.deepEqual([0, 1, 2, 3, 4].map(() => rl.take('k')), [0, 0, 0, 0, 1]);
  assert.equal(rl.take('other'), 0);
  now += 500;
  assert.equal(rl.take('k'), 0);
  assert.equal(rl.take('k'), 1);
  // Unbounded client addresses: memory stays bounded.
  const many = new RateLimiter({ perSecond: 1, burst: 1 }, { now: () => now });
  for (let i = 0; i < 25_000; i++) many.take(`ip:${i}`);
  assert.ok(many.size <= RateLimiter.MAX_KEYS, String(many.size));
  const slow = new RateLimiter({ perSecond: 0.1, burst: 1 }, { now: () => now });
  assert.equal(slow.take('x'), 0);
  assert.equal(slow.take('x'), 10);
});
