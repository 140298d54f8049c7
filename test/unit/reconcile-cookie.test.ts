import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  COOKIE_MARKER, cookieData, cookieGeneration, isOwnCookie, newestGeneration, nextGeneration, withGeneration,
} from '../../src/reconcile/cookie.js';

void test('marker, generation and data occupy their bits', () => {
  const c = (COOKIE_MARKER << 48n) | (0x123456n << 8n) | 0x07n;
  assert.equal(isOwnCookie(c), true);
  assert.equal(isOwnCookie(0n), false);
  assert.equal(isOwnCookie(0xdead_0000_0000_0000n), false);
  const g = withGeneration(c, 0xabcd);
  assert.equal(g, 0xb1e5_abcd_1234_5607n);
  assert.equal(cookieGeneration(g), 0xabcd);
  assert.equal(cookieData(g), c);
  assert.equal(withGeneration(g, 1), 0xb1e5_0001_1234_5607n);
  assert.throws(() => withGeneration(c, 0x10000), /outside 0..65535/);
});

void test('generations wrap within 16 bits and skip 0', () => {
  assert.equal(nextGeneration(0), 1);
  assert.equal(nextGeneration(41), 42);
  assert.equal(nextGeneration(0xffff), 1);
});

void test('newest generation among installed cookies, across the wrap', () => {
  assert.equal(newestGeneration([]), 0);
  assert.equal(newestGeneration([0, 0]), 0);
  assert.equal(newestGeneration([3, 7, 5]), 7);
  assert.equal(newestGeneration([0xfffe, 0xffff, 2, 1]), 2);
});
