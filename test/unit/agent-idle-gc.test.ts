import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdleGc, obtainGc } from '../../src/agent/idle-gc.js';
import { FakeTimers } from '../../src/switch/clock.js';

function setup(gcAvailable = true, busy?: () => boolean): { idle: IdleGc; timers: FakeTimers; calls: { n: number }; logged: string[] } {
  const timers = new FakeTimers();
  const calls = { n: 0 };
  const logged: string[] = [];
  const idle = new IdleGc({
    threshold: 10_000,
    quietMs: 2000,
    minIntervalMs: 60_000,
    gc: gcAvailable ? () => calls.n++ : undefined,
    log: { debug: (_o, msg) => logged.push(msg) },
    timers,
    ...(busy ? { busy } : {}),
  });
  return { idle, timers, calls, logged };
}

void test('obtainGc gives the engine GC without --expose-gc on the command line', () => {
  const gc = obtainGc();
  assert.equal(typeof gc, 'function');
  gc!();
});

void test('small changes never cause a GC; a large one does once the agent has been quiet', () => {
  const { idle, timers, calls, logged } = setup();
  for (let i = 0; i < 99; i++) idle.note(100);
  timers.advance(10_000);
  assert.equal(calls.n, 0, '9,900 changes stay under the threshold');
  idle.note(100);
  timers.advance(1999);
  assert.equal(calls.n, 0, 'not before quietMs');
  idle.note(5000);
  timers.advance(1999);
  assert.equal(calls.n, 0, 'a further change pushes it back');
  timers.advance(1);
  assert.equal(calls.n, 1);
  assert.equal(idle.runs, 1);
  assert.deepEqual(logged, ['full GC after a large change, agent idle']);
  timers.advance(120_000);
  assert.equal(calls.n, 1, 'the count starts again after a GC');
});

void test('at most one GC per minIntervalMs: a second large change waits for the interval', () => {
  const { idle, timers, calls } = setup();
  idle.note(20_000);
  timers.advance(2000);
  assert.equal(calls.n, 1);
  idle.note(20_000);
  timers.advance(2000);
  assert.equal(calls.n, 1, 'quiet, but the last GC was 2 s ago');
  timers.advance(57_999);
  assert.equal(calls.n, 1);
  timers.advance(1);
  assert.equal(calls.n, 2, 'run 60 s after the first (which ran at 2 s)');
});

void test('without a GC function nothing is scheduled; stop() cancels a pending GC', () => {
  const none = setup(false);
  none.idle.note(50_000);
  none.timers.advance(120_000);
  assert.equal(none.idle.runs, 0);
  const { idle, timers, calls } = setup();
  idle.note(50_000);
  idle.stop();
  timers.advance(120_000);
  assert.equal(calls.n, 0);
});

void test('while the agent is busy (a reconcile run under way) the GC waits, then runs once it is done', () => {
  const state = { busy: true };
  const { idle, timers, calls } = setup(true, () => state.busy);
  idle.note(50_000);
  timers.advance(10_000);
  assert.equal(calls.n, 0, 'quiet for 10 s but still busy');
  state.busy = false;
  timers.advance(2000);
  assert.equal(calls.n, 1);
});

void test('steady changes put the GC off by at most five quiet periods', () => {
  const { idle, timers, calls } = setup();
  idle.note(20_000);
  for (let t = 0; t < 9; t++) {
    timers.advance(1000);
    idle.note(100);
  }
  assert.equal(calls.n, 0, '9 s of changes every second');
  timers.advance(1000);
  assert.equal(calls.n, 1, 'run 10 s after the threshold was crossed');
});
