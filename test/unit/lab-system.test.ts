// stopProcess signals one process by PID and nothing else: 0, negative numbers and 1 would reach whole
// process groups (the test runner's own) or init.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { processAlive, stopProcess } from '../../src/lab/system.js';

void describe('stopProcess', () => {
  void it('stops a process of ours by PID and reports it was running', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    assert.ok(child.pid !== undefined && processAlive(child.pid));
    assert.equal(await stopProcess(child.pid, 'SIGTERM', 2000), true);
    await exited;
    assert.equal(child.signalCode, 'SIGTERM');
  });

  void it('refuses 0, 1, negative and non-integer PIDs without signalling anything', async () => {
    // A child in a process group of its own: kill(-pgid) would kill it, so it surviving shows no signal went out.
    const child = spawn('sleep', ['30'], { stdio: 'ignore', detached: true });
    try {
      const pid = child.pid;
      assert.ok(pid !== undefined);
      assert.equal(await stopProcess(-pid, 'SIGKILL', 100), false);
      // SIGCONT keeps this harmless should the guard ever regress for the caller's own group (0) or init (1).
      for (const bad of [0, 1, Number.NaN, 1.5]) assert.equal(await stopProcess(bad, 'SIGCONT', 100), false, String(bad));
      await new Promise((r) => setTimeout(r, 50));
      assert.ok(processAlive(pid), 'the process group was not signalled');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
