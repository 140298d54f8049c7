// The command list (src/cli/commands.ts) and dispatch in main(): every entry's name and summary equal the
// module's own Command, --help lists every command without loading any, and a command loads only itself.
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { commands } from '../../src/cli/commands.js';
import { main } from '../../src/cli/main.js';

async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => void out.push(a.map(String).join(' '));
  console.error = (...a: unknown[]) => void err.push(a.map(String).join(' '));
  try {
    return { code: await fn(), out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

void test('every listed command loads a Command with the same name and summary', async () => {
  const names = commands.map((c) => c.name);
  assert.deepEqual(names, ['lab', 'cert', 'agent', 'tenant', 'network', 'endpoint', 'status', 'alarm', 'flows', 'trace', 'demo']);
  assert.equal(new Set(names).size, names.length, 'names are unique');
  for (const entry of commands) {
    const c = await entry.load();
    assert.equal(c.name, entry.name);
    assert.equal(c.summary, entry.summary, `${entry.name}: the summary in commands.ts is the module's`);
    assert.equal(typeof c.run, 'function');
  }
});

void test('--help lists every command with its summary; unknown commands exit 2 with the list', async () => {
  const help = await capture(() => main(['--help']));
  assert.equal(help.code, 0);
  for (const c of commands) assert.match(help.out, new RegExp(`^  ${c.name} +${c.summary.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`, 'm'));
  const none = await capture(() => main([]));
  assert.equal(none.code, 2);
  const unknown = await capture(() => main(['frobnicate']));
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /^bumless: unknown command "frobnicate"/);
  assert.match(unknown.err, /^ {2}lab /m);
});

void test('the command list and main() import no command module statically (start-up cost of every call)', () => {
  // Every `bumless` call loads main.ts and commands.ts; a static import there would load that command's
  // whole dependency tree (the agent pulls in the API server, the switch session and the codec) for every
  // other command too. Type-only imports are erased by the compiler.
  const dir = new URL('../../src/cli/', import.meta.url);
  const staticImports = (file: string) =>
    [...readFileSync(new URL(file, dir), 'utf8').matchAll(/^import\s+(?!type\s)[^;]*?from\s+'([^']+)'/gm)].map((m) => m[1]);
  assert.deepEqual(staticImports('commands.ts'), []);
  assert.deepEqual(staticImports('main.ts'), ['./command.js', './commands.js']);
  const command = readFileSync(new URL('command.ts', dir), 'utf8');
  assert.doesNotMatch(command, /^import\s+(?!type\s)/m, 'command.ts stays dependency-free');
});
