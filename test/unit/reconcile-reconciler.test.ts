import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reconciler, type ReconcilerOptions } from '../../src/reconcile/reconciler.js';
import type { Timers } from '../../src/switch/clock.js';
import { instructionsKey } from '../../src/reconcile/identity.js';
import { cookieData, cookieGeneration } from '../../src/reconcile/cookie.js';
import type { DesiredFlow } from '../../src/reconcile/table.js';
import { FakeFlowSwitch } from '../support/switch-fake.js';
import { cookie, dropFlows, endpointFlows, pipelineFlows } from '../support/switch-flows.js';

/** What the switch holds, as comparable data: identity -> instructions and cookie without generation. */
function snapshot(sw: FakeFlowSwitch): Map<string, string> {
  return new Map([...sw.flows].map(([k, f]) => [k, `${instructionsKey(f.instructions)}#${cookieData(f.cookie).toString(16)}`]));
}

function expected(flows: DesiredFlow[]): Map<string, string> {
  const sw = new FakeFlowSwitch();
  sw.connect();
  void sw.bundle(flows.map((f) => ({ ...f, command: 'ADD', cookieMask: 0n, idleTimeout: 0, hardTimeout: 0, bufferId: 'NO_BUFFER', outPort: 'ANY', outGroup: 'ANY', flags: [] })));
  return snapshot(sw);
}

// Real time, but timers that keep the test's event loop alive while a batch is pending.
const timers: Timers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => ({ id: setTimeout(fn, ms) }),
  clearTimeout: (h) => clearTimeout(h.id as NodeJS.Timeout),
};

function reconciler(sw: FakeFlowSwitch, opts: ReconcilerOptions): Reconciler {
  return new Reconciler(sw, { timers, ...opts });
}

async function converge(r: Reconciler): Promise<void> {
  await r.whenIdle();
}

/** A started reconciler (1 ms batches) holding `desired`, after the switch connected and it converged. */
async function synced(sw: FakeFlowSwitch, desired: DesiredFlow[]): Promise<Reconciler> {
  const r = reconciler(sw, { batchMs: 1 });
  r.setDesired(desired);
  r.start();
  sw.connect();
  await converge(r);
  return r;
}

void test('first connect installs the desired flows in one bundle and removes a foreign NORMAL flow', async () => {
  const sw = new FakeFlowSwitch();
  sw.addForeign({ tableId: 0, priority: 0, match: [], cookie: 0n, instructions: [{ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: 'NORMAL' }] }] });
  const desired = [...pipelineFlows(400), ...dropFlows()];
  const r = reconciler(sw, { batchMs: 1 });
  r.setDesired(desired);
  r.start();
  assert.equal(r.status().inSync, false, 'not in sync before the switch was read');
  sw.connect();
  await converge(r);
  assert.deepEqual(snapshot(sw), expected(desired));
  assert.equal(sw.bundles, 1);
  // table 0 priority 0 is both the foreign NORMAL flow's and our drop flow's identity: replaced by ADD
  const t0 = [...sw.flows.values()].find((f) => f.tableId === 0 && f.priority === 0);
  assert.deepEqual(t0?.instructions, []);
  const st = r.status();
  assert.equal(st.installed, 403);
  assert.equal(st.desired, 403);
  assert.equal(st.inSync, true);
  assert.equal(st.lastRun?.adds, 402);
  assert.equal(st.lastRun?.replaces, 1);
  assert.equal(st.confirmedGeneration, 1);
  r.stop();
});

void test('a restarted reconciler with the same desired set sends nothing and keeps flow ages', async () => {
  const sw = new FakeFlowSwitch();
  const desired = [...pipelineFlows(200), ...dropFlows()];
  const r1 = await synced(sw, desired);
  r1.stop();
  sw.disconnect();
  const before = new Map([...sw.flows].map(([k, f]) => [k, f.createdAt]));
  const applied = sw.applied.length;

  const r2 = await synced(sw, desired);
  assert.equal(sw.applied.length, applied, 'no flow mod after restart');
  assert.deepEqual(new Map([...sw.flows].map(([k, f]) => [k, f.createdAt])), before);
  assert.equal(r2.status().inSync, true);
  assert.equal(r2.status().generation, 1, 'continues from the generation found on the switch');

  // the next change gets the next generation
  const changed = desired.map((f, i) => (i === 0 ? { ...f, instructions: [{ type: 'GOTO_TABLE' as const, tableId: 2 }] } : f));
  r2.setDesired(changed);
  await converge(r2);
  assert.equal(sw.applied.length, applied + 1);
  assert.equal(sw.applied.at(-1)?.command, 'MODIFY_STRICT');
  assert.equal(r2.status().confirmedGeneration, 2);
  r2.stop();
});

void test('after a restart, a flow changed on the switch behind our back is repaired; unchanged ones share the desired objects', async () => {
  const sw = new FakeFlowSwitch();
  const desired = [...pipelineFlows(50), ...dropFlows()];
  const r1 = await synced(sw, desired);
  r1.stop();
  sw.disconnect();
  // Someone rewrote one flow's action (same identity and cookie) while no agent ran.
  const [key, victim] = [...sw.flows].find(([, f]) => f.instructions.length > 0)!;
  sw.flows.set(key, { ...victim, instructions: [{ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: 77 }] }] });
  const applied = sw.applied.length;

  const r2 = await synced(sw, desired);
  assert.deepEqual(sw.applied.slice(applied), [{ command: 'MODIFY_STRICT', key }], 'exactly the changed flow is rewritten');
  assert.deepEqual(snapshot(sw), expected(desired));
  // The installed table describes what the switch holds with the desired objects, not a decoded copy.
  for (const e of r2.installed.values()) {
    const want = r2.desired.get(e.key)!;
    assert.equal(e.flow.match, want.flow.match, `installed ${e.key} shares the desired match`);
    assert.equal(e.flow.instructions, want.flow.instructions, `installed ${e.key} shares the desired instructions`);
    assert.equal(e.ikey, want.ikey);
  }
  r2.stop();
});

void test('incremental batched updates end where a full recompute ends', async () => {
  // deterministic pseudo-random sequence of endpoint adds, moves and removals
  let seed = 42;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const live = new Map<number, DesiredFlow[]>();
  const sw = new FakeFlowSwitch();
  const r = reconciler(sw, { batchMs: 2 });
  r.setDesired(dropFlows());
  r.start();
  sw.connect();
  await converge(r);
  for (let round = 0; round < 30; round++) {
    for (let k = 0; k < 20; k++) {
      const id = rnd(60);
      const old = live.get(id);
      const op = rnd(3);
      if (op === 0 && old) {
        r.updateDesired({ remove: old });
        live.delete(id);
      } else {
        const flows = endpointFlows(id, { outPort: 2 + rnd(4), remote: rnd(2) === 0, vni: 100 + (id % 7) });
        // a move changes instructions of some identities and drops others: remove stale identities first
        if (old) r.updateDesired({ remove: old });
        r.updateDesired({ upsert: flows });
        live.set(id, flows);
      }
    }
    if (round % 3 === 0) await converge(r);
  }
  await converge(r);
  const final = [...dropFlows(), ...[...live.values()].flat()];
  assert.deepEqual(snapshot(sw), expected(final));
  // and a full recompute on the same switch finds nothing to do
  const applied = sw.applied.length;
  r.setDesired(final);
  await converge(r);
  assert.equal(sw.applied.length, applied);
  assert.ok(sw.bundles < 30, `updates were coalesced (${sw.bundles} bundles for 600 updates)`);
  r.stop();
});

void test('a burst of updates within the batch window becomes one bundle', async () => {
  const sw = new FakeFlowSwitch();
  const r = reconciler(sw, { batchMs: 20 });
  r.setDesired([]);
  r.start();
  sw.connect();
  await converge(r);
  const b0 = sw.bundles;
  for (let i = 0; i < 50; i++) r.updateDesired({ upsert: endpointFlows(i) });
  await converge(r);
  assert.equal(sw.bundles - b0, 1);
  assert.equal(sw.flows.size, 200);
  r.stop();
});

void test('large diffs are split into bundles, adds before deletes', async () => {
  const sw = new FakeFlowSwitch();
  const r = reconciler(sw, { batchMs: 1, maxBundleFlows: 100 });
  r.setDesired(pipelineFlows(1000));
  r.start();
  sw.connect();
  await converge(r);
  assert.equal(sw.bundles, 10);
  assert.equal(sw.flows.size, 1000);
  const start = sw.applied.length;
  r.setDesired([...pipelineFlows(1000).slice(500), ...endpointFlows(5000)]);
  await converge(r);
  const cmds = sw.applied.slice(start).map((a) => a.command);
  assert.equal(cmds.length, 504);
  assert.equal(cmds.lastIndexOf('ADD') < cmds.indexOf('DELETE_STRICT'), true);
  assert.equal(sw.flows.size, 504);
  r.stop();
});

void test('a flow the switch rejects is reported, set aside, and the rest is installed', async () => {
  const sw = new FakeFlowSwitch();
  const bad = { tableId: 3, priority: 7, match: [], cookie: cookie(1, 1), instructions: [{ type: 'GOTO_TABLE' as const, tableId: 1 }] };
  sw.reject = (m) => m.tableId === 3;
  const r = reconciler(sw, { batchMs: 1, retryMs: 1 });
  const errors: string[] = [];
  r.on('error', (e) => errors.push(e.text));
  r.setDesired([...pipelineFlows(40), bad]);
  r.start();
  sw.connect();
  await converge(r);
  assert.equal(sw.flows.size, 40);
  assert.equal(errors.length, 1);
  const st = r.status();
  assert.equal(st.errors, 1);
  assert.equal(st.rejected.length, 1);
  assert.match(st.rejected[0]?.key ?? '', /^3\/7\//);
  assert.equal(st.inSync, true);
  assert.ok(sw.dumps >= 2, 'resynced by re-dumping after the rejected bundle');
  // once the desired form changes, it is tried again
  sw.reject = undefined;
  r.updateDesired({ upsert: [{ ...bad, instructions: [{ type: 'GOTO_TABLE', tableId: 2 }] }] });
  await converge(r);
  assert.equal(sw.flows.size, 41);
  assert.equal(r.status().rejected.length, 0);
  r.stop();
});

void test('a reconnect re-reads the switch and restores flows lost meanwhile', async () => {
  const sw = new FakeFlowSwitch();
  const desired = pipelineFlows(100);
  const r = await synced(sw, desired);
  sw.disconnect();
  sw.flows.clear(); // ovs-vswitchd restarted with an empty table
  sw.connect();
  await converge(r);
  assert.deepEqual(snapshot(sw), expected(desired));
  assert.equal(r.status().dumps, 2);
  for (const f of sw.flows.values()) assert.equal(cookieGeneration(f.cookie), 2);
  r.stop();
});

void test('nothing runs before the first full desired set: an agent restart never empties the switch', async () => {
  const sw = new FakeFlowSwitch();
  const r1 = await synced(sw, pipelineFlows(40));
  r1.stop();
  sw.disconnect();

  const r2 = reconciler(sw, { batchMs: 1 });
  r2.start();
  sw.connect();
  r2.updateDesired({ upsert: endpointFlows(0) });
  await new Promise((res) => setTimeout(res, 30));
  assert.equal(sw.dumps, 1, 'no dump and no diff yet');
  assert.equal(sw.flows.size, 40);
  r2.setDesired(pipelineFlows(40));
  await converge(r2);
  assert.equal(sw.flows.size, 40);
  assert.equal(r2.status().flowModsSent, 0);
  r2.stop();
});
