import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cookieGeneration } from '../../src/reconcile/cookie.js';
import { applyChanges, changeToFlowMod, diffTables } from '../../src/reconcile/diff.js';
import { flowKey, instructionsKey, matchKey } from '../../src/reconcile/identity.js';
import { FlowTable, type Flow } from '../../src/reconcile/table.js';
import type { Instruction } from '../../src/reconcile/oftypes.js';
import { cookie, endpointFlows } from '../support/switch-flows.js';

const drop = (t: number): Flow => ({ tableId: t, priority: 0, match: [], instructions: [], cookie: cookie(0, 9) });

void test('match identity ignores field order and normalises masks and reserved ports', () => {
  const a = matchKey([{ field: 'in_port', value: 3 }, { field: 'eth_dst', value: 'AA:BB:CC:DD:EE:FF' }]);
  const b = matchKey([{ field: 'eth_dst', value: 'aa:bb:cc:dd:ee:ff', mask: 'ff:ff:ff:ff:ff:ff' }, { field: 'in_port', value: 3 }]);
  assert.equal(a, b);
  assert.equal(
    matchKey([{ field: 'ipv4_dst', value: '10.1.2.3', mask: '255.255.255.0' }]),
    matchKey([{ field: 'ipv4_dst', value: '10.1.2.0', mask: '255.255.255.0' }]),
  );
  assert.notEqual(matchKey([{ field: 'ipv4_dst', value: '10.1.2.3' }]), matchKey([{ field: 'ipv4_dst', value: '10.1.2.0', mask: '255.255.255.0' }]));
  assert.equal(matchKey([{ field: 'in_port', value: 'LOCAL' }]), matchKey([{ field: 'in_port', value: 0xfffffffe }]));
  assert.equal(matchKey([{ field: 'tunnel_id', value: 5n, mask: 0xffff_ffff_ffff_ffffn }]), matchKey([{ field: 'tunnel_id', value: 5n }]));
  assert.notEqual(flowKey(0, 100, []), flowKey(0, 101, []));
  assert.notEqual(flowKey(0, 100, []), flowKey(1, 100, []));
});

void test('instruction data: OpenFlow execution order, empty apply-actions is no instruction, action order kept', () => {
  const goto: Instruction = { type: 'GOTO_TABLE', tableId: 1 };
  const apply: Instruction = { type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: 2 }, { type: 'OUTPUT', port: 3 }] };
  assert.equal(instructionsKey([goto, apply]), instructionsKey([apply, goto]));
  assert.equal(instructionsKey([{ type: 'APPLY_ACTIONS', actions: [] }]), instructionsKey([]));
  const swapped: Instruction = { type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: 3 }, { type: 'OUTPUT', port: 2 }] };
  assert.notEqual(instructionsKey([apply]), instructionsKey([swapped]));
});

void test('diff: add missing, modify changed, delete stale and foreign, leave right flows alone', () => {
  const [a, b, c] = endpointFlows(0);
  assert.ok(a && b && c);
  const installed = FlowTable.from([
    { ...a, cookie: a.cookie | (7n << 32n) }, // right, older generation: untouched
    { ...b, instructions: [] }, // same identity, other instructions: modify
    drop(5), // stale bumless flow: delete
    { tableId: 0, priority: 0, match: [], cookie: 0n, instructions: [{ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: 'NORMAL' }] }] }, // foreign NORMAL
  ]);
  const desired = FlowTable.from([a, b, c, drop(1)]);
  const d = diffTables(desired, installed, 9);
  assert.deepEqual(d.summary, { adds: 2, replaces: 0, mods: 1, dels: 2, foreignDeleted: 1 });
  assert.deepEqual(d.changes.map((x) => x.op), ['add', 'add', 'modify', 'delete', 'delete']);
  const mods = d.changes.map(changeToFlowMod);
  assert.deepEqual(mods.map((m) => m.command), ['ADD', 'ADD', 'MODIFY_STRICT', 'DELETE_STRICT', 'DELETE_STRICT']);
  // new flows carry the new generation; a modified one keeps the cookie the switch has (OF1.3 MODIFY cannot change it)
  assert.equal(cookieGeneration(mods[0]?.cookie ?? 0n), 9);
  assert.equal(cookieGeneration(mods[2]?.cookie ?? 0n), 0);
  // strict deletes select by identity only, whoever owns the flow
  assert.ok(mods.every((m) => m.cookieMask === 0n));
  const del = mods[4];
  assert.equal(del?.tableId, 0);
  assert.equal(del?.priority, 0);
  assert.deepEqual(del?.match, []);

  applyChanges(installed, d.changes);
  assert.equal(diffTables(desired, installed, 10).changes.length, 0);
  assert.equal(installed.size, 4);
});

void test('a foreign flow with a desired identity is replaced by ADD, not left with its foreign cookie', () => {
  const desired = FlowTable.from([drop(0)]);
  const installed = FlowTable.from([{ ...drop(0), cookie: 0n }]);
  const d = diffTables(desired, installed, 3);
  assert.deepEqual(d.changes.map((c) => [c.op, changeToFlowMod(c).command]), [['replace', 'ADD']]);
});

void test('incremental diff over dirty keys only looks at those identities', () => {
  const [a, b] = endpointFlows(1);
  assert.ok(a && b);
  const desired = FlowTable.from([a, b]);
  const installed = new FlowTable();
  const only = diffTables(desired, installed, 1, [flowKey(a.tableId, a.priority, a.match)]);
  assert.equal(only.changes.length, 1);
  assert.equal(only.changes[0]?.entry.key, flowKey(a.tableId, a.priority, a.match));
});

void test('a Nicira move reads back from Open vSwitch with NXM headers and is still the same flow data', () => {
  const sent: Instruction[] = [{ type: 'APPLY_ACTIONS', actions: [{ type: 'NX_REG_MOVE', src: 'arp_sha', dst: 'arp_tha', nBits: 48, srcOfs: 0, dstOfs: 0 }] }];
  // NXM_NX_ARP_SHA (class 1, field 17) -> NXM_NX_ARP_THA (class 1, field 18), as dumped by ovs-vswitchd 3.1
  const dumped: Instruction[] = [{
    type: 'APPLY_ACTIONS',
    actions: [{ type: 'NX_REG_MOVE', src: { oxmClass: 1, oxmField: 17, length: 6 }, dst: { oxmClass: 1, oxmField: 18, length: 6 }, nBits: 48, srcOfs: 0, dstOfs: 0 }],
  }];
  assert.equal(instructionsKey(sent), instructionsKey(dumped));
  const other: Instruction[] = [{ type: 'APPLY_ACTIONS', actions: [{ type: 'NX_REG_MOVE', src: 'arp_sha', dst: 'eth_dst', nBits: 48, srcOfs: 0, dstOfs: 0 }] }];
  assert.notEqual(instructionsKey(sent), instructionsKey(other));
});
