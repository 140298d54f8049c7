// actionCommand (src/cli/actions.ts): the dispatch every resource command shares.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { actionCommand } from '../../src/cli/actions.js';
import type { ActionContext } from '../../src/cli/actions.js';
import { UsageError } from '../../src/cli/command.js';

function command(seen: ActionContext[]) {
  return actionCommand({
    name: 'thing',
    summary: 'things',
    help: 'usage: bumless thing <action>',
    options: { size: { type: 'string' } },
    actions: {
      make: (ctx) => {
        seen.push(ctx);
        return Promise.resolve(7);
      },
      list: () => Promise.resolve(0),
      drop: () => Promise.resolve(0),
    },
  });
}

void describe('actionCommand', () => {
  void it('runs the named action with its options, positionals and --json, and returns its exit code', async () => {
    const seen: ActionContext[] = [];
    const code = await command(seen).run(['make', 'a/b', '--size', '3', '--json', '--api', 'http://127.0.0.1:1', '--token', 't']);
    assert.equal(code, 7);
    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0]!.positionals, ['make', 'a/b']);
    assert.equal(seen[0]!.values.size, '3');
    assert.equal(seen[0]!.json, true);
    assert.equal(seen[0]!.client.constructor.name, 'ApiClient');
  });

  void it('refuses a missing or unknown action, listing the valid ones; inherited names are not actions', async () => {
    const cmd = command([]);
    await assert.rejects(cmd.run([]), (e: Error) => e instanceof UsageError && /^missing action\n\nusage: bumless thing/.test(e.message));
    await assert.rejects(cmd.run(['frob']), (e: Error) => e instanceof UsageError && e.message === 'unknown action "frob"; use make, list or drop');
    await assert.rejects(cmd.run(['toString']), /unknown action "toString"/);
  });

  void it('reads the connection settings only when an action uses the client', async () => {
    const seen: ActionContext[] = [];
    const cmd = command(seen);
    assert.equal(await cmd.run(['make', '--api', 'not a url']), 7);
    assert.throws(() => seen[0]!.client, /"not a url" is not a URL/);
    await assert.rejects(cmd.run(['frob', '--api', 'not a url']), /unknown action "frob"/);
  });

  void it('--help prints the help and runs nothing', async () => {
    const seen: ActionContext[] = [];
    const log = console.log;
    const out: string[] = [];
    console.log = (...a: unknown[]) => void out.push(a.map(String).join(' '));
    try {
      assert.equal(await command(seen).run(['make', '--help']), 0);
    } finally {
      console.log = log;
    }
    assert.equal(seen.length, 0);
    assert.match(out.join('\n'), /^usage: bumless thing <action>/);
  });
});
