// The mesh's fast path for endpoint records (src/mesh/fast-record.ts) against zod's EndpointRecord:
// on valid records, on records with one field replaced by something else (wrong types, edge numbers,
// near-miss strings), with fields missing or added, and on whole frames through parseMessage. The
// fast path must accept exactly what zod accepts and return the same value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fastEndpointRecord } from '../../src/mesh/fast-record.js';
import { MeshMessage, parseMessage } from '../../src/mesh/protocol.js';
import type { ProtocolError } from '../../src/mesh/protocol.js';
import { EndpointRecord } from '../../src/registry/model.js';
import { mulberry32 } from '../support/prng.js';

type Json = Record<string, unknown>;

function valid(i: number): Json {
  const mac = `02:b6:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}:01`;
  return {
    kind: 'endpoint',
    key: `e/big/net/${mac}/h2`,
    origin: 'h2',
    counter: i + 1,
    hlc: { wall: 1_763_700_000_000 + i, logical: i % 3, node: 'h2' },
    value: { network: 'big/net', mac, ips: [`10.65.${(i >> 8) & 255}.${i & 255}`], hostId: 'h2', vtep: '192.168.100.2', port: `s${i}`, seq: i % 5, createdAt: '2026-11-21T08:00:00.000Z', updatedAt: '2026-11-21T08:00:01Z' },
  };
}

/** Same verdict and, when valid, the same value with its keys in the same order. */
function same(x: unknown, what: string): boolean {
  const z = EndpointRecord.safeParse(x);
  const f = fastEndpointRecord(x);
  if (z.success) {
    assert.ok(f !== undefined, `${what}: zod accepts, the fast path does not: ${JSON.stringify(x)}`);
    assert.deepStrictEqual(f, z.data, what);
    assert.equal(JSON.stringify(f), JSON.stringify(z.data), `${what}: key order`);
  } else assert.equal(f, undefined, `${what}: zod rejects (${z.error.issues[0]?.message}), the fast path accepts: ${JSON.stringify(x)}`);
  return z.success;
}

const odd: unknown[] = [
  undefined, null, true, false, 0, -0, 1, -1, 1.5, 2 ** 53, 2 ** 53 - 1, 0xffffffff, 0x100000000, Infinity, NaN, '', 'a', 'h2', 'H2', '-a', 'a-',
  'a'.repeat(63), 'a'.repeat(64), 'big/net', 'big/Net', 'big//net', '/net', '02:b6:00:00:00:01', '02:B6:00:00:00:0A', '03:00:00:00:00:01', '00:00:00:00:00:00',
  '02:b6:00:00:00', '02-b6-00-00-00-01', '10.0.0.1', '10.0.0.256', '::1', 'fd00::1', '::ffff:10.0.0.1', 'fe80::1%eth0', '2026-11-21T08:00:00Z', '2026-11-21T08:00:00.123456Z',
  '2026-11-21T08:00:00+01:00', '2026-11-21T08:00:00', '2024-02-29T00:00:00Z', '2023-02-29T00:00:00Z', '2026-11-21T24:00:00Z', '2026-11-21 08:00:00Z', 'p'.repeat(15), 'p'.repeat(16),
  [], ['10.0.0.1'], ['10.0.0.1', 'fd00::1'], [1], Array.from({ length: 16 }, (_, i) => `10.0.0.${i + 1}`), Array.from({ length: 17 }, (_, i) => `10.0.0.${i + 1}`), {}, { origin: 'h1', counter: 3 },
  { origin: 'h1' }, { origin: 'h1', counter: -1 }, { wall: 1, logical: 0, node: 'h2' }, { wall: 1, logical: 0, node: 'h2', extra: 1 }, 'k'.repeat(300), 'k'.repeat(301), 'ab',
];
const paths = [
  ['kind'], ['key'], ['origin'], ['counter'], ['hlc'], ['hlc', 'wall'], ['hlc', 'logical'], ['hlc', 'node'], ['deleted'], ['deletedAt'], ['prunes'], ['extra'],
  ['value'], ['value', 'network'], ['value', 'mac'], ['value', 'ips'], ['value', 'hostId'], ['value', 'vtep'], ['value', 'port'], ['value', 'seq'], ['value', 'createdAt'], ['value', 'updatedAt'], ['value', 'extra'],
];

function mutate(x: Json, path: string[], v: unknown, remove: boolean): Json {
  const copy = structuredClone(x);
  let o: Json = copy;
  for (const p of path.slice(0, -1)) {
    const next = o[p];
    // An earlier mutation replaced the parent with something that is not an object.
    if (typeof next !== 'object' || next === null || Array.isArray(next)) return copy;
    o = next as Json;
  }
  if (remove) delete o[path.at(-1)!];
  else o[path.at(-1)!] = v;
  return copy;
}

void test('fast endpoint records: valid records give zod\'s value', () => {
  for (let i = 0; i < 200; i++) assert.ok(same(valid(i), `valid ${i}`));
  assert.ok(same({ ...valid(1), deleted: true, deletedAt: 5, prunes: { origin: 'h1', counter: 9, extra: 1 }, extra: 'dropped' }, 'tombstone'));
  assert.ok(same({ ...valid(2), deleted: undefined }, 'optional key present as undefined'));
  const upper = valid(3);
  (upper.value as Json).mac = '0A:B6:00:00:00:FF';
  assert.ok(same(upper, 'upper-case MAC'));
  assert.equal(fastEndpointRecord(upper)?.value.mac, '0a:b6:00:00:00:ff');
});

void test('fast endpoint records: every field replaced by every odd value, or removed', () => {
  let accepted = 0;
  let rejected = 0;
  for (const path of paths) {
    for (const v of odd) {
      if (same(mutate(valid(7), path, v, false), `${path.join('.')} = ${String(v)}`)) accepted++;
      else rejected++;
    }
    if (same(mutate(valid(7), path, undefined, true), `${path.join('.')} removed`)) accepted++;
    else rejected++;
  }
  // Both verdicts occur: the comparison covered acceptance and refusal.
  assert.ok(accepted > 50 && rejected > 500, `${accepted} accepted, ${rejected} rejected`);
});

void test('fast endpoint records: random multi-field mutations agree with zod (seeded)', () => {
  const rand = mulberry32(0xb3);
  for (let n = 0; n < 3000; n++) {
    let x = valid(n);
    const k = 1 + Math.floor(rand() * 3);
    for (let j = 0; j < k; j++) x = mutate(x, paths[Math.floor(rand() * paths.length)]!, odd[Math.floor(rand() * odd.length)], rand() < 0.1);
    same(x, `random mutation ${n}`);
  }
});

void test('parseMessage: update frames parse as zod parses them, errors unchanged', () => {
  const network = { kind: 'network', key: 'n/big/net', origin: 'h2', counter: 1, hlc: { wall: 1, logical: 0, node: 'h2' }, created: { wall: 1, logical: 0, node: 'h2' }, value: { name: 'net', tenant: 'big', vni: 4000, cidrs: ['10.64.0.0/10'], createdAt: '2026-11-21T08:00:00Z', updatedAt: '2026-11-21T08:00:00Z' } };
  const frames: unknown[] = [
    { type: 'update', records: [network, valid(1), valid(2)] },
    { type: 'update', records: [valid(1)], vv: { h2: 3 } },
    { type: 'update', records: [] },
    { type: 'update', records: [valid(1)], extra: 1 },
    { type: 'update', records: [valid(1), mutate(valid(2), ['value', 'mac'], '01:00:00:00:00:01', false)] },
    { type: 'update', records: [valid(1)], vv: { H2: 3 } },
    { type: 'update', records: [{ ...network, value: { ...network.value, vni: 0 } }] },
    { type: 'update', records: {} },
  ];
  for (const [i, f] of frames.entries()) {
    const z = MeshMessage.safeParse(f);
    const text = JSON.stringify(f);
    if (z.success) {
      const m = parseMessage(text);
      assert.deepStrictEqual(m, z.data, `frame ${i}`);
      assert.equal(JSON.stringify(m), JSON.stringify(z.data), `frame ${i}: key order`);
    } else {
      assert.throws(() => parseMessage(text), (e: ProtocolError) => e.code === 'invalid-message' && /records\.1\.value\.mac|vv\.H2|records\.0\.value\.vni|extra|records/.test(e.message), `frame ${i}`);
    }
  }
  assert.throws(() => parseMessage(JSON.stringify({ type: 'update', records: [valid(1), mutate(valid(2), ['value', 'mac'], '01:00:00:00:00:01', false)] })), /records\.1\.value\.mac: a unicast MAC/);
});
