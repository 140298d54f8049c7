import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flatString } from '../../src/util/flat.js';

void test('flatString returns the same text, for ASCII keys built piece by piece and for text latin1 cannot carry', () => {
  let key = '30/100/';
  for (let i = 0; i < 50; i++) key += `eth_dst=02:00:00:00:00:${(i % 256).toString(16).padStart(2, '0')},`;
  assert.equal(flatString(key), key);
  for (const s of ['', 'a', 'é/ü', 'ip=2001:db8::1 ✓', '\u0100', 'x\uffff', '😀']) assert.equal(flatString(s), s);
});
